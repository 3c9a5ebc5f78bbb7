from __future__ import annotations

import asyncio
import hashlib
import os
import re
from typing import Any

from aiohttp.test_utils import TestClient
from gateway.routes import Service
from gateway_testlib import GatewayFactory, free_port

Client = TestClient[Any, Any]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_routes_to_the_most_specific_service(gw: Client, token: str) -> None:
    for path, service in [
        ("/api/v1/teams/t1/members", "teams"),
        ("/api/v1/teams/t1/boards/b1", "tasks"),
        ("/api/v1/users/not-mine", "teams"),
        ("/api/v1/users/someone", "identity"),
    ]:
        resp = await gw.get(path, headers=bearer(token))
        assert resp.status == 200, path
        body = await resp.json()
        assert body["service"] == service, path
        assert body.get("path", path) == path


async def test_unknown_path_is_a_problem_404(gw: Client) -> None:
    resp = await gw.get("/api/v1/nowhere")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = await resp.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert resp.headers["X-Request-ID"]


async def raw_status(client: Client, target: str, token: str) -> int:
    """Send a request line as is (HTTP clients normalise dot segments away)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_dot_segments_are_refused(gw: Client, token: str) -> None:
    assert await raw_status(gw, "/api/v1/users/../teams/x", token) == 400
    assert await raw_status(gw, "/api/v1/users/%2e%2E/teams/x", token) == 400
    assert await raw_status(gw, "/api/v1/users/./me", token) == 400
    assert await raw_status(gw, "/api/v1/users/me", token) == 200


async def test_query_string_and_raw_path_are_forwarded(gw: Client, token: str) -> None:
    resp = await gw.get("/api/v1/echo/a%20b?x=1&y=%C3%A9&y=2", headers=bearer(token))
    body = await resp.json()
    assert body["raw_path"] == "/api/v1/echo/a%20b"
    assert body["query"] == "x=1&y=%C3%A9&y=2"


async def test_forwarded_headers(gw: Client, token: str) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = await gw.get(
        "/api/v1/echo/h",
        headers={
            **bearer(token),
            "X-Request-ID": "client-req-1",
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Drop-Me",
            "X-Drop-Me": "hop-by-hop",
        },
    )
    assert resp.status == 200
    assert resp.headers["X-Request-ID"] == "client-req-1"
    assert resp.headers["ETag"] == '"echo"'
    seen = (await resp.json())["headers"]
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-request-id"] == "client-req-1"
    version, tid, parent, flags = seen["traceparent"].split("-")
    assert (version, tid, flags) == ("00", trace_id, "01")
    assert parent != "00f067aa0ba902b7"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-custom"] == "kept"
    assert "x-drop-me" not in seen


async def test_request_id_and_trace_are_made_when_missing_or_insane(gw: Client, token: str) -> None:
    resp = await gw.get(
        "/api/v1/echo/h",
        headers={**bearer(token), "X-Request-ID": "bad id\twith spaces", "traceparent": "junk"},
    )
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    seen = (await resp.json())["headers"]
    assert seen["x-request-id"] == rid
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", seen["traceparent"])


async def test_status_location_etag_and_body_preserved(gw: Client, token: str) -> None:
    resp = await gw.post("/api/v1/created", json={"a": 1}, headers=bearer(token))
    assert resp.status == 201
    assert resp.headers["Location"] == "/api/v1/created/1"
    assert resp.headers["ETag"] == '"v1"'
    assert await resp.json() == {"id": "1"}


async def test_large_bodies_stream_both_ways(gw: Client, token: str) -> None:
    size = 8 * 1024 * 1024 + 123
    payload = os.urandom(size)

    async def chunks() -> Any:
        for i in range(0, size, 100_000):
            yield payload[i : i + 100_000]

    resp = await gw.put("/api/v1/echo/upload", data=chunks(), headers=bearer(token))
    assert resp.status == 200
    body = await resp.json()
    assert body["size"] == size
    assert body["sha256"] == hashlib.sha256(payload).hexdigest()

    resp = await gw.get(f"/api/v1/big/{size}", headers=bearer(token))
    assert resp.status == 200
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    got = hashlib.sha256()
    n = 0
    async for chunk in resp.content.iter_chunked(65536):
        got.update(chunk)
        n += len(chunk)
    assert n == size


async def test_upstream_down_is_503_with_retry_after(
    make_gateway: GatewayFactory, token: str
) -> None:
    down = Service("down", f"http://127.0.0.1:{free_port()}", ("/api/v1/down/**",))
    client: Client = await make_gateway([down])
    resp = await client.get("/api/v1/down/x", headers=bearer(token))
    assert resp.status == 503
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["status"] == 503


async def test_upstream_too_slow_is_504(make_gateway: GatewayFactory, token: str) -> None:
    client: Client = await make_gateway(gateway_upstream_timeout=0.3)
    resp = await client.get("/api/v1/slow/2", headers=bearer(token))
    assert resp.status == 504
    assert resp.headers["Content-Type"] == "application/problem+json"
    resp = await client.get("/api/v1/slow/0", headers=bearer(token))
    assert resp.status == 200


async def test_head_keeps_headers_without_a_body(gw: Client, token: str) -> None:
    resp = await gw.head("/api/v1/echo/h", headers=bearer(token))
    assert resp.status == 200
    assert resp.headers["ETag"] == '"echo"'
    assert int(resp.headers["Content-Length"]) > 0
    assert await resp.read() == b""


async def test_cookies_are_not_shared_between_clients(gw: Client, token: str) -> None:
    # The upstream session keeps no cookie jar: a client's cookie never reaches another request.
    first = await gw.get("/api/v1/echo/c", headers={**bearer(token), "Cookie": "sid=alice"})
    assert (await first.json())["headers"]["cookie"] == "sid=alice"
    gw.session.cookie_jar.clear()
    second = await gw.get("/api/v1/echo/c", headers=bearer(token))
    assert "cookie" not in (await second.json())["headers"]


async def test_public_routes_of_a_service_need_no_token(
    make_gateway: GatewayFactory, upstreams: dict[str, Any], token: str
) -> None:
    """``public`` routes (a signed download link): routed without the token check, and only
    those; everything else of the service still needs one."""
    open_service = Service(
        "files",
        upstreams["identity"].url,
        routes=("/api/v1/echo/files/**",),
        public=("GET /api/v1/echo/files/*/download",),
    )
    gw = await make_gateway([open_service])
    resp = await gw.get("/api/v1/echo/files/f1/download?signature=abc")
    assert resp.status == 200
    body = await resp.json()
    assert body["path"] == "/api/v1/echo/files/f1/download"
    assert body["query"] == "signature=abc"
    for path in ("/api/v1/echo/files/f1", "/api/v1/echo/files/f1/content"):
        assert (await gw.get(path)).status == 401, path
        assert (await gw.get(path, headers=bearer(token))).status == 200, path


async def test_an_upload_refused_early_comes_back_as_the_service_sent_it(
    gw: Client, token: str
) -> None:
    """A service may answer a large upload before reading it (413, ``Connection: close``): the
    client gets that answer, not a 502 for the body the service never took."""
    body = os.urandom(32 * 1024 * 1024)
    resp = await gw.post("/api/v1/refuse", data=body, headers=bearer(token))
    assert resp.status == 413
    assert (await resp.json())["detail"] == "too large"

    async def chunks() -> Any:
        for i in range(0, len(body), 1 << 20):
            yield body[i : i + (1 << 20)]

    resp = await gw.post("/api/v1/refuse", data=chunks(), headers=bearer(token))
    assert resp.status == 413
