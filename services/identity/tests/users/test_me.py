from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def test_patch_me_changes_only_the_fields_sent(client: httpx.AsyncClient, api: Any) -> None:
    acct = await api.signed_in(client, first_name="Ann")
    resp = await client.patch(
        "/api/v1/users/me",
        headers=acct.headers,
        json={
            "bio": "Writes code",
            "timezone": "Europe/Berlin",
            "birth_date": "1990-05-17",
            "avatar": "https://cdn.example.com/a.png",
            "company_name": "ACME",
            "location": "Berlin",
            "last_name": "Lee",
        },
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["first_name"] == "Ann"  # untouched
    assert data["last_name"] == "Lee"
    p = data["profile"]
    assert (p["bio"], p["timezone"], p["birth_date"]) == (
        "Writes code",
        "Europe/Berlin",
        "1990-05-17",
    )
    assert (p["avatar"], p["company_name"], p["location"]) == (
        "https://cdn.example.com/a.png",
        "ACME",
        "Berlin",
    )
    # a second PATCH with one field leaves the others alone; nested `profile` works too
    resp = await client.patch(
        "/api/v1/users/me", headers=acct.headers, json={"profile": {"bio": "Still codes"}}
    )
    p = resp.json()["profile"]
    assert (p["bio"], p["timezone"], p["company_name"]) == ("Still codes", "Europe/Berlin", "ACME")
    # null clears a nullable field
    resp = await client.patch("/api/v1/users/me", headers=acct.headers, json={"avatar": None})
    assert resp.json()["profile"]["avatar"] is None
    got = (await client.get("/api/v1/users/me", headers=acct.headers)).json()
    assert got["profile"]["bio"] == "Still codes"
    assert "password" not in got
    assert "verification_token" not in got["profile"]


async def test_timezone_must_be_iana(client: httpx.AsyncClient, api: Any) -> None:
    acct = await api.signed_in(client)
    for bad in ("Mars/Olympus", "CEST", "+02:00"):
        resp = await client.patch("/api/v1/users/me", headers=acct.headers, json={"timezone": bad})
        assert resp.status_code == 422, bad
        assert resp.json()["errors"][0]["loc"] == ["body", "timezone"]
    resp = await client.patch("/api/v1/users/me", headers=acct.headers, json={"timezone": None})
    assert resp.status_code == 422


async def test_role_is_not_self_editable(client: httpx.AsyncClient, api: Any) -> None:
    acct = await api.signed_in(client)
    resp = await client.patch("/api/v1/users/me", headers=acct.headers, json={"role": "owner"})
    assert resp.status_code == 403
    # sending back the current value (GET, edit, PATCH) is fine
    resp = await client.patch(
        "/api/v1/users/me", headers=acct.headers, json={"role": "member", "bio": "x"}
    )
    assert resp.status_code == 200
    assert resp.json()["profile"]["role"] == "member"


async def test_email_change_to_a_taken_address_is_409(client: httpx.AsyncClient, api: Any) -> None:
    a = await api.signed_in(client)
    b = await api.register(client)
    resp = await client.patch(
        "/api/v1/users/me", headers=a.headers, json={"email": b.email.upper()}
    )
    assert resp.status_code == 409


async def test_email_change_resets_verification_and_queues_mail(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    acct = await api.signed_in(client)
    await db_connection.execute(
        text("UPDATE user_profiles SET is_verified = true WHERE user_id = :id"), {"id": acct.id}
    )
    resp = await client.patch(
        "/api/v1/users/me", headers=acct.headers, json={"email": f"x-{acct.email}"}
    )
    assert resp.status_code == 200
    assert resp.json()["profile"]["is_verified"] is False
    queued = (
        await db_connection.execute(
            text("SELECT count(*) FROM mail_outbox WHERE to_address = :a"), {"a": f"x-{acct.email}"}
        )
    ).scalar_one()
    assert queued == 1


async def test_birth_date_in_the_future_is_422(client: httpx.AsyncClient, api: Any) -> None:
    acct = await api.signed_in(client)
    resp = await client.patch(
        "/api/v1/users/me", headers=acct.headers, json={"birth_date": "2999-01-01"}
    )
    assert resp.status_code == 422


async def test_public_view_of_another_user(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    viewer = await api.signed_in(client)
    other = await api.signed_in(client, first_name="Bo", last_name="Chen")
    await client.patch(
        "/api/v1/users/me",
        headers=other.headers,
        json={"timezone": "Asia/Tokyo", "bio": "private-ish"},
    )
    resp = await client.get(f"/api/v1/users/{other.id}", headers=viewer.headers)
    assert resp.status_code == 200
    assert resp.json() == {
        "id": str(other.id),
        "username": other.username,
        "first_name": "Bo",
        "last_name": "Chen",
        "profile": {"avatar": None, "timezone": "Asia/Tokyo"},
    }
    assert (await client.get(f"/api/v1/users/{other.id}")).status_code == 401
    unknown = "01900000-0000-7000-8000-000000000000"
    assert (await client.get(f"/api/v1/users/{unknown}", headers=viewer.headers)).status_code == 404
    await db_connection.execute(
        text("UPDATE users SET is_active = false WHERE id = :id"), {"id": other.id}
    )
    assert (
        await client.get(f"/api/v1/users/{other.id}", headers=viewer.headers)
    ).status_code == 404


async def test_password_change_revokes_refresh_and_access_tokens(
    client: httpx.AsyncClient, api: Any
) -> None:
    acct = await api.signed_in(client)
    second = (
        await client.post(
            "/api/v1/auth/login", json={"username": acct.username, "password": acct.password}
        )
    ).json()
    resp = await client.post(
        "/api/v1/users/me/password",
        headers=acct.headers,
        json={"current_password": "not the password", "new_password": "another long one"},
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "current_password"]
    resp = await client.post(
        "/api/v1/users/me/password",
        headers=acct.headers,
        json={"current_password": acct.password, "new_password": "short"},
    )
    assert resp.status_code == 422

    resp = await client.post(
        "/api/v1/users/me/password",
        headers=acct.headers,
        json={"current_password": acct.password, "new_password": "another long one"},
    )
    assert resp.status_code == 204
    for token in (acct.refresh_token, second["refresh_token"]):
        assert (
            await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        ).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=acct.headers)).status_code == 401
    old = await client.post(
        "/api/v1/auth/login", json={"username": acct.username, "password": acct.password}
    )
    assert old.status_code == 401
    acct.password = "another long one"
    await api.login(client, acct)
