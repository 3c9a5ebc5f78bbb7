"""Focus-aware delivery: while the user focuses (or in their quiet hours) info and success
notifications wait, and when the hold ends they arrive as they were plus one digest; warnings,
errors and what starts within 15 minutes go through at once. Holds live in the database and are
released by a job that two replicas may run at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from notifications.app import create_app
from notifications.models import Hold, Notification
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from teams_client.testing import member_added
from vc_common.db import Database
from vc_common.jobs import run_job
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import Deliver, MovableClock, ReadOutbox, running

from .conftest import Inbox, Person, focus_session, task_assigned, ts

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]
DELIVERED = "notifications.notification.delivered"


async def _mention(deliver: Deliver, team: uuid.UUID, author: Person, *names: str) -> None:
    await deliver(
        "chat.message.posted",
        {
            "message_id": str(uuid.uuid4()),
            "room_id": str(uuid.uuid4()),
            "team_id": str(team),
            "user_id": str(author.id),
            "timestamp": "2026-11-24T09:00:00Z",
            "mentions": list(names),
        },
    )


async def test_what_arrives_while_you_focus_waits_for_the_session_to_stop_then_one_digest(
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    me, alice = await person(), await person(username="alice_h1")
    team = uuid.uuid4()
    await deliver(member_added(team, me.id, seq=1))
    await deliver(member_added(team, alice.id, seq=2))
    session = uuid.uuid4()
    start = clock.now
    await deliver("focus.session.started", focus_session(me.id, start, 25, session_id=session))

    for i in range(3):
        clock.advance(minutes=2)
        await deliver("tasks.task.assigned", task_assigned(me.id, alice.id, title=f"t{i}"))
    for _ in range(2):
        clock.advance(minutes=2)
        await _mention(deliver, team, alice, me.username)
    box = inbox(me)
    assert await box.items() == []
    assert await box.unread() == 0
    assert await outbox(DELIVERED, subject=me.id) == []

    clock.advance(minutes=5)  # 09:15: stopped before its planned end
    stopped = clock.now
    await deliver(
        "focus.session.ended", focus_session(me.id, start, 25, session_id=session, ended=stopped)
    )
    items = await box.items()
    assert len(items) == 6
    digest, *held = items
    assert digest["kind"] == "digest"
    assert digest["title"] == "While you focused: 3 tasks assigned, 2 mentions"
    assert digest["notification_type"] == "info"
    assert digest["message"].splitlines()[0] == "- Task assigned: t0"
    # as they were: their own time, in their order, delivered now
    assert [n["kind"] for n in held] == ["chat.mention"] * 2 + ["task.assigned"] * 3
    assert [n["created_at"] for n in held] == [
        ts(start + timedelta(minutes=m)) for m in (10, 8, 6, 4, 2)
    ]
    assert {n["delivered_at"] for n in items} == {ts(stopped)}
    assert await box.unread() == 6

    events = await outbox(DELIVERED, subject=me.id)
    assert Counter(e["data"]["was_held"] for e in events) == {True: 5, False: 1}
    assert {e["data"]["notification_id"] for e in events} == {n["id"] for n in items}

    # the next one, after the session, comes at once and alone
    clock.advance(minutes=1)
    await deliver("tasks.task.assigned", task_assigned(me.id, alice.id, title="after"))
    assert [n["title"] for n in await box.items()][:2] == ["Task assigned: after", digest["title"]]


async def test_warnings_and_what_starts_soon_go_through_a_focus_session(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    me = await person()
    await deliver("focus.session.started", focus_session(me.id, clock.now, 90))

    async def reminder(starts_in: timedelta) -> None:
        start = clock.now + starts_in
        await deliver(
            "calendar.reminder.due",
            {
                "event_id": str(uuid.uuid4()),
                "occurrence_start": ts(start),
                "reminder_type": "notification",
                "recipient_ids": [str(me.id)],
                "title": f"in {starts_in}",
                "start_time": ts(start),
                "team_id": None,
            },
        )

    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), priority="urgent"))
    await reminder(timedelta(minutes=10))
    await reminder(timedelta(minutes=15))
    await reminder(timedelta(minutes=16))  # not soon: waits
    await reminder(timedelta(days=1))  # waits
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))  # info: waits
    got = await inbox(me).items()
    assert [(n["kind"], n["title"]) for n in got] == [
        ("calendar.reminder", "Reminder: in 0:15:00"),
        ("calendar.reminder", "Reminder: in 0:10:00"),
        ("task.assigned", "Task assigned: Write the launch post"),
    ]
    assert got[-1]["notification_type"] == "warning"
    assert got[1]["message"] == "“in 0:10:00” starts in 10 minutes (2026-11-24 09:10 UTC)."


async def test_a_session_that_never_reports_its_end_releases_at_planned_end_plus_grace(
    app: Any, deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    me = await person()
    start = clock.now
    await deliver("focus.session.started", focus_session(me.id, start, 25))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    clock.set(start + timedelta(minutes=25 + 5) - timedelta(seconds=1))
    assert await run_job(app, "release_holds") == 0  # not due yet
    assert await inbox(me).items() == []
    clock.set(start + timedelta(minutes=30))
    assert await run_job(app, "release_holds") == 1
    digest, held = await inbox(me).items()
    assert digest["title"] == "While you focused: 1 task assigned"
    assert held["delivered_at"] == ts(start + timedelta(minutes=30))
    assert await run_job(app, "release_holds") == 0  # released once


async def test_a_hold_survives_a_restart(
    app: Any,
    db_connection: AsyncConnection,
    signer: TestSigner,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    clock: MovableClock,
) -> None:
    me = await person()
    await deliver("focus.session.started", focus_session(me.id, clock.now, 25))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    # a new process: nothing of the first one's memory, the same database
    fresh = create_app()
    db = Database.from_engine(db_connection, join_transaction_mode="create_savepoint")
    async with running(fresh, db, signer):
        fresh.state.clock = MovableClock(clock.now + timedelta(minutes=31))
        assert await run_job(fresh, "release_holds") == 1
    assert [n["kind"] for n in await inbox(me).items()] == ["digest", "task.assigned"]
    del app


async def test_quiet_hours_in_the_users_own_timezone(
    app: Any,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    client: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    me = await person(timezone="America/New_York")  # 09:00Z is 04:00 there
    r = await client.put(
        "/api/v1/notifications/preferences",
        json={"quiet_hours": {"start": "22:00", "end": "07:00"}},
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert await inbox(me).items() == []
    async with app.state.db.sessionmaker() as session:
        hold = (await session.execute(select(Hold).where(Hold.user_id == me.id))).scalar_one()
    assert ts(hold.release_at) == "2026-11-24T12:00:00Z"  # 07:00 in New York
    assert hold.reason == "quiet_hours"
    clock.set("2026-11-24T11:59:59Z")
    assert await run_job(app, "release_holds") == 0
    clock.set("2026-11-24T12:00:00Z")
    assert await run_job(app, "release_holds") == 1
    digest, _ = await inbox(me).items()
    assert digest["title"] == "During your quiet hours: 1 task assigned"


async def test_a_session_that_ends_in_quiet_hours_releases_when_they_end(
    app: Any,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    client: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    me = await person()
    await client.put(
        "/api/v1/notifications/preferences",
        json={"quiet_hours": {"start": "09:20", "end": "10:00"}},
        headers=me.headers,
    )
    session, start = uuid.uuid4(), clock.now
    await deliver("focus.session.started", focus_session(me.id, start, 25, session_id=session))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    clock.set("2026-11-24T09:25:00Z")
    await deliver(
        "focus.session.ended",
        focus_session(me.id, start, 25, session_id=session, ended=clock.now),
    )
    assert await inbox(me).items() == []  # quiet hours now
    clock.set("2026-11-24T10:00:00Z")
    assert await run_job(app, "release_holds") == 1
    digest, _ = await inbox(me).items()
    assert digest["title"] == "While you focused: 1 task assigned"


async def test_defer_during_focus_off_delivers_at_once_and_turning_it_off_releases(
    app: Any,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    client: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    me = await person()
    await deliver("focus.session.started", focus_session(me.id, clock.now, 90))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), title="held"))
    assert await inbox(me).items() == []
    r = await client.put(
        "/api/v1/notifications/preferences",
        json={"defer_during_focus": False},
        headers=me.headers,
    )
    assert r.status_code == 200
    assert await run_job(app, "release_holds") == 1  # judged again at once
    assert [n["kind"] for n in await inbox(me).items()] == ["digest", "task.assigned"]
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), title="now"))
    assert (await inbox(me).items())[0]["title"] == "Task assigned: now"


async def test_a_late_started_after_ended_does_not_start_a_hold(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    me = await person()
    session, start = uuid.uuid4(), clock.now
    ended = focus_session(me.id, start, 25, session_id=session, ended=start + timedelta(minutes=3))
    await deliver("focus.session.ended", ended)
    await deliver("focus.session.started", focus_session(me.id, start, 25, session_id=session))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert len(await inbox(me).items()) == 1


async def test_two_replicas_release_every_hold_once(
    live_app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock
) -> None:
    """Two schedulers racing over the same due holds (real commits, two connections): every
    user is released by exactly one of them, with one digest."""
    live_app.state.settings = live_app.state.settings.model_copy(
        update={"notifications_release_batch": 3}
    )
    people = [await person() for _ in range(10)]
    for p in people:
        await deliver("focus.session.started", focus_session(p.id, clock.now, 25))
        for _ in range(2):  # joining teams: no mail by default, nothing left for other tests
            added = member_added(uuid.uuid4(), p.id, seq=1)
            added.data.update(user_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()))
            await deliver(added)
    clock.advance(minutes=31)

    async def scheduler() -> int:
        total = 0
        while (n := await run_job(live_app, "release_holds")) > 0:
            total += n
        return total

    a, b = await asyncio.gather(scheduler(), scheduler())
    assert a + b == len(people)
    assert a > 0
    assert b > 0
    ids = [p.id for p in people]
    async with live_app.state.db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    Notification.recipient_id, Notification.kind, Notification.delivered_at
                ).where(Notification.recipient_id.in_(ids))
            )
        ).all()
        left = (await session.execute(select(Hold).where(Hold.user_id.in_(ids)))).all()
    assert left == []
    assert all(r.delivered_at is not None for r in rows)
    per_user = Counter((r.recipient_id, r.kind) for r in rows)
    assert all(
        per_user[(u, "digest")] == 1 and per_user[(u, "team.member_added")] == 2 for u in ids
    )
