"""Token attacks, through the gateway and straight at each service (every service verifies
tokens itself, CONTRACT: identity): an expired token signed with the real key, a tampered
payload, ``alg: none``, HS256 signed with the public key, a key id that does not exist, a token
signed by a stranger's key under the real key id, and a refresh token replayed (its whole family
dies). Each answers 401 problem+json, everywhere.

The expired token is signed with identity's real key, read from identity's database (how time
would have made one), so the refusal is about ``exp`` and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

import asyncpg
import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.e2e.conftest import RUN_DIRS, new_user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("nats_only")]

PASSWORD = "correct horse battery staple"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return orjson.loads(_unb64(header)), orjson.loads(_unb64(payload))


def _unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(payload))}"


def _service_urls(base: str) -> dict[str, str]:
    """Each service's own address, from the platform's start-up table."""
    log = (RUN_DIRS[base] / "platform.log").read_text()
    found = dict(re.findall(r"^  ([a-z]+)(?:#1)?\s+(http://127\.0\.0\.1:\d+)\s+docs", log, re.M))
    found.pop("gateway", None)
    return found


async def _identity_signing_key(base: str) -> tuple[str, Ed25519PrivateKey]:
    log = (RUN_DIRS[base] / "platform.log").read_text()
    match = re.search(r"migrating identity \((postgresql://[^)]+)\)", log)
    assert match, "the platform log names identity's database"
    conn = await asyncpg.connect(match.group(1))
    try:
        row = await conn.fetchrow(
            "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL "
            "ORDER BY created_at DESC LIMIT 1"
        )
    finally:
        await conn.close()
    key = load_pem_private_key(row["private_key"].encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return row["kid"], key


async def test_forged_and_stale_tokens_get_401_everywhere(
    api: httpx.AsyncClient, platform: str
) -> None:
    me = await new_user(api, "forger")
    team = await api.post("/api/v1/teams", json={"name": "Forge"}, headers=me["headers"])
    assert team.status_code == 201
    t = team.json()["id"]
    token = me["token"]
    header, claims = _parts(token)
    kid, real_key = await _identity_signing_key(platform)
    assert header["kid"] == kid
    jwks = (await api.get("/.well-known/jwks.json")).json()
    public = next(k for k in jwks["keys"] if k["kid"] == kid)
    now = int(time.time())

    stranger = Ed25519PrivateKey.generate()
    hs_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    attacks = {
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "exp": now - 3600},
            real_key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "tampered": _unsigned(header, {**claims, "is_staff": True}) + "." + token.split(".")[2],
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims) + ".",
        "HS256 with the public key (raw)": hs_input
        + "."
        + _b64(hmac.new(_unb64(public["x"]), hs_input.encode(), hashlib.sha256).digest()),
        "HS256 with the public key (JWK)": hs_input
        + "."
        + _b64(hmac.new(orjson.dumps(public), hs_input.encode(), hashlib.sha256).digest()),
        "unknown kid": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": "nope"}),
        "stranger's key, real kid": jwt.encode(
            claims, stranger, algorithm="EdDSA", headers={"kid": kid}
        ),
        "another audience": jwt.encode(
            {**claims, "aud": "someone-else"}, real_key, algorithm="EdDSA", headers={"kid": kid}
        ),
        "garbage": "not.a.jwt",
    }
    routes = {
        "identity": "/api/v1/users/me",
        "teams": "/api/v1/teams",
        "tasks": f"/api/v1/teams/{t}/boards",
        "focus": "/api/v1/focus/sessions",
        "chat": f"/api/v1/teams/{t}/rooms",
        "analytics": "/api/v1/users/me/analytics",
        "notifications": "/api/v1/notifications",
        "integrations": "/api/v1/integrations",
        "files": f"/api/v1/teams/{t}/files",
        "meetings": f"/api/v1/teams/{t}/meetings",
        "realtime": f"/api/v1/teams/{t}/now",
    }
    services = _service_urls(platform)
    assert set(routes) <= set(services), services
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=15) as client:
        for service, path in routes.items():
            for where in (platform, services[service]):
                ok = await client.get(where + path, headers=me["headers"])
                assert ok.status_code == 200, (service, where, ok.text)
                for name, forged in attacks.items():
                    r = await client.get(
                        where + path, headers={"Authorization": f"Bearer {forged}"}
                    )
                    if (
                        r.status_code != 401
                        or r.headers["content-type"] != "application/problem+json"
                    ):
                        wrong.append(
                            f"{name} at {service} via {where}: {r.status_code} {r.text[:120]}"
                        )
    assert not wrong, "\n".join(wrong)


async def test_a_replayed_refresh_token_kills_its_family(api: httpx.AsyncClient) -> None:
    me = await new_user(api, "replay")
    login = await api.post(
        "/api/v1/auth/login", json={"username": me["username"], "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    first = login.json()["refresh_token"]
    r = await api.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200, r.text
    second = r.json()["refresh_token"]
    replay = await api.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    # the thief's (or the owner's) newer token of the same family is dead too
    after = await api.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401
    # another session of the same user is not of that family and lives on
    other = await api.post(
        "/api/v1/auth/login", json={"username": me["username"], "password": PASSWORD}
    )
    fresh = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": other.json()["refresh_token"]}
    )
    assert fresh.status_code == 200
