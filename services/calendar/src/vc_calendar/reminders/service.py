"""Reminders and the scheduler that fires them.

A reminder fires once per occurrence of its event, at ``start - minutes_before``, to the event's
creator and every attendee, by writing ``calendar.reminder.due`` to the outbox.

The plan: each reminder row holds the next occurrence it has not fired for and the moment to fire
(``next_occurrence_start``, ``next_fire_at``), made when the reminder is added and re-made in the
transaction of every change to the event's timing (a move, a new rule, a dropped occurrence);
cancelling the event deletes its reminders. The next occurrence is always one that has not
started yet: if its moment has passed already (an event moved to start in 10 minutes with a
30-minute reminder) it is due at once.

The scheduler (:func:`fire_due`, a ``vc_common.jobs.Job``) claims due rows with ``FOR UPDATE SKIP
LOCKED`` and, in the same transaction, records each firing in ``reminder_deliveries`` (primary key
``(reminder, occurrence)``: a second firing is impossible even if two plans disagreed), writes
the events to the outbox, and moves each plan to the following occurrence. Two replicas never
claim the same row; a crash at any line rolls the whole tick back, leaving the rows to be claimed
again and nothing published for them. After downtime the rows whose moment passed are simply due:
each fires once, if its occurrence has not started yet (one that has is skipped, never fired
late), and a series' plan then moves to its next occurrence that has not started.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vc_common.context import Context
from vc_common.errors import NotFound

from vc_calendar import events
from vc_calendar.calendar_events import repository as event_repo
from vc_calendar.models import CalendarEvent, Reminder
from vc_calendar.recurrence import Series, rfc3339
from vc_calendar.reminders import repository as repo
from vc_calendar.reminders.schemas import ReminderCreate

REMINDER_NOT_FOUND = "Reminder not found."
EVENT_NOT_FOUND = "Event not found."


@dataclass(slots=True)
class ReminderView:
    reminder: Reminder
    sent_occurrences: list[datetime]


def _series(ev: Any, exdates: Sequence[datetime]) -> Series:
    return Series(ev.start_time, ev.end_time, ev.timezone, ev.recurrence, frozenset(exdates))


def plan(
    series: Series, minutes_before: int, now: datetime, fired: Collection[datetime] = ()
) -> tuple[datetime | None, datetime | None]:
    """The next occurrence that has not started and was not fired for, and when to fire."""
    occ = series.next_after(now, skip=fired)
    if occ is None:
        return None, None
    return occ.start, occ.start - timedelta(minutes=minutes_before)


async def _event(ctx: Context, event_id: uuid.UUID, action: str) -> CalendarEvent:
    ev = await event_repo.get(ctx.session, event_id)
    if ev is None:
        raise NotFound(EVENT_NOT_FOUND)
    await ctx.authorize(
        ev.team_id, "event.read", author_id=ev.created_by_id, not_found=EVENT_NOT_FOUND
    )
    if action != "event.read":
        await ctx.authorize(
            ev.team_id, action, author_id=ev.created_by_id, not_found=EVENT_NOT_FOUND
        )
    return ev


async def add_reminder(ctx: Context, event_id: uuid.UUID, data: ReminderCreate) -> ReminderView:
    session = ctx.session
    ev = await _event(ctx, event_id, "event.edit")
    exdates = await event_repo.exdates_of(session, ev.id)
    next_start, next_fire = plan(_series(ev, exdates), data.minutes_before, ctx.now())
    reminder = Reminder(
        event_id=ev.id,
        reminder_type=data.reminder_type,
        minutes_before=data.minutes_before,
        sent=False,
        created_by_id=ctx.user.id,
        next_occurrence_start=next_start,
        next_fire_at=next_fire,
    )
    session.add(reminder)
    await session.flush()
    return ReminderView(reminder, [])


async def list_reminders(ctx: Context, event_id: uuid.UUID) -> list[ReminderView]:
    ev = await _event(ctx, event_id, "event.read")
    rows = await repo.of_event(ctx.session, ev.id)
    sent = await repo.delivered(ctx.session, [r.id for r in rows])
    return [ReminderView(r, sent.get(r.id, [])[-100:]) for r in rows]


async def delete_reminder(ctx: Context, reminder_id: uuid.UUID) -> None:
    session = ctx.session
    reminder = await repo.get(session, reminder_id)
    if reminder is None:
        raise NotFound(REMINDER_NOT_FOUND)
    try:
        await _event(ctx, reminder.event_id, "event.edit")
    except NotFound:
        raise NotFound(REMINDER_NOT_FOUND) from None
    await session.delete(reminder)
    await session.flush()


async def lock_event_reminders(ctx: Context, event_id: uuid.UUID) -> list[Reminder]:
    """Lock the event's reminders (waiting for a scheduler tick that holds one)."""
    return await repo.of_event(ctx.session, event_id, lock=True)


