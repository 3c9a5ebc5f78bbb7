from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

URL = "/api/v1/focus/sessions"


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("body", "planned"),
    [
        ({"focus_type": "pomodoro"}, 25),
        ({"focus_type": "deep_work"}, 90),
        ({"focus_type": "custom", "duration_minutes": 1}, 1),
        ({"focus_type": "custom", "duration_minutes": 480}, 480),
        ({"focus_type": "pomodoro", "duration_minutes": 25}, 25),
    ],
)
async def test_start_plans_the_length_of_its_type(
    client: httpx.AsyncClient,
    make_user: Any,
    clock: Any,
    outbox: Any,
    body: dict[str, Any],
    planned: int,
) -> None:
    user = make_user()
    resp = await client.post(URL, json={**body, "notes": "write the spec"}, headers=user.headers)
    assert resp.status_code == 201, resp.text
    s = resp.json()
    assert resp.headers["location"] == f"{URL}/{s['id']}"
    assert s["user_id"] == str(user.id)
    assert s["duration_minutes"] == planned
    assert ts(s["start_time"]) == clock.now
    assert s["start_time"].endswith("Z")
    assert ts(s["planned_end_time"]) == clock.now + timedelta(minutes=planned)
    assert s["end_time"] is None
    assert s["actual_duration_minutes"] is None
    assert s["is_completed"] is False
    assert s["interruptions"] == 0
    assert s["notes"] == "write the spec"
    assert s["minutes_by_day"] == {}
    [event] = await outbox("focus.session.started")
    assert event["subject"] == s["id"]
    assert event["source"] == "focus"
    assert event["data"]["planned_minutes"] == planned
    assert event["data"]["user_id"] == str(user.id)
    assert event["data"]["timezone"] == "UTC"


@pytest.mark.parametrize(
    "body",
    [
        {"focus_type": "custom"},
        {"focus_type": "custom", "duration_minutes": 0},
        {"focus_type": "custom", "duration_minutes": 481},
        {"focus_type": "custom", "duration_minutes": -5},
        {"focus_type": "pomodoro", "duration_minutes": 30},
        {"focus_type": "deep_work", "duration_minutes": 25},
        {"focus_type": "nap"},
        {},
        {"focus_type": "custom", "duration_minutes": "long"},
    ],
)
@pytest.mark.usefixtures("clock")
async def test_start_rejects_bad_lengths_and_types(
    client: httpx.AsyncClient, make_user: Any, outbox: Any, body: dict[str, Any]
) -> None:
    resp = await client.post(URL, json=body, headers=make_user().headers)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"]
    assert await outbox() == []


async def test_one_running_session_per_user(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    alice, bob = make_user(), make_user()
    first = await client.post(URL, json={"focus_type": "pomodoro"}, headers=alice.headers)
    assert first.status_code == 201
    clock.advance(minutes=3)
    again = await client.post(URL, json={"focus_type": "deep_work"}, headers=alice.headers)
    assert again.status_code == 409
    assert again.json()["session_id"] == first.json()["id"]
    other = await client.post(URL, json={"focus_type": "deep_work"}, headers=bob.headers)
    assert other.status_code == 201
    assert len(await outbox("focus.session.started")) == 2


async def test_the_database_enforces_one_running_session(db_connection: AsyncConnection) -> None:
    user_id = uuid.uuid4()
    insert = text(
        "INSERT INTO focus_sessions (id, user_id, focus_type, start_time, planned_end_time, "
        "duration_minutes) VALUES (:id, :u, 'pomodoro', now(), now() + interval '25 min', 25)"
    )
    await db_connection.execute(insert, {"id": uuid.uuid4(), "u": user_id})
    nested = await db_connection.begin_nested()
    with pytest.raises(IntegrityError, match="uq_focus_sessions_running_user"):
        await db_connection.execute(insert, {"id": uuid.uuid4(), "u": user_id})
    await nested.rollback()
    # once the first has ended, another may run
    await db_connection.execute(
        text("UPDATE focus_sessions SET end_time = now() WHERE user_id = :u"), {"u": user_id}
    )
    await db_connection.execute(insert, {"id": uuid.uuid4(), "u": user_id})


async def test_current_session(client: httpx.AsyncClient, make_user: Any, clock: Any) -> None:
    user = make_user()
    assert (await client.get(f"{URL}/current", headers=user.headers)).status_code == 404
    started = (await client.post(URL, json={"focus_type": "pomodoro"}, headers=user.headers)).json()
    current = await client.get(f"{URL}/current", headers=user.headers)
    assert current.status_code == 200
    assert current.json() == started
    assert (await client.get(f"{URL}/current", headers=make_user().headers)).status_code == 404
    clock.advance(minutes=10)
    await client.post(f"{URL}/{started['id']}/stop", headers=user.headers)
    assert (await client.get(f"{URL}/current", headers=user.headers)).status_code == 404


async def test_sessions_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post(URL, json={"focus_type": "pomodoro"})).status_code == 401
    assert (await client.get(f"{URL}/current")).status_code == 401


@pytest.mark.usefixtures("clock")
async def test_idempotency_key_replays_the_start(
    client: httpx.AsyncClient, make_user: Any, outbox: Any
) -> None:
    user = make_user()
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(URL, json={"focus_type": "pomodoro"}, headers=headers)
    retry = await client.post(URL, json={"focus_type": "pomodoro"}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers.get("idempotent-replayed") == "true"
    assert len(await outbox("focus.session.started")) == 1


async def test_concurrent_starts_run_one_session(
    live_app: Any, live_client: httpx.AsyncClient, make_user: Any
) -> None:
    """Real commits, five starts at once: the partial unique index lets exactly one through."""
    user = make_user()
    try:
        answers = await asyncio.gather(
            *(
                live_client.post(URL, json={"focus_type": "pomodoro"}, headers=user.headers)
                for _ in range(5)
            )
        )
        assert sorted(r.status_code for r in answers) == [201, 409, 409, 409, 409]
    finally:
        async with live_app.state.db.unit_of_work() as session:
            await session.execute(
                text("DELETE FROM outbox WHERE payload->'data'->>'user_id' = :u"),
                {"u": str(user.id)},
            )
            await session.execute(
                text("DELETE FROM focus_sessions WHERE user_id = :u"), {"u": user.id}
            )
