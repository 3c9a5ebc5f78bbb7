from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from identity.app import create_app
from identity.keys.keyring import KeyRing, rotate_keys, to_pem
from identity.models import SigningKey
from identity.settings import Settings
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient) -> None:
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    [key] = resp.json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in key  # never the private part


async def test_rotation_publishes_two_keys_and_old_tokens_stay_valid(
    app: Any, client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    old_kid = jwt.get_unverified_header(acct.access_token)["kid"]
    async with app.state.db.unit_of_work() as session:
        new_kid, retired = await rotate_keys(session, access_ttl_seconds=900)
    assert retired == []
    await app.state.keyring.reload(app.state.db)

    kids = [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]
    assert sorted(kids) == sorted([old_kid, new_kid])
    assert (await client.get("/api/v1/users/me", headers=acct.headers)).status_code == 200
    fresh = await api.login(client, acct)
    assert jwt.get_unverified_header(fresh.access_token)["kid"] == new_kid
    assert (await client.get("/api/v1/users/me", headers=fresh.headers)).status_code == 200


async def test_a_replica_learns_a_rotated_key_from_the_database(
    app: Any, client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.register(client)
    async with app.state.db.unit_of_work() as session:
        await rotate_keys(session, access_ttl_seconds=900)
    # this replica has not reloaded; a token signed by "another replica" with the new key
    other = KeyRing()
    await other.reload(app.state.db)
    token = jwt.encode(
        {
            "iss": "virtualcoworking-identity",
            "aud": "virtualcoworking",
            "sub": str(acct.id),
            "iat": int(datetime.now(UTC).timestamp()),
            "exp": int(datetime.now(UTC).timestamp()) + 60,
            "jti": "x",
            "typ": "access",
            "username": acct.username,
            "is_staff": False,
        },
        other.signing.key,
        algorithm="EdDSA",
        headers={"kid": other.signing.kid},
    )
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


async def test_rotation_retires_keys_only_after_the_access_token_lifetime(
    app: Any, db_connection: AsyncConnection
) -> None:
    del app
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    await db_connection.execute(
        update(SigningKey).values(created_at=datetime.now(UTC) - timedelta(days=3))
    )
    now = datetime.now(UTC)
    for kid, age in (("k-old", timedelta(days=2)), ("k-prev", timedelta(minutes=5))):
        await db_connection.execute(
            insert(SigningKey).values(
                kid=kid, private_key=to_pem(Ed25519PrivateKey.generate()), created_at=now - age
            )
        )
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(bind=db_connection, join_transaction_mode="create_savepoint") as s:
        new, retired = await rotate_keys(s, access_ttl_seconds=900)
        await s.commit()
    # the first key was superseded by k-old two days ago: retired. k-old was superseded by
    # k-prev only 5 minutes ago: tokens it signed may still be valid, so it stays.
    live = (
        (
            await db_connection.execute(
                select(SigningKey.kid)
                .where(SigningKey.retired_at.is_(None))
                .order_by(SigningKey.created_at)
            )
        )
        .scalars()
        .all()
    )
    assert live == ["k-old", "k-prev", new]
    assert len(retired) == 1


async def test_keys_from_the_environment(monkeypatch: Any, service_env: dict[str, str]) -> None:
    del service_env
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pems = to_pem(Ed25519PrivateKey.generate()) + to_pem(Ed25519PrivateKey.generate())
    monkeypatch.setenv("JWT_PRIVATE_KEYS", pems)
    application = create_app()
    assert isinstance(application.state.settings, Settings)
    ring: KeyRing = application.state.keyring
    await ring.start(None)  # type: ignore[arg-type]  # no database in env mode
    assert len(ring.jwks()["keys"]) == 2
    assert ring.signing.kid == ring.keys[-1].kid


async def test_two_replicas_starting_at_once_make_one_key(live_app: Any) -> None:
    import asyncio

    async with live_app.state.db.unit_of_work() as session:
        await session.execute(text("UPDATE signing_keys SET retired_at = now()"))
    rings = [KeyRing() for _ in range(4)]
    await asyncio.gather(*(ring.start(live_app.state.db) for ring in rings))
    async with live_app.state.db.unit_of_work() as session:
        n = (
            await session.execute(
                text("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL")
            )
        ).scalar_one()
    assert n == 1
    assert len({ring.signing.kid for ring in rings}) == 1
