from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway_testlib import Keys

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
