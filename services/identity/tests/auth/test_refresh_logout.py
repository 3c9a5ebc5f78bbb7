from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_the_old_token_is_dead(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    resp = await refresh(client, acct.refresh_token)
    assert resp.status_code == 200, resp.text
    pair = resp.json()
    assert pair["refresh_token"] != acct.refresh_token
    assert pair["token_type"] == "bearer"
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.status_code == 200
    # the new one rotates again
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.signed_in(client)
    other_session = (
        await client.post(
            "/api/v1/auth/login", json={"username": acct.username, "password": acct.password}
        )
    ).json()["refresh_token"]
    first = (await refresh(client, acct.refresh_token)).json()
    second = (await refresh(client, first["refresh_token"])).json()
    # the thief (or the victim) presents the first, rotated token again
    reuse = await refresh(client, acct.refresh_token)
    assert reuse.status_code == 401
    assert reuse.headers["content-type"] == "application/problem+json"
    # every token of that family is dead now, even the newest
    assert (await refresh(client, second["refresh_token"])).status_code == 401
    # the revocation was committed although the answer was an error
    live = (
        await db_connection.execute(
            text("SELECT count(*) FROM refresh_tokens WHERE user_id = :id AND revoked_at IS NULL"),
            {"id": acct.id},
        )
    ).scalar_one()
    assert live == 1  # the other sign-in's token
    assert (await refresh(client, other_session)).status_code == 200


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await refresh(client, "no-such-token")).status_code == 401


async def test_logout_revokes_the_family_and_the_access_token(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    resp = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": acct.refresh_token}, headers=acct.headers
    )
    assert resp.status_code == 204
    assert (await refresh(client, acct.refresh_token)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=acct.headers)).status_code == 401


async def test_logout_without_an_access_token_still_ends_the_refresh_family(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    resp = await client.post("/api/v1/auth/logout", json={"refresh_token": acct.refresh_token})
    assert resp.status_code == 204
    assert (await refresh(client, acct.refresh_token)).status_code == 401
    # an unknown refresh token is a 204 too: logout is idempotent
    resp = await client.post("/api/v1/auth/logout", json={"refresh_token": "unknown"})
    assert resp.status_code == 204
