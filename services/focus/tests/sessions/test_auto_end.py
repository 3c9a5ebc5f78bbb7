from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from focus.app import AUTO_END, create_app
from focus.sessions.service import auto_end_due
from focus.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from vc_common.context import Context
from vc_common.db import Database
from vc_common.events.contracts import validate_event
from vc_common.jobs import run_job
from vc_common.testing.plugin import running

URL = "/api/v1/focus/sessions"
GRACE = timedelta(minutes=Settings().focus_grace_minutes)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def start(client: httpx.AsyncClient, user: Any, **body: Any) -> dict[str, Any]:
    resp = await client.post(URL, json={"focus_type": "pomodoro", **body}, headers=user.headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_a_session_nobody_stops_ends_as_planned(
    app: Any, client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    user = make_user()
    s = await start(client, user, focus_type="deep_work")
    planned_end = ts(s["planned_end_time"])
    clock.set(planned_end + GRACE)  # the deadline itself: not yet
    assert await run_job(app, AUTO_END) == 0
    assert (await client.get(f"{URL}/current", headers=user.headers)).status_code == 200
    clock.advance(seconds=1)
    assert await run_job(app, AUTO_END) == 1
    ended = (await client.get(f"{URL}/{s['id']}", headers=user.headers)).json()
    assert ts(ended["end_time"]) == planned_end
    assert ended["actual_duration_minutes"] == 90
    assert ended["is_completed"] is True
    assert ended["auto_ended"] is True
    assert ended["minutes_by_day"] == {"2026-11-24": 90}
    [event] = await outbox("focus.session.ended")
    assert event["data"]["ended_by"] == "auto"
    assert event["data"]["actual_minutes"] == 90
    assert event["data"]["end_time"] == ended["end_time"]
    stats = (await client.get("/api/v1/focus/stats", headers=user.headers)).json()["items"]
    assert [(r["date"], r["total_focus_minutes"], r["completed_sessions"]) for r in stats] == [
        ("2026-11-24", 90, 1)
    ]
    # a second pass finds nothing; a late stop returns it unchanged
    assert await run_job(app, AUTO_END) == 0
    late = await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)
    assert late.status_code == 200
    assert late.json() == ended
    assert len(await outbox("focus.session.ended")) == 1


async def test_an_overdue_session_is_not_running(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    """Before the job gets to it, an overdue session already behaves as ended as planned."""
    user = make_user()
    s = await start(client, user)
    clock.set(ts(s["planned_end_time"]) + GRACE + timedelta(minutes=1))
    assert (await client.get(f"{URL}/current", headers=user.headers)).status_code == 404
    resp = await client.post(f"{URL}/{s['id']}/interrupt", headers=user.headers)
    assert resp.status_code == 409
    # a new start ends the overdue one as planned, then starts
    new = await start(client, user, focus_type="deep_work")
    old = (await client.get(f"{URL}/{s['id']}", headers=user.headers)).json()
    assert old["auto_ended"] is True
    assert old["actual_duration_minutes"] == 25
    assert old["end_time"] == s["planned_end_time"]
    assert new["id"] != s["id"]
    assert [e["data"]["ended_by"] for e in await outbox("focus.session.ended")] == ["auto"]


async def test_a_stop_after_the_deadline_ends_it_as_planned(
    client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    user = make_user()
    s = await start(client, user)
    clock.set(ts(s["planned_end_time"]) + timedelta(hours=3))
    ended = (await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)).json()
    assert ended["actual_duration_minutes"] == 25
    assert ended["end_time"] == s["planned_end_time"]
    assert ended["auto_ended"] is True


async def test_a_stop_within_the_grace_period_counts_the_overtime(
    client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    user = make_user()
    s = await start(client, user)
    clock.set(ts(s["planned_end_time"]) + GRACE)
    ended = (await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)).json()
    assert ended["actual_duration_minutes"] == 25 + GRACE.seconds // 60
    assert ended["auto_ended"] is False


_INSERT = text(
    "INSERT INTO focus_sessions (id, user_id, focus_type, start_time, planned_end_time, "
    "duration_minutes) VALUES (:id, :u, 'pomodoro', CAST(:start AS timestamptz), "
    "CAST(:start AS timestamptz) + interval '25 min', 25)"
)


async def _cleanup(conn: Any, user_ids: list[uuid.UUID]) -> None:
    for table in ("focus_sessions", "focus_stats", "daily_focus_goals", "user_timezones"):
        await conn.execute(text(f"DELETE FROM {table} WHERE user_id = ANY(:u)"), {"u": user_ids})
    await conn.execute(
        text("DELETE FROM outbox WHERE payload->'data'->>'user_id' = ANY(:u)"),
        {"u": [str(u) for u in user_ids]},
    )


def job_context(session: AsyncSession, now: datetime) -> Context:
    """What a replica's job tick runs with (no actor, the app's settings and clock)."""
    return Context(session=session, clock=lambda: now, settings=Settings())


async def test_replicas_never_end_the_same_session_twice(database_url: str) -> None:
    """Rows another transaction holds (another replica, or a user's stop) are skipped, not
    waited for; each overdue session is ended by exactly one pass."""
    engine = create_async_engine(database_url)
    db = Database.from_engine(engine)
    held, free = uuid.uuid4(), uuid.uuid4()
    ids = {held: uuid.uuid4(), free: uuid.uuid4()}
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    now = start + timedelta(hours=1)
    try:
        async with engine.begin() as conn:
            for u, sid in ids.items():
                await conn.execute(_INSERT, {"id": sid, "u": u, "start": start})
        async with engine.connect() as other:
            await other.begin()
            await other.execute(
                text("SELECT 1 FROM focus_sessions WHERE id = :id FOR UPDATE"), {"id": ids[held]}
            )
            async with db.unit_of_work() as session:
                await asyncio.wait_for(auto_end_due(job_context(session, now)), timeout=5)
            await other.rollback()
        async with engine.connect() as conn:
            rows: dict[uuid.UUID, bool] = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT user_id, end_time IS NOT NULL FROM focus_sessions "
                            "WHERE user_id = ANY(:u)"
                        ),
                        {"u": list(ids)},
                    )
                ).all()
            )
        assert rows == {free: True, held: False}

        # two passes at once (two replicas): the held one is ended exactly once
        async def one_pass() -> int:
            async with db.unit_of_work() as session:
                return await auto_end_due(job_context(session, now))

        await asyncio.gather(one_pass(), one_pass())
        async with engine.connect() as conn:
            events = (
                (
                    await conn.execute(
                        text(
                            "SELECT payload FROM outbox WHERE type = 'focus.session.ended' "
                            "AND payload->'data'->>'user_id' = ANY(:u)"
                        ),
                        {"u": [str(u) for u in ids]},
                    )
                )
                .scalars()
                .all()
            )
        assert sorted(e["data"]["user_id"] for e in events) == sorted(str(u) for u in ids)
        for e in events:
            validate_event(e)
    finally:
        async with engine.begin() as conn:
            await _cleanup(conn, list(ids))
        await engine.dispose()


