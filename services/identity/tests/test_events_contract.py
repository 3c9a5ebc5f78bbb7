"""Producer test: every event identity writes to its outbox matches its published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from identity.events import (
    DEACTIVATED,
    REACTIVATED,
    REGISTERED,
    UPDATED,
    VERIFIED,
)
from jsonschema import Draft202012Validator
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.events.contracts import validate_event
from vc_common.testing.plugin import wait_for

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events"
TYPES = [REGISTERED, VERIFIED, UPDATED, DEACTIVATED, REACTIVATED]


def schema(type_: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CONTRACTS / f"{type_}.v1.json").read_text())
    return doc


@pytest.mark.parametrize("type_", TYPES)
def test_schema_is_valid_draft_2020_12(type_: str) -> None:
    doc = schema(type_)
    Draft202012Validator.check_schema(doc)
    assert doc["additionalProperties"] is True  # consumers ignore what they do not know
    assert doc["title"] == type_


async def test_every_emitted_event_matches_its_schema(
    client: httpx.AsyncClient, api: Any, db_connection: AsyncConnection
) -> None:
    staff = await api.register(client)
    await db_connection.execute(
        text("UPDATE users SET is_staff = true WHERE id = :id"), {"id": staff.id}
    )
    await api.login(client, staff)
    acct = await api.signed_in(client, first_name="Eve")
    token = (
        (
            await db_connection.execute(
                text("SELECT body_text FROM mail_outbox WHERE to_address = :a"), {"a": acct.email}
            )
        )
        .scalar_one()
        .split("token=")[1]
        .split()[0]
    )
    assert (await client.post("/api/v1/auth/verify", json={"token": token})).status_code == 200
    await client.patch(
        "/api/v1/users/me",
        headers=acct.headers,
        json={"timezone": "America/Lima", "email": f"n-{acct.email}"},
    )
    await client.patch("/api/v1/users/me", headers=acct.headers, json={"bio": "not public"})
    for active in (False, True):
        resp = await client.patch(
            f"/api/v1/admin/users/{acct.id}", headers=staff.headers, json={"is_active": active}
        )
        assert resp.status_code == 200

    rows = (
        await db_connection.execute(
            text("SELECT type, subject, payload FROM outbox WHERE subject = :s ORDER BY seq"),
            {"s": str(acct.id)},
        )
    ).all()
    assert [r.type for r in rows] == [
        REGISTERED,
        VERIFIED,
        UPDATED,
        DEACTIVATED,
        REACTIVATED,
    ]
    for row in rows:
        validate_event(row.payload, folder=CONTRACTS)  # envelope and `data`
        assert row.payload["source"] == "identity"
        # producer-side strictness: nothing undeclared in `data`
        assert set(row.payload["data"]) <= set(schema(row.type)["properties"])
        assert row.payload["subject"] == str(acct.id) == row.subject
        assert row.payload["data"]["user_id"] == str(acct.id)
    updated = rows[2].payload["data"]
    assert set(updated["changed_fields"]) == {"timezone", "email"}
    assert updated["timezone"] == "America/Lima"
    assert updated["email"] == f"n-{acct.email}"
    registered = rows[0].payload["data"]
    assert registered["first_name"] == "Eve"
    assert registered["timezone"] == "UTC"


async def test_the_relay_publishes_what_patch_me_committed(
    live_app: Any, live_client: httpx.AsyncClient, api: Any
) -> None:
    """The factory runs identity's relay: the ``identity.user.updated`` that PATCH /users/me
    wrote is published after commit (``sent_at`` is set only once the broker acknowledged it)."""
    account = await api.signed_in(live_client)
    resp = await live_client.patch(
        "/api/v1/users/me", json={"timezone": "Europe/Paris"}, headers=account.headers
    )
    assert resp.status_code == 200, resp.text
    outbox = live_app.state.event_tables.outbox

    async def published() -> Any:
        stmt = select(outbox.c.sent_at, outbox.c.payload).where(
            outbox.c.type == UPDATED, outbox.c.subject == str(account.id)
        )
        async with live_app.state.db.sessionmaker() as session:
            row = (await session.execute(stmt)).one_or_none()
        return row if row is not None and row.sent_at is not None else None

    row = await wait_for(published, within=30)
    validate_event(row.payload)
    assert row.payload["data"]["timezone"] == "Europe/Paris"
    assert row.payload["data"]["changed_fields"] == ["timezone"]
