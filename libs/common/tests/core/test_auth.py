from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
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
