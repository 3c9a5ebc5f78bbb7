from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from vc_common.context import context_for
from vc_common.telemetry import memory_exporter


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404
    assert body["title"]
    assert body["type"]
    assert body["detail"]


async def test_validation_error_lists_locations(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/widgets", json={"name": ""})
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert r.headers["content-type"] == "application/problem+json"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/widgets", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["title"] == "Malformed JSON"


async def test_unhandled_error_hides_internals(client: httpx.AsyncClient) -> None:
    transport = httpx.ASGITransport(app=client._transport.app, raise_app_exceptions=False)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/api/v1/boom")
    assert r.status_code == 500
    assert "secret" not in r.text
    assert r.json()["status"] == 500


async def test_request_id_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/livez", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    assert len(r.headers["x-request-id"]) == 32
    r = await client.get("/livez")
    assert len(r.headers["x-request-id"]) == 32


async def test_traceparent_continues_the_callers_trace(client: httpx.AsyncClient) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await client.get("/livez", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    exporter = memory_exporter()
    assert exporter is not None
    spans = [s for s in exporter.get_finished_spans() if s.name == "GET /livez"]
    assert any(format(s.context.trace_id, "032x") == trace_id for s in spans)
    parent = next(s for s in spans if format(s.context.trace_id, "032x") == trace_id).parent
    assert parent is not None
    assert format(parent.span_id, "016x") == "00f067aa0ba902b7"


async def test_readyz_checks_database(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"]["status"] == "ok"


def test_a_rule_reaches_what_its_app_built_through_the_context() -> None:
    hub = object()
    app = SimpleNamespace(state=SimpleNamespace(hub=hub, clock=None))
    ctx = context_for(app, session=None)  # type: ignore[arg-type]
    assert ctx.resource("hub") is hub  # the same object a request's dependency reads
    assert ctx.resource("runtime", required=False) is None
    with pytest.raises(RuntimeError, match="'runtime' is not started"):
        ctx.resource("runtime")