async def replan_event(ctx: Context, ev: CalendarEvent, series: Series) -> None:
    """The event's timing changed: every reminder plans its next occurrence anew (in the
    change's transaction, after any scheduler tick holding one of them has committed)."""
    session = ctx.session
    rows = await lock_event_reminders(ctx, ev.id)
    if not rows:
        return
    now = ctx.now()
    fired = await repo.delivered(session, [r.id for r in rows], since=now)
    plans: list[dict[str, Any]] = []
    for r in rows:
        next_start, next_fire = plan(series, r.minutes_before, now, fired.get(r.id, ()))
        plans.append(
            {
                "rid": r.id,
                "next_start": next_start,
                "next_fire": next_fire,
                # fired and nothing is left (a single event's reminder fired for its time)
                "sent": next_start is None and r.id in fired,
            }
        )
    await repo.save_plans(session, plans)


# ---------------------------------------------------------------------------- the scheduler


async def fire_due(ctx: Context, *, batch: int = 500, grace_seconds: float = 60.0) -> int:
    """One tick: fire the due reminders (at most ``batch``); how many rows it handled.

    A reminder fired within ``grace_seconds`` of its moment is on time, even if its occurrence
    has just started (``minutes_before: 0`` is due exactly at the start, and a tick is never
    exactly there); one later than that (downtime) fires only if the occurrence has not started.
    """
    session = ctx.session
    now = ctx.now()
    grace = timedelta(seconds=grace_seconds)
    rows = await repo.claim_due(session, now, batch)
    if not rows:
        return 0
    found = await repo.events_by_id(session, list({r.event_id for r in rows}))
    attendees = await event_repo.attendees_by_event(session, list(found))
    exdates = await event_repo.exdates_by_event(
        session, [e.id for e in found.values() if e.recurrence]
    )
    series = {eid: _series(ev, exdates.get(eid, ())) for eid, ev in found.items()}
    deliveries: list[dict[str, Any]] = []
    payloads: dict[tuple[uuid.UUID, datetime], dict[str, Any]] = {}
    plans: list[dict[str, Any]] = []
    for r in rows:
        ev = found.get(r.event_id)
        occ_start = r.next_occurrence_start
        if ev is None or occ_start is None:  # pragma: no cover - cascades and plans prevent it
            plans.append({"rid": r.id, "next_start": None, "next_fire": None, "sent": r.sent})
            continue
        s = series[ev.id]
        fire_at = r.next_fire_at or now
        if occ_start <= now and now > fire_at + grace:
            # it started while nobody fired (downtime): never reminded late; the series' next
            # occurrence that has not started is reminded now if its moment has passed too
            occ_start, planned = plan(s, r.minutes_before, now)
            fire_at = planned or now
        fires = occ_start is not None and fire_at <= now
        if fires and occ_start is not None:
            recipients = list(dict.fromkeys([ev.created_by_id, *attendees.get(ev.id, [])]))
            occ_end = occ_start + (ev.end_time - ev.start_time)
            if ev.recurrence:
                occ = s.next_after(occ_start - timedelta(microseconds=1))
                if occ is not None and occ.start == occ_start:
                    occ_end = occ.end
            deliveries.append(
                {
                    "reminder_id": r.id,
                    "occurrence_start": occ_start,
                    "sent_at": now,
                    "event_id": ev.id,
                }
            )
            payloads[(r.id, occ_start)] = {
                "event_id": str(ev.id),
                "reminder_id": str(r.id),
                "occurrence_start": rfc3339(occ_start),
                "reminder_type": r.reminder_type,
                "minutes_before": r.minutes_before,
                "recipient_ids": [str(u) for u in recipients],
                "title": ev.title,
                "start_time": rfc3339(occ_start),
                "end_time": rfc3339(occ_end),
                "is_all_day": ev.is_all_day,
                "location": ev.location,
                "team_id": str(ev.team_id) if ev.team_id else None,
                "created_by_id": str(ev.created_by_id),
                "fire_at": rfc3339(fire_at),
                "is_recurring": ev.recurrence is not None,
            }
        if fires and occ_start is not None:
            next_start, next_fire = plan(s, r.minutes_before, max(now, occ_start), [occ_start])
        else:
            next_start, next_fire = occ_start, (fire_at if occ_start is not None else None)
        plans.append(
            {
                "rid": r.id,
                "next_start": next_start,
                "next_fire": next_fire,
                "sent": r.sent or (fires and next_start is None),
            }
        )
    new = await repo.record_deliveries(session, deliveries)
    await events.reminders_due(session, [payloads[k] for k in payloads if k in new])
    await repo.save_plans(session, plans)
    return len(rows)
