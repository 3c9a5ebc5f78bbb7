"""``python -m gateway`` serves the same handler with aiohttp's low-level server, and the fast
upstream client: what the Application-based tests do not reach."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from gateway.app import GATEWAY_KEY, create_app
from gateway.server import serve
from gateway.upstream import UpstreamError, UpstreamPool
from gateway_testlib import Upstream, free_port, settings_for


@contextlib.asynccontextmanager
async def served(upstreams: dict[str, Upstream], services: Any) -> AsyncIterator[str]:
    port = free_port()
    settings = settings_for(upstreams, gateway_port=port, gateway_host="127.0.0.1")
    stop, started = asyncio.Event(), asyncio.Event()
    app = create_app(settings, services)
    task = asyncio.create_task(serve(settings, app=app, stop=stop, started=started))
    try:
        await asyncio.wait_for(started.wait(), 10)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_low_level_server_forwards(
    upstreams: dict[str, Upstream], services: Any, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with served(upstreams, services) as base, aiohttp.ClientSession() as http:
        async with http.get(base + "/api/v1/users/me", headers=auth) as resp:
            assert resp.status == 200
            assert await resp.json() == {"id": "me", "name": "identity"}
            assert resp.headers["X-Request-ID"]
        async with http.get(base + "/api/v1/users/me") as resp:
            assert resp.status == 401
        async with http.get(base + "/livez") as resp:
            assert resp.status == 200
        # Expect: 100-continue is answered before the body is sent.
        async with http.post(
            base + "/api/v1/echo/x", data=b"x" * 5000, headers=auth, expect100=True
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["size"] == 5000
        async with http.ws_connect(f"{base}/api/v1/rooms/r9/ws?token={token}") as ws:
            assert (await ws.receive_json(timeout=5))["hello"] == "r9"
            await ws.send_str("hi")
            assert await ws.receive_str(timeout=5) == "echo:hi"


async def test_low_level_server_tunnels_websockets_and_stops_with_one_open(
    upstreams: dict[str, Upstream], services: Any, token: str
) -> None:
    port = free_port()
    settings = settings_for(upstreams, gateway_port=port, gateway_host="127.0.0.1")
    stop, started = asyncio.Event(), asyncio.Event()
    app = create_app(settings, services)
    proxy = app[GATEWAY_KEY].proxy
    task = asyncio.create_task(serve(settings, app=app, stop=stop, started=started))
    await asyncio.wait_for(started.wait(), 10)
    base = f"ws://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        # one that ends normally: the tunnel goes away with it
        async with http.ws_connect(f"{base}/api/v1/rooms/s1/ws?token={token}") as ws:
            assert (await ws.receive_json(timeout=5))["hello"] == "s1"
            assert len(proxy.tunnels) == 1
            await ws.close(code=4005)
        for _ in range(100):
            if not proxy.tunnels:
                break
            await asyncio.sleep(0.02)
        assert not proxy.tunnels
        # one left open while the gateway stops: closed, and the stop does not hang on it
        ws = await http.ws_connect(f"{base}/api/v1/rooms/s2/ws?token={token}")
        assert (await ws.receive_json(timeout=5))["hello"] == "s2"
        stop.set()
        await asyncio.wait_for(task, 5)
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()


# --- the fast client against a raw HTTP/1.1 server ------------------------------------------------


@contextlib.asynccontextmanager
async def raw_server(answers: list[bytes], close_after: bool = False) -> AsyncIterator[int]:
    """Answers each request (head only, no body expected) with the next of ``answers``."""
    queue = list(answers)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    return
                writer.write(queue.pop(0))
                await writer.drain()
                if close_after:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()


GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_pool_reads_length_and_chunked_answers_and_reuses_connections() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]
    async with raw_server(answers) as port:
        pool = UpstreamPool("127.0.0.1", port, limit=1, buffer_limit=1024)
        try:
            conn = await pool.send("GET", GET)
            assert (conn.status, conn.reason, conn.complete) == (200, b"OK", True)
            assert conn.buffered_body() == b"hello"
            assert (b"X-A", b"1") in conn.headers
            conn.release()
            conn2 = await pool.send("GET", GET)
            assert conn2 is conn  # the same keep-alive connection
            assert conn2.status == 201
            assert await conn2.body() == b"abcde"
            conn2.release()
            conn3 = await pool.send("GET", GET)
            assert (conn3.status, conn3.complete, conn3.buffered_body()) == (204, True, b"")
            conn3.release()
            conn4 = await pool.send("GET", GET)
            assert (conn4.status, conn4.buffered_body()) == (200, b"ok")
            conn4.release()
        finally:
            await pool.close()


async def test_pool_survives_a_service_closing_idle_connections() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with raw_server([ok, ok, ok], close_after=True) as port:
        pool = UpstreamPool("127.0.0.1", port, limit=2)
        try:
            for _ in range(3):
                conn = await pool.send("GET", GET)
                assert conn.buffered_body() == b"ok"
                conn.release()
                await asyncio.sleep(0.01)
        finally:
            await pool.close()


async def test_pool_read_timeout_and_refused_connection() -> None:
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = UpstreamPool("127.0.0.1", port, read_timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await pool.send("GET", GET)
    finally:
        await pool.close()
        server.close()
    pool = UpstreamPool("127.0.0.1", free_port())
    try:
        with pytest.raises(UpstreamError):
            await pool.send("GET", GET)
    finally:
        await pool.close()


async def test_pool_reads_a_body_delimited_by_the_end_of_the_connection() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    async with raw_server([answer], close_after=True) as port:
        pool = UpstreamPool("127.0.0.1", port)
        try:
            conn = await pool.send("GET", GET)
            assert conn.status == 200
            assert await conn.body() == b"until the end"
            conn.release()
        finally:
            await pool.close()


async def test_a_request_the_parser_refuses_is_problem_json(
    upstreams: dict[str, Upstream], services: Any
) -> None:
    """A URL or a header over the parser's limits: 414 / 431 problem+json, not text/plain."""
    async with served(upstreams, services) as base:
        host, port = base.removeprefix("http://").split(":")
        for request, status in (
            (f"GET /api/v1/users/me?cursor={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (f"GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 20000}\r\n\r\n", 431),
        ):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(request.encode())
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            head, _, body = raw.partition(b"\r\n\r\n")
            assert head.split(b" ")[1] == str(status).encode(), head
            assert b"content-type: application/problem+json" in head.lower()
            assert orjson.loads(body)["status"] == status
