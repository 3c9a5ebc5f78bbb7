"""Identity's revocation list as another service's verifier sees it: a RevocationFeed polling
``/internal/v1/revocations`` (what every service and the gateway run without Redis) refuses a
token after logout, password change, deactivation and demotion, and a replayed refresh token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.auth import Revocation, RevocationFeed, StaticKeySource, TokenVerifier
from vc_common.errors import Unauthorized


async def elsewhere(client: httpx.AsyncClient) -> tuple[TokenVerifier, RevocationFeed]:
    """A verifier in another process: keys from the JWKS, revocations from the feed only."""

    async def fetch(after: int) -> tuple[int, list[Revocation]]:
        resp = await client.get("/internal/v1/revocations", params={"after": after})
        assert resp.status_code == 200, resp.text
        data = resp.json()
        return data["last"], [(i["kind"], i["key"], i["value"]) for i in data["items"]]

    feed = RevocationFeed(fetch)
    await feed.poll()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier(
        StaticKeySource(jwks),
        issuer="virtualcoworking-identity",
        audience="virtualcoworking",
        revocations=feed,
    )
    return verifier, feed


async def refused(verifier: TokenVerifier, token: str) -> bool:
    try:
        await verifier.verify(token)
    except Unauthorized:
        return True
    return False


async def test_logout_revokes_every_access_token_of_the_sign_in_elsewhere(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    other = await api.login(client, await api.register(client))
    same_user_other_sign_in = await client.post(
        "/api/v1/auth/login", json={"username": acct.username, "password": acct.password}
    )
    rotated = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    ).json()
    verifier, feed = await elsewhere(client)
    for token in (acct.access_token, rotated["access_token"], other.access_token):
        assert not await refused(verifier, token)
    # logout with the rotated refresh token and no bearer: the sign-in (sid) is what dies
    resp = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert resp.status_code == 204
    assert await feed.poll() >= 1
    assert await refused(verifier, acct.access_token)  # issued before the refresh
    assert await refused(verifier, rotated["access_token"])
    assert not await refused(verifier, same_user_other_sign_in.json()["access_token"])
    assert not await refused(verifier, other.access_token)


async def test_password_change_revokes_the_users_tokens_elsewhere(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    verifier, feed = await elsewhere(client)
    resp = await client.post(
        "/api/v1/users/me/password",
        headers=acct.headers,
        json={"current_password": acct.password, "new_password": "another long passphrase"},
    )
    assert resp.status_code == 204, resp.text
    await feed.poll()
    assert await refused(verifier, acct.access_token)
    # signing in with the new password at once gives a token that is not born revoked (access
    # tokens carry whole seconds; the revocation covers the whole second it was made in)
    acct.password = "another long passphrase"
    fresh = await api.login(client, acct)
    await feed.poll()
    assert not await refused(verifier, fresh.access_token)


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_staff": False}])
async def test_deactivation_and_demotion_revoke_tokens_elsewhere(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection, change: dict[str, bool]
) -> None:
    staff = await api.register(client)
    target = await api.register(client)
    await db_connection.execute(
        text("UPDATE users SET is_staff = true WHERE id IN (:a, :b)"),
        {"a": staff.id, "b": target.id},
    )
    staff = await api.login(client, staff)
    target = await api.login(client, target)
    verifier, feed = await elsewhere(client)
    assert (await verifier.verify(target.access_token)).is_staff
    resp = await client.patch(
        f"/api/v1/admin/users/{target.id}", headers=staff.headers, json=change
    )
    assert resp.status_code == 200, resp.text
    await feed.poll()
    assert await refused(verifier, target.access_token)
    assert not await refused(verifier, staff.access_token)
    if change == {"is_staff": False}:
        # the demoted member signs in again at once: the new token is valid, and not staff
        again = await api.login(client, target)
        await feed.poll()
        assert not (await verifier.verify(again.access_token)).is_staff


async def test_a_replayed_refresh_token_kills_the_sign_ins_access_tokens_elsewhere(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    rotated = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    ).json()
    verifier, feed = await elsewhere(client)
    assert not await refused(verifier, rotated["access_token"])
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    assert replay.status_code == 401
    await feed.poll()
    assert await refused(verifier, rotated["access_token"])


async def test_the_list_answers_only_whats_new_after_the_cursor_and_recent(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.signed_in(client)
    await client.post("/api/v1/auth/logout", json={"refresh_token": acct.refresh_token})
    first = (await client.get("/internal/v1/revocations")).json()
    assert first["last"] >= 1
    assert any(i["kind"] == "sid" for i in first["items"])
    # rows older than the overlap window and before the cursor are not sent again
    await db_connection.execute(
        text("UPDATE revocations SET created_at = now() - interval '1 hour'")
    )
    again = (await client.get("/internal/v1/revocations", params={"after": first["last"]})).json()
    assert again == {"last": first["last"], "items": []}
    bad = await client.get("/internal/v1/revocations", params={"after": -1})
    assert bad.status_code == 422