async def test_the_lifespan_runs_the_job(
    service_env: dict[str, str], signer: Any, database_url: str
) -> None:
    del service_env
    user = uuid.uuid4()
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    engine = create_async_engine(database_url)
    # no event runtime: the job is the subject. With it, the relay races the shutdown for the
    # ended event's outbox row (claimed FOR UPDATE), the row the cleanup below deletes; once in
    # CI the test hung 180 s right after the bus disconnected, the cleanup never ran, and the
    # next test of the worker read this session's event
    app = create_app(Settings(focus_auto_end_interval_seconds=0.05, events_enabled=False))
    app.state.clock = lambda: start + timedelta(minutes=10)
    try:
        async with engine.begin() as conn:
            await conn.execute(_INSERT, {"id": uuid.uuid4(), "u": user, "start": start})
        async with running(app, None, signer):

            async def ended() -> bool:
                async with engine.connect() as conn:
                    return bool(
                        await conn.scalar(
                            text(
                                "SELECT end_time IS NOT NULL FROM focus_sessions WHERE user_id = :u"
                            ),
                            {"u": user},
                        )
                    )

            await asyncio.sleep(0.2)
            assert not await ended()  # not overdue yet by the app's clock
            app.state.clock = lambda: start + timedelta(minutes=31)
            deadline = time.monotonic() + 30  # a deadline: the machine may be loaded
            while time.monotonic() < deadline:
                if await ended():
                    break
                await asyncio.sleep(0.05)
            assert await ended()
    finally:
        async with engine.begin() as conn:
            await _cleanup(conn, [user])
        await engine.dispose()
