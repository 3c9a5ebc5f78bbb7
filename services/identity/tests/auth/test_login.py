from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
import pytest
from identity.auth.passwords import Passwords
from identity.auth.throttle import Backoff, MemoryFailureCounter, RedisFailureCounter
from identity.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.auth import StaticKeySource, TokenVerifier


async def test_login_by_username_or_email_returns_a_token_pair(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.register(client)
    for login in (acct.username, acct.email.upper()):
        resp = await client.post(
            "/api/v1/auth/login", json={"username": login, "password": acct.password}
        )
        assert resp.status_code == 200, resp.text
        data = resp.json()
        assert data["token_type"] == "bearer"
        assert data["expires_in"] == 900
        assert data["refresh_token"]
        assert data["access_token"]
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["last_login"] is not None


async def test_access_token_claims_verify_against_the_published_jwks(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(acct.access_token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = jwt.decode(
        acct.access_token,
        jwt.PyJWK(jwks["keys"][0]),
        algorithms=["EdDSA"],
        audience="virtualcoworking",
        issuer="virtualcoworking-identity",
    )
    assert claims["sub"] == str(acct.id)
    assert claims["username"] == acct.username
    assert claims["is_staff"] is False
    assert claims["typ"] == "access"
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 900
    # what every other service does: verify against the JWKS with vc_common
    other = TokenVerifier(
        StaticKeySource(jwks), issuer="virtualcoworking-identity", audience="virtualcoworking"
    )
    assert (await other.verify(acct.access_token)).id == acct.id


async def test_unknown_user_and_wrong_password_get_the_same_401(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"username": acct.username, "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"username": "nobody-here", "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_inactive_user_cannot_log_in(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.register(client)
    await db_connection.execute(
        text("UPDATE users SET is_active = false WHERE id = :id"), {"id": acct.id}
    )
    resp = await client.post(
        "/api/v1/auth/login", json={"username": acct.username, "password": acct.password}
    )
    assert resp.status_code == 401


async def test_tampered_expired_or_missing_tokens_are_401(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    head, payload, sig = acct.access_token.split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}AAAA"
    for headers in (
        {},
        {"Authorization": f"Bearer {tampered}"},
        {"Authorization": "Bearer not-a-jwt"},
    ):
        resp = await client.get("/api/v1/users/me", headers=headers)
        assert resp.status_code == 401, headers
    # a token from a key identity does not know
    from vc_common.testing.keys import TestSigner

    foreign = TestSigner().token(acct.id, username=acct.username)
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {foreign}"})
    assert resp.status_code == 401


async def test_password_is_rehashed_when_parameters_change(
    app: Any, client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.register(client)
    query = text("SELECT password FROM users WHERE id = :id")
    before = (await db_connection.execute(query, {"id": acct.id})).scalar_one()
    assert "t=1" in before
    app.state.passwords = Passwords(Settings(argon2_time_cost=2))
    await api.login(client, acct)
    after = (await db_connection.execute(query, {"id": acct.id})).scalar_one()
    assert "t=2" in after
    await api.login(client, acct)  # the new hash verifies


def random_ip() -> str:
    # unique per run: with REDIS_URL the counters outlive the test
    return "10." + ".".join(str(b) for b in secrets.token_bytes(3))


@pytest.fixture
def strict_limits(app: Any) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={
            "login_rate_per_ip": "30/minute",
            "login_free_failures_per_pair": 5,
            "login_free_failures_per_address": 20,
        }
    )


async def attempt(
    client: httpx.AsyncClient, ip: str, username: str, password: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        headers={"X-Forwarded-For": ip},
        json={"username": username, "password": password},
    )


@pytest.mark.usefixtures("strict_limits")
async def test_failed_logins_slow_the_attackers_address_not_the_owner(
    client: httpx.AsyncClient, api: Any
) -> None:
    victim = await api.register(client)
    attacker = random_ip()
    codes = [(await attempt(client, attacker, victim.username, "wrong pass")).status_code]
    codes += [(await attempt(client, attacker, victim.email, "wrong pass")).status_code]
    codes += [
        (await attempt(client, attacker, victim.username, "guess")).status_code for _ in "123"
    ]
    assert codes == [401] * 5  # the free failures of one (account, address)
    blocked = await attempt(client, attacker, victim.username, victim.password)
    assert blocked.status_code == 429  # even the right password waits, from that address
    assert int(blocked.headers["retry-after"]) >= 1
    assert blocked.headers["content-type"] == "application/problem+json"
    # the owner, elsewhere, is not locked out; the attacker may still try other accounts
    assert (await attempt(client, random_ip(), victim.username, victim.password)).status_code == 200
    other = await api.register(client)
    assert (await attempt(client, attacker, other.username, other.password)).status_code == 200


@pytest.mark.usefixtures("strict_limits")
async def test_a_successful_login_clears_its_addresses_failures(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.register(client)
    ip = random_ip()
    for _ in range(2):  # the owner mistypes four times, twice over, signing in between
        for _ in range(4):
            assert (await attempt(client, ip, acct.username, "typo")).status_code == 401
        assert (await attempt(client, ip, acct.username, acct.password)).status_code == 200


@pytest.mark.usefixtures("strict_limits")
async def test_one_address_failing_across_many_accounts_is_slowed(
    app: Any, client: httpx.AsyncClient, unique: Any
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"login_free_failures_per_address": 3}
    )
    sprayer = random_ip()
    codes = [
        (await attempt(client, sprayer, unique(f"s{i}"), "Winter2026!")).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    assert (await attempt(client, random_ip(), unique("s"), "Winter2026!")).status_code == 401


def test_backoff_doubles_after_the_free_failures_up_to_the_cap() -> None:
    b = Backoff(free=5, base=1.0, cap=900.0)
    assert [b.wait_after(n) for n in range(1, 10)] == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert b.wait_after(40) == 900


@pytest.mark.parametrize("where", ["memory", "redis"])
async def test_failure_counters_block_after_the_free_failures(where: str) -> None:
    import os

    if where == "redis":
        url = os.environ.get("REDIS_URL")
        if not url:
            pytest.skip("REDIS_URL is not set")
        import redis.asyncio as aioredis

        redis = aioredis.from_url(url)
        counter: Any = RedisFailureCounter(redis)
    else:
        counter = MemoryFailureCounter()
    key = f"pair:test:{secrets.token_hex(4)}"
    backoff = Backoff(free=2, base=100.0)
    try:
        await counter.failed(key, backoff)
        assert await counter.blocked_for(key) == 0
        await counter.failed(key, backoff)
        assert 90 < await counter.blocked_for(key) <= 100
        await counter.failed(key, backoff)
        assert 190 < await counter.blocked_for(key) <= 200
        await counter.clear(key)
        assert await counter.blocked_for(key) == 0
    finally:
        if where == "redis":
            await redis.aclose()


@pytest.mark.usefixtures("strict_limits")
async def test_login_is_rate_limited_per_ip_behind_a_trusted_proxy(
    app: Any, client: httpx.AsyncClient, unique: Any
) -> None:
    # attempts, failed or not, are limited per address too (the failures' backoff aside)
    app.state.settings = app.state.settings.model_copy(
        update={"login_free_failures_per_address": 1000}
    )
    attacker = {"X-Forwarded-For": f"{random_ip()}, 127.0.0.1"}
    for i in range(30):
        resp = await client.post(
            "/api/v1/auth/login",
            headers=attacker,
            json={"username": unique(f"n{i}"), "password": "whatever1"},
        )
        assert resp.status_code == 401
    resp = await client.post(
        "/api/v1/auth/login",
        headers=attacker,
        json={"username": unique("n"), "password": "whatever1"},
    )
    assert resp.status_code == 429
    other = {"X-Forwarded-For": random_ip()}
    resp = await client.post(
        "/api/v1/auth/login", headers=other, json={"username": unique("n"), "password": "whatever1"}
    )
    assert resp.status_code == 401


async def test_register_is_rate_limited_per_ip(
    app: Any, client: httpx.AsyncClient, unique: Any
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"register_rate_per_ip": "3/hour"})
    ip = {"X-Forwarded-For": random_ip()}
    codes = []
    for i in range(4):
        name = unique(f"r{i}")
        resp = await client.post(
            "/api/v1/auth/register",
            headers=ip,
            json={"username": name, "email": f"{name}@example.com", "password": "0123456789"},
        )
        codes.append(resp.status_code)
    assert codes == [201, 201, 201, 429]
