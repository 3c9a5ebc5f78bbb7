from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
import pytest
from vc_common.auth import AuthUser, Revocation, RevocationFeed
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import TestUser


async def test_valid_token(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.get("/api/v1/me", headers=user.headers)
    assert r.status_code == 200
    assert r.json() == {"id": str(user.id), "username": user.username}


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "bearer" in r.headers["www-authenticate"].lower()


async def test_expired_token_is_401(client: httpx.AsyncClient, signer: TestSigner) -> None:
    token = signer.token(ttl=-120)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_tampered_token_is_401(client: httpx.AsyncClient, signer: TestSigner) -> None:
    token = signer.token(uuid.uuid4())
    head, payload, sig = token.split(".")
    claims: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["is_staff"] = True
    forged = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"})
    assert r.status_code == 401


async def test_token_from_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    other = TestSigner()
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other.token()}"})
    assert r.status_code == 401


async def test_wrong_audience_is_401(client: httpx.AsyncClient, signer: TestSigner) -> None:
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": signer.issuer,
            "aud": "someone-else",
            "sub": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 60,
            "jti": "x",
        },
        signer.key,
        algorithm="EdDSA",
        headers={"kid": signer.kid},
    )
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_revoked_token_is_401(app: Any, client: httpx.AsyncClient, user: TestUser) -> None:
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
    claims = jwt.decode(user.token, options={"verify_signature": False})
    await app.state.verifier.revocations.revoke_token(claims["jti"], claims["exp"])
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401


async def test_user_revocation_cuts_older_tokens(
    app: Any, client: httpx.AsyncClient, user: TestUser
) -> None:
    await app.state.verifier.revocations.revoke_user(user.id, int(time.time()) + 1)
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401


async def test_revocation_feed_applies_entries_and_rereads_a_recreated_list() -> None:
    """identity's list read after a cursor; a list that starts over (a new database) is read
    again from the start rather than skipped."""
    far = int(time.time()) + 900
    user = uuid.uuid4()
    lists: dict[int, tuple[int, list[Revocation]]] = {
        0: (5, [("jti", "j1", far), ("user", str(user), 100)]),
    }
    calls: list[int] = []

    async def fetch(after: int) -> tuple[int, list[Revocation]]:
        calls.append(after)
        return lists.get(after, (lists[0][0], []))

    feed = RevocationFeed(fetch)
    assert await feed.poll() == 2
    assert feed.cursor == 5

    def token(jti: str, sid: str = "", sub: uuid.UUID | None = None) -> AuthUser:
        return AuthUser(sub or uuid.uuid4(), "u", False, jti, far, "t", sid=sid)

    assert await feed.is_revoked(token("j1"), 1)
    assert await feed.is_revoked(token("j2", sub=user), 99)  # issued before the cutoff
    assert not await feed.is_revoked(token("j2", sub=user), 100)
    lists[0] = (1, [("sid", "s1", far)])  # identity's list starts over
    lists[5] = (1, [])
    assert await feed.poll() == 1
    assert calls[-2:] == [5, 0]
    assert feed.cursor == 1
    assert await feed.is_revoked(token("j3", sid="s1"), 1)


async def test_the_feed_is_quiet_while_identity_starts_then_says_it_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    up = False

    async def fetch(after: int) -> tuple[int, list[Revocation]]:
        if not up:
            raise OSError("connection refused")
        return after, []

    feed = RevocationFeed(fetch, interval=0.01)
    caplog.set_level(logging.INFO, logger="vc.auth")
    feed.start()
    await asyncio.sleep(0.1)  # identity not up yet, within the start-up grace: nothing said
    assert "unreachable" not in caplog.text
    feed._started -= RevocationFeed.STARTUP_GRACE  # as if it had been down that long
    await asyncio.sleep(0.1)
    assert caplog.text.count("revocation list unreachable") == 1
    up = True
    await asyncio.sleep(0.1)
    assert "reachable again" in caplog.text
    up = False  # once it answered, a failure is reported at once
    caplog.clear()
    feed._started = time.monotonic()
    await asyncio.sleep(0.1)
    assert "revocation list unreachable" in caplog.text
    await feed.close()
