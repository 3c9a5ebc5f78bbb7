from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from gateway.routes import Service
from gateway_testlib import GatewayFactory, Upstream, free_port

Client = TestClient[Any, Any]


async def test_health_ok_when_every_service_is_ready(gw: Client) -> None:
    resp = await gw.get("/health")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ok",
        "services": {"identity": "ok", "teams": "ok", "tasks": "ok"},
    }
    assert resp.headers["X-Request-ID"]


async def test_health_503_when_one_is_not_ready(gw: Client, upstreams: dict[str, Upstream]) -> None:
    upstreams["teams"].app.state.ready = False
    try:
        resp = await gw.get("/health")
    finally:
        upstreams["teams"].app.state.ready = True
    assert resp.status == 503
    body = await resp.json()
    assert body["services"] == {"identity": "ok", "teams": "unavailable", "tasks": "ok"}
    assert body["status"] == "unavailable"


async def test_health_503_when_one_is_down(make_gateway: GatewayFactory) -> None:
    down = Service("down", f"http://127.0.0.1:{free_port()}", ("/api/v1/down/**",))
    client: Client = await make_gateway([down])
    resp = await client.get("/health")
    assert resp.status == 503
    assert (await resp.json())["services"]["down"] == "unavailable"


async def test_merged_openapi(gw: Client) -> None:
    resp = await gw.get("/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    paths = doc["paths"]
    # Routed paths of each service are there...
    assert "/api/v1/users/me" in paths
    assert "/api/v1/auth/login" in paths
    assert "/api/v1/teams/{team_id}" in paths
    assert "/api/v1/teams/{team_id}/boards" in paths
    assert "/api/v1/things/{thing_id}" in paths
    assert "/api/v1/users/not-mine" in paths
    # ...health checks, catch-alls and paths another service is routed are not.
    for hidden in ("/livez", "/readyz", "/slow/{seconds}"):
        assert hidden not in paths
    # Schemas: same name, different content -> one renamed, refs follow.
    schemas = doc["components"]["schemas"]
    assert "Widget" in schemas
    assert "Thing" in schemas
    assert "TasksThing" in schemas
    assert schemas["Thing"]["required"] == ["value"]
    assert schemas["TasksThing"]["required"] == ["label"]
    thing_ref = paths["/api/v1/things/{thing_id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert thing_ref == "#/components/schemas/TasksThing"
    team_ref = paths["/api/v1/teams/{team_id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert team_ref == "#/components/schemas/Thing"
    # Bearer auth everywhere but the public routes.
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    # Cached: a second call answers the same document.
    again = await (await gw.get("/openapi.json")).json()
    assert again == doc


async def test_docs_page(gw: Client) -> None:
    resp = await gw.get("/docs")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    html = await resp.text()
    assert "/openapi.json" in html
    # every asset the page loads is the gateway's own (works without internet access)
    assert "https://" not in html
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in html
        got = await gw.get(asset)
        assert got.status == 200
        assert len(await got.read()) > 10_000
    assert (await gw.get("/docs/assets/index.html")).status == 404  # only the listed files


async def test_cors_preflight_and_headers(make_gateway: GatewayFactory, token: str) -> None:
    client: Client = await make_gateway(cors_origins="https://app.example")
    resp = await client.options(
        "/api/v1/users/me",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PATCH" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    resp = await client.options(
        "/api/v1/users/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    # Simple requests, errors included, carry the CORS headers for an allowed origin only.
    resp = await client.get("/api/v1/users/me", headers={"Origin": "https://app.example"})
    assert resp.status == 401
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in resp.headers["Access-Control-Expose-Headers"]
    resp = await client.get(
        "/api/v1/users/me",
        headers={"Origin": "https://evil.example", "Authorization": f"Bearer {token}"},
    )
    assert resp.status == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_no_cors_by_default(gw: Client) -> None:
    resp = await gw.get("/health", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_rate_limit_per_user(make_gateway: GatewayFactory, token: str) -> None:
    client: Client = await make_gateway(gateway_rate_per_user="3/minute")
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        assert (await client.get("/api/v1/users/me", headers=headers)).status == 200
    resp = await client.get("/api/v1/users/me", headers=headers)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["Content-Type"] == "application/problem+json"


async def test_rate_limit_per_ip(make_gateway: GatewayFactory) -> None:
    client: Client = await make_gateway(gateway_rate_per_ip="2/minute")
    for _ in range(2):
        assert (await client.post("/api/v1/auth/login", json={})).status == 200
    resp = await client.post("/api/v1/auth/login", json={})
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
