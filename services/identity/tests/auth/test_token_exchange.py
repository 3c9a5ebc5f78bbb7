"""The internal token exchange: a service with its credential gets a short-lived access token
for a user (``act`` names the service), verifiable like any other; nothing without the
credential, nothing for an unknown or inactive user."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.auth import StaticKeySource, TokenVerifier

URL = "/internal/v1/token-exchange"
SERVICE = ("integrations", "development-service-secret")


async def test_a_service_gets_a_short_token_for_the_user(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.register(client)
    r = await client.post(URL, json={"subject": str(acct.id)}, auth=SERVICE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires_in"] == 300
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(acct.id)
    assert claims["act"] == {"sub": "integrations"}
    assert claims["exp"] - claims["iat"] == 300
    jwks = (await client.get("/.well-known/jwks.json")).json()
    other = TokenVerifier(
        StaticKeySource(jwks), issuer="virtualcoworking-identity", audience="virtualcoworking"
    )
    assert (await other.verify(body["access_token"])).id == acct.id


async def test_no_credential_a_wrong_one_or_an_unknown_user_gets_nothing(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.register(client)
    body = {"subject": str(acct.id)}
    assert (await client.post(URL, json=body)).status_code == 401
    assert (await client.post(URL, json=body, auth=("integrations", "guess"))).status_code == 401
    assert (await client.post(URL, json=body, auth=("chat", "x"))).status_code == 401
    user_token = {"Authorization": f"Bearer {(await api.login(client, acct)).access_token}"}
    assert (await client.post(URL, json=body, headers=user_token)).status_code == 401
    unknown = await client.post(URL, json={"subject": str(uuid.uuid4())}, auth=SERVICE)
    assert unknown.status_code == 404
    await db_connection.execute(
        text("UPDATE users SET is_active = false WHERE id = :i"), {"i": acct.id}
    )
    assert (await client.post(URL, json=body, auth=SERVICE)).status_code == 404


def test_production_knows_no_service_unless_told_and_refuses_the_development_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from identity.settings import Settings

    for k, v in {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://db/x",
        "EVENT_BUS_URL": "nats://bus:4222",
        "JWKS_URL": "http://identity/.well-known/jwks.json",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("SERVICE_CREDENTIALS", raising=False)
    assert Settings().services == {}
    monkeypatch.setenv("SERVICE_CREDENTIALS", "integrations:development-service-secret")
    with pytest.raises(ValueError, match="development SERVICE_CREDENTIALS"):
        Settings()
    monkeypatch.setenv("SERVICE_CREDENTIALS", "integrations:s3cret,files:other")
    assert Settings().services == {"integrations": "s3cret", "files": "other"}
