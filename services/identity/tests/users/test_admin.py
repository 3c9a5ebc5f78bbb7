from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def make_staff(client: httpx.AsyncClient, api: Any, db: AsyncConnection) -> Any:
    staff = await api.register(client)
    await db.execute(text("UPDATE users SET is_staff = true WHERE id = :id"), {"id": staff.id})
    return await api.login(client, staff)


async def test_admin_routes_are_staff_only(client: httpx.AsyncClient, api: Any) -> None:
    member = await api.signed_in(client)
    assert (await client.get("/api/v1/admin/users", headers=member.headers)).status_code == 403
    resp = await client.patch(
        f"/api/v1/admin/users/{member.id}", headers=member.headers, json={"is_staff": True}
    )
    assert resp.status_code == 403
    assert (await client.get("/api/v1/admin/users")).status_code == 401


async def test_staff_lists_users_with_filter_and_cursor(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection, unique: Any
) -> None:
    staff = await make_staff(client, api, db_connection)
    tag = unique("zeta").replace("-", "")
    made = [await api.register(client, f"{tag}_{i}") for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": tag.upper(), "limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/api/v1/admin/users", headers=staff.headers, params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= 2
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m.username for m in made]
    assert "password" not in resp.text
    resp = await client.get("/api/v1/admin/users", headers=staff.headers, params={"q": "100%_"})
    assert resp.json()["items"] == []


async def test_deactivation_revokes_tokens_and_emits_events(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    staff = await make_staff(client, api, db_connection)
    target = await api.signed_in(client)
    resp = await client.patch(
        f"/api/v1/admin/users/{target.id}",
        headers=staff.headers,
        json={"is_active": False, "role": "admin"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_active"] is False
    assert resp.json()["profile"]["role"] == "admin"
    assert (await client.get("/api/v1/users/me", headers=target.headers)).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": target.refresh_token})
    ).status_code == 401
    assert (
        await client.post(
            "/api/v1/auth/login", json={"username": target.username, "password": target.password}
        )
    ).status_code == 401
    resp = await client.patch(
        f"/api/v1/admin/users/{target.id}", headers=staff.headers, json={"is_active": True}
    )
    assert resp.status_code == 200
    await api.login(client, target)
    types = (
        (
            await db_connection.execute(
                text("SELECT type FROM outbox WHERE subject = :s ORDER BY seq"),
                {"s": str(target.id)},
            )
        )
        .scalars()
        .all()
    )
    assert types == [
        "identity.user.registered",
        "identity.user.deactivated",
        "identity.user.reactivated",
    ]


async def test_staff_cannot_lock_themselves_out(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    staff = await make_staff(client, api, db_connection)
    resp = await client.patch(
        f"/api/v1/admin/users/{staff.id}", headers=staff.headers, json={"is_active": False}
    )
    assert resp.status_code == 409


async def test_demoted_staff_loses_admin_access_at_once(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    boss = await make_staff(client, api, db_connection)
    other = await make_staff(client, api, db_connection)
    resp = await client.patch(
        f"/api/v1/admin/users/{other.id}", headers=boss.headers, json={"is_staff": False}
    )
    assert resp.status_code == 200
    assert (await client.get("/api/v1/admin/users", headers=other.headers)).status_code in (
        401,
        403,
    )
    resp = await client.patch(
        "/api/v1/admin/users/01900000-0000-7000-8000-000000000000",
        headers=boss.headers,
        json={"role": "owner"},
    )
    assert resp.status_code == 404
    resp = await client.patch(
        f"/api/v1/admin/users/{other.id}", headers=boss.headers, json={"role": "king"}
    )
    assert resp.status_code == 422
