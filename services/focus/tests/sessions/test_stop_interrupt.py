from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

URL = "/api/v1/focus/sessions"


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def start(client: httpx.AsyncClient, user: Any, **body: Any) -> dict[str, Any]:
    resp = await client.post(URL, json={"focus_type": "pomodoro", **body}, headers=user.headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_interrupt_counts(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    user = make_user()
    s = await start(client, user)
    for n in (1, 2):
        clock.advance(minutes=4)
        resp = await client.post(f"{URL}/{s['id']}/interrupt", headers=user.headers)
        assert resp.status_code == 200
        assert resp.json()["interruptions"] == n
    events = await outbox("focus.session.interrupted")
    assert [e["data"]["interruptions"] for e in events] == [1, 2]
    assert all(e["subject"] == s["id"] for e in events)


@pytest.mark.usefixtures("clock")
async def test_only_the_owner_sees_interrupts_or_stops(
    client: httpx.AsyncClient, make_user: Any, outbox: Any
) -> None:
    owner, other = make_user(), make_user()
    s = await start(client, owner)
    for action in ("interrupt", "stop"):
        resp = await client.post(f"{URL}/{s['id']}/{action}", headers=other.headers)
        assert resp.status_code == 404
    assert (await client.get(f"{URL}/{s['id']}", headers=other.headers)).status_code == 404
    assert (await client.get(f"{URL}/{s['id']}", headers=owner.headers)).status_code == 200
    assert await outbox("focus.session.ended") == []


@pytest.mark.parametrize(
    ("minutes", "completed"), [(25, True), (24.5, True), (24.4, False), (10, False), (29.9, True)]
)
async def test_stop_ends_the_session(
    client: httpx.AsyncClient,
    make_user: Any,
    clock: Any,
    outbox: Any,
    minutes: float,
    completed: bool,
) -> None:
    user = make_user()
    s = await start(client, user)
    clock.advance(minutes=minutes)
    resp = await client.post(f"{URL}/{s['id']}/stop", json={"notes": "done"}, headers=user.headers)
    assert resp.status_code == 200, resp.text
    ended = resp.json()
    assert ts(ended["end_time"]) == clock.now
    assert ended["actual_duration_minutes"] == round(minutes + 1e-9)
    assert ended["is_completed"] is completed
    assert ended["notes"] == "done"
    assert ended["auto_ended"] is False
    assert ended["timezone"] == "UTC"
    assert sum(ended["minutes_by_day"].values()) == ended["actual_duration_minutes"]
    [event] = await outbox("focus.session.ended")
    data = event["data"]
    assert data["actual_minutes"] == data["minutes"] == ended["actual_duration_minutes"]
    assert data["is_completed"] is completed
    assert data["ended_by"] == "user"
    assert data["end_time"] == ended["end_time"]


async def test_a_second_stop_changes_nothing(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    user = make_user()
    s = await start(client, user, focus_type="deep_work")
    clock.advance(minutes=30)
    first = await client.post(
        f"{URL}/{s['id']}/stop", json={"notes": "first"}, headers=user.headers
    )
    stats = (await client.get("/api/v1/focus/stats", headers=user.headers)).json()
    clock.advance(minutes=30)
    second = await client.post(
        f"{URL}/{s['id']}/stop", json={"notes": "second"}, headers=user.headers
    )
    no_body = await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)
    assert first.status_code == second.status_code == no_body.status_code == 200
    assert second.json() == first.json() == no_body.json()
    assert second.json()["notes"] == "first"
    assert len(await outbox("focus.session.ended")) == 1
    assert (await client.get("/api/v1/focus/stats", headers=user.headers)).json() == stats
    assert stats["items"][0]["total_focus_minutes"] == 30


async def test_an_ended_session_cannot_be_interrupted(
    client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    user = make_user()
    s = await start(client, user)
    clock.advance(minutes=5)
    await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)
    resp = await client.post(f"{URL}/{s['id']}/interrupt", headers=user.headers)
    assert resp.status_code == 409
    assert (await client.get(f"{URL}/{s['id']}", headers=user.headers)).json()["interruptions"] == 0


async def test_a_new_session_after_stopping(
    client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    user = make_user()
    s = await start(client, user)
    clock.advance(minutes=25)
    await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)
    again = await start(client, user, focus_type="custom", duration_minutes=50)
    assert ts(again["planned_end_time"]) - ts(again["start_time"]) == timedelta(minutes=50)


async def test_the_outbox_fixture_reads_this_tests_events_only(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any, database_url: str
) -> None:
    """An event another test of the worker committed (a real engine's, a live app's) is not
    this test's: once, a timed-out test's committed focus.session.ended failed the next one."""
    engine = create_async_engine(database_url)
    stranger = uuid.uuid4()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO outbox (id, type, subject, payload) "
                    "VALUES (:id, 'focus.session.interrupted', :s, CAST(:p AS jsonb))"
                ),
                {"id": stranger, "s": str(stranger), "p": json.dumps({"not": "validated"})},
            )
        user = make_user()
        s = await start(client, user)
        clock.advance(minutes=4)
        resp = await client.post(f"{URL}/{s['id']}/interrupt", headers=user.headers)
        assert resp.status_code == 200
        assert [e["subject"] for e in await outbox("focus.session.interrupted")] == [s["id"]]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM outbox WHERE id = :id"), {"id": stranger})
        await engine.dispose()
