from __future__ import annotations

import uuid
from typing import Any

import httpx
from identity.auth.tokens import digest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PASSWORD = "correct horse battery"


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **extra}


async def test_register_creates_user_profile_and_location(
    client: httpx.AsyncClient, unique: Any
) -> None:
    name = unique("ann")
    resp = await client.post(
        "/api/v1/auth/register", json=body(name, first_name="Ann", last_name="Lee")
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()
    assert resp.headers["location"] == f"/api/v1/users/{data['id']}"
    assert uuid.UUID(data["id"]).version == 7
    assert data["username"] == name
    assert data["email"] == f"{name}@example.com"
    assert (data["first_name"], data["last_name"]) == ("Ann", "Lee")
    assert data["is_active"] is True
    assert data["is_staff"] is False
    assert data["is_superuser"] is False
    assert data["last_login"] is None
    assert data["date_joined"].endswith("Z") or data["date_joined"].endswith("+00:00")
    profile = data["profile"]
    assert profile["role"] == "member"
    assert profile["timezone"] == "UTC"
    assert profile["is_verified"] is False
    assert set(profile) == {
        "bio",
        "location",
        "birth_date",
        "avatar",
        "role",
        "company_name",
        "timezone",
        "is_verified",
        "created_at",
        "updated_at",
    }
    assert "password" not in data
    assert "verification_token" not in resp.text


async def test_password_is_hashed_and_only_a_token_hash_is_stored(
    client: httpx.AsyncClient, db_connection: AsyncConnection, unique: Any
) -> None:
    name = unique("hash")
    resp = await client.post("/api/v1/auth/register", json=body(name))
    uid = resp.json()["id"]
    row = (
        await db_connection.execute(
            text(
                "SELECT u.password, p.verification_token FROM users u JOIN user_profiles p "
                "ON p.user_id = u.id WHERE u.id = :id"
            ),
            {"id": uid},
        )
    ).one()
    assert row.password.startswith("$argon2id$")
    assert PASSWORD not in row.password
    mail = (
        await db_connection.execute(
            text("SELECT body_text FROM mail_outbox WHERE to_address = :a"),
            {"a": f"{name}@example.com"},
        )
    ).scalar_one()
    token = mail.split("token=")[1].split()[0]
    assert row.verification_token == digest(token)
    assert token not in row.verification_token


async def test_duplicate_username_or_email_is_409_case_insensitively(
    client: httpx.AsyncClient, db_connection: AsyncConnection, unique: Any
) -> None:
    name = unique("Dup")
    assert (await client.post("/api/v1/auth/register", json=body(name))).status_code == 201
    same_name = body(name.upper(), email=f"other-{name}@example.com")
    resp = await client.post("/api/v1/auth/register", json=same_name)
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"][0]["loc"] == ["body", "username"]
    same_email = body(unique("other"), email=f"{name.upper()}@EXAMPLE.com")
    resp = await client.post("/api/v1/auth/register", json=same_email)
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["loc"] == ["body", "email"]
    # the rejected registrations queued no mail and wrote no event
    mails = (
        await db_connection.execute(
            text("SELECT count(*) FROM mail_outbox WHERE lower(to_address) LIKE :a"),
            {"a": f"%{name.lower()}@example.com"},
        )
    ).scalar_one()
    assert mails == 1
    events = (
        await db_connection.execute(
            text(
                "SELECT count(*) FROM outbox WHERE type = 'identity.user.registered' "
                "AND lower(payload->'data'->>'username') = :n"
            ),
            {"n": name.lower()},
        )
    ).scalar_one()
    assert events == 1


async def test_weak_password_and_bad_email_are_422(client: httpx.AsyncClient, unique: Any) -> None:
    resp = await client.post(
        "/api/v1/auth/register", json=body(unique("weak"), password="short123")
    )
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["status"] == 422
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    assert problem["errors"][0]["loc"] == ["body", "password"]
    resp = await client.post(
        "/api/v1/auth/register", json=body(unique("mail"), email="not-an-email")
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "email"]
    resp = await client.post("/api/v1/auth/register", json=body("bad@name"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "username"]


async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/auth/register",
        content=b'{"username": ',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["status"] == 400


async def test_idempotency_key_replays_register(
    client: httpx.AsyncClient, db_connection: AsyncConnection, unique: Any
) -> None:
    name = unique("idem")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/api/v1/auth/register", json=body(name), headers=key)
    second = await client.post("/api/v1/auth/register", json=body(name), headers=key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers.get("idempotent-replayed") == "true"
    users = (
        await db_connection.execute(
            text("SELECT count(*) FROM users WHERE username = :n"), {"n": name}
        )
    ).scalar_one()
    assert users == 1
    other = await client.post("/api/v1/auth/register", json=body(unique("idem2")), headers=key)
    assert other.status_code == 422


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/auth/login",
        json={"username": "x", "password": "y"},
        headers={"X-Request-ID": "req-123"},
    )
    assert resp.headers["x-request-id"] == "req-123"
    resp = await client.get("/.well-known/jwks.json")
    assert resp.headers["x-request-id"]


async def test_readyz(client: httpx.AsyncClient) -> None:
    resp = await client.get("/readyz")
    assert resp.status_code == 200, resp.text
    checks = resp.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["signing_keys"]["status"] == "ok"
