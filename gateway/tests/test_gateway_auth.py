from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway_testlib import Keys, repository_public

Client = TestClient[Any, Any]


async def assert_401(resp: Any) -> None:
    assert resp.status == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.headers["X-Request-ID"]
    body = await resp.json()
    assert body["status"] == 401
    assert body["title"] == "Unauthorized"


async def test_missing_token_is_401(gw: Client) -> None:
    await assert_401(await gw.get("/api/v1/users/me"))
    await assert_401(await gw.get("/api/v1/users/me", headers={"Authorization": "Basic x"}))


async def test_expired_token_is_401(gw: Client, keys: Keys) -> None:
    token = keys.token(ttl=-120)
    await assert_401(await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}))


async def test_tampered_token_is_401(gw: Client, keys: Keys) -> None:
    head, _payload, sig = keys.token().split(".")
    forged = keys.token(is_staff=True).split(".")[1]
    tampered = f"{head}.{forged}.{sig}"
    await assert_401(
        await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tampered}"})
    )
    other = Keys(Ed25519PrivateKey.generate(), kid=keys.kid).token()
    await assert_401(await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {other}"}))


async def test_wrong_audience_is_401(gw: Client, keys: Keys) -> None:
    token = keys.token(aud="someone-else")
    await assert_401(await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}))


async def test_valid_token_reaches_the_service(gw: Client, token: str) -> None:
    resp = await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert await resp.json() == {"id": "me", "name": "identity"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/verify"),
        ("GET", "/.well-known/jwks.json"),
    ],
)
async def test_public_routes_need_no_token(gw: Client, method: str, path: str) -> None:
    resp = await gw.request(method, path, json={} if method == "POST" else None)
    assert resp.status == 200


async def test_other_auth_routes_need_a_token(gw: Client) -> None:
    await assert_401(await gw.post("/api/v1/auth/logout", json={}))
    await assert_401(await gw.get("/api/v1/auth/login"))


def _needs_token(method: str, path: str) -> bool:
    from gateway.app import needs_token
    from gateway.routes import RouteTable, Service

    table = RouteTable(
        [Service(n, "http://x", (), public=p) for n, p in repository_public().items()]
    )
    return needs_token(table, method, path.strip("/").split("/"))


def test_only_the_routes_platform_toml_declares_public_need_no_token() -> None:
    """Each service authenticates its public routes itself (login; single-use OAuth state;
    signed webhooks; the feed's secret token); nothing else under /api/v1 becomes public."""
    for method, path in [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/register"),
        ("GET", "/api/v1/integrations/github/callback"),
        ("GET", "/api/v1/integrations/microsoft_teams/callback"),
        ("POST", "/api/v1/integrations/webhooks/github"),
        ("POST", "/api/v1/meetings/webhooks/livekit"),
        ("POST", "/api/v1/meetings/webhooks/zoom"),  # the service 404s a provider it lacks
        ("GET", "/api/v1/calendar/feed.ics"),
        ("HEAD", "/api/v1/calendar/feed.ics"),
    ]:
        assert not _needs_token(method, path), (method, path)
    for method, path in [
        ("GET", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/integrations/github/callback"),
        ("GET", "/api/v1/integrations/webhooks/github"),
        ("GET", "/api/v1/integrations"),
        ("POST", "/api/v1/integrations/github/connect"),
        ("GET", "/api/v1/integrations/github/callback/extra"),
        ("GET", "/api/v1/meetings/webhooks/livekit"),
        ("POST", "/api/v1/meetings/some-id/join"),
        ("POST", "/api/v1/calendar/feed.ics"),
        ("GET", "/api/v1/calendar/feed.ics/more"),
        ("GET", "/api/v1/calendar/events"),
        ("POST", "/api/v1/calendar/feed-token"),
    ]:
        assert _needs_token(method, path), (method, path)


async def test_the_calendar_feed_needs_no_bearer_token_only_its_own_secret(
    make_gateway: Any, upstreams: Any
) -> None:
    from gateway.routes import Service

    calendar = Service(
        "calendar",
        upstreams["teams"].url,
        ("/api/v1/calendar/**",),
        public=repository_public()["calendar"],
    )
    gw = await make_gateway([calendar])
    resp = await gw.get("/api/v1/calendar/feed.ics?token=s3cret")
    assert resp.status == 200
    body = await resp.json()
    assert (body["path"], body["query"]) == ("/api/v1/calendar/feed.ics", "token=s3cret")
    assert "authorization" not in body["headers"]
    # only that path, only to read: everything else of the calendar needs a token
    await assert_401(await gw.post("/api/v1/calendar/feed.ics?token=s3cret", json={}))
    await assert_401(await gw.get("/api/v1/calendar/events?from=2026-12-01&to=2026-12-31"))
    await assert_401(await gw.get("/api/v1/calendar/feed.ics/more?token=s3cret"))
    await assert_401(await gw.post("/api/v1/calendar/feed-token", json={}))


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_a_burst_past_the_redis_pool_waits_instead_of_failing(
    make_gateway: Any, keys: Keys
) -> None:
    """Each request's revocation look-up takes a Redis connection; 200 at once on a pool of 4
    wait their turn (they were 500s once past the pool: MaxConnectionsError)."""
    gw = await make_gateway(redis_url=REDIS_URL, redis_pool_size=4, redis_pool_timeout=10.0)

    async def one() -> int:
        auth = {"Authorization": f"Bearer {keys.token()}"}
        async with gw.get("/api/v1/users/me", headers=auth) as resp:
            await resp.read()
            return int(resp.status)

    statuses = await asyncio.gather(*(one() for _ in range(200)))
    assert statuses == [200] * 200


async def test_revocations_that_cannot_be_checked_are_503_not_a_way_in(
    make_gateway: Any, token: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    gw = await make_gateway(redis_url=f"redis://127.0.0.1:{dead}/0", redis_pool_timeout=0.5)
    resp = await gw.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 503
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.headers["Retry-After"] == "1"
    assert (await resp.json())["title"] == "Service unavailable"
