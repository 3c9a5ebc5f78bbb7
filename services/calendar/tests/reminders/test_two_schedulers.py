"""Two replicas' schedulers racing over the same due reminders (real commits, two connection
pools): every (reminder, occurrence) is fired exactly once, and both did part of the work."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from vc_calendar.models import CalendarEvent, Reminder, ReminderDelivery, event_tables
from vc_calendar.reminders import service as reminders
from vc_common.jobs import Job, run_job
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import MovableClock, ServiceUnderTest, TestUser, running

SINGLE, SERIES = 300, 100


async def seed(app: Any, owner: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    start = now + timedelta(minutes=10)
    events: list[dict[str, Any]] = []
    rems: list[dict[str, Any]] = []
    for i in range(SINGLE + SERIES):
        eid = uuid.uuid4()
        events.append(
            {
                "id": eid,
                "title": f"race {i}",
                "start_time": start,
                "end_time": start + timedelta(minutes=30),
                "event_type": "other",
                "created_by_id": owner,
                "timezone": "Europe/Berlin",
                "recurrence": "FREQ=DAILY;COUNT=5" if i >= SINGLE else None,
                "series_end": None,
            }
        )
        rems.append(
            {
                "id": uuid.uuid4(),
                "event_id": eid,
                "reminder_type": "notification",
                "minutes_before": 15,
                "created_by_id": owner,
                "next_occurrence_start": start,
                "next_fire_at": start - timedelta(minutes=15),  # five minutes ago: all due
            }
        )
    async with app.state.db.unit_of_work() as session:
        await session.execute(insert(CalendarEvent), events)
        await session.execute(insert(Reminder), rems)
    return [uuid.UUID(str(e["id"])) for e in events]


async def test_two_racing_schedulers_fire_each_reminder_exactly_once(
    live_app: Any,
    vc_service: ServiceUnderTest,
    signer: TestSigner,
    clock: MovableClock,
    make_user: Any,
) -> None:
    owner: TestUser = make_user()
    now = clock.set(datetime(2031, 5, 5, 12, 0, tzinfo=UTC))
    event_ids = await seed(live_app, owner.id, now)
    second = vc_service.create_app()
    try:
        async with running(second, None, signer):
            second.state.clock = clock
            small = Job("race", lambda ctx: reminders.fire_due(ctx, batch=20))

            async def drain(app: Any) -> int:
                handled = 0
                while n := await run_job(app, small):
                    handled += n
                return handled

            first_share, second_share = await asyncio.gather(drain(live_app), drain(second))
        assert first_share + second_share == SINGLE + SERIES
        assert first_share > 0, (first_share, second_share)
        assert second_share > 0, (first_share, second_share)
        outbox = event_tables.outbox
        async with live_app.state.db.sessionmaker() as session:
            fired = (
                await session.execute(
                    select(
                        outbox.c.payload["data"]["reminder_id"].astext,
                        outbox.c.payload["data"]["occurrence_start"].astext,
                    )
                    .where(outbox.c.type == "calendar.reminder.due")
                    .where(outbox.c.subject.in_([str(e) for e in event_ids]))
                )
            ).all()
            deliveries = await session.scalar(
                select(func.count())
                .select_from(ReminderDelivery)
                .where(ReminderDelivery.event_id.in_(event_ids))
            )
        assert len(fired) == len(set(fired)) == SINGLE + SERIES
        assert deliveries == SINGLE + SERIES
        # the series moved on to their next occurrence; the single events are done
        async with live_app.state.db.sessionmaker() as session:
            plans = (
                await session.execute(
                    select(Reminder.sent, Reminder.next_occurrence_start).where(
                        Reminder.event_id.in_(event_ids)
                    )
                )
            ).all()
        assert sorted(plans, key=lambda p: p[1] is None) == sorted(
            [(False, now + timedelta(days=1, minutes=10))] * SERIES + [(True, None)] * SINGLE,
            key=lambda p: p[1] is None,
        )
        # a third tick (a replica waking late) finds nothing to fire
        assert await run_job(live_app, small) == 0
    finally:
        async with live_app.state.db.unit_of_work() as session:
            await session.execute(
                delete(outbox_rows()).where(
                    outbox_rows().c.subject.in_([str(e) for e in event_ids])
                )
            )
            await session.execute(delete(CalendarEvent).where(CalendarEvent.id.in_(event_ids)))


def outbox_rows() -> Any:
    return event_tables.outbox
