"""All SQL of reminders and their deliveries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vc_calendar.models import CalendarEvent, Reminder, ReminderDelivery


async def get(session: AsyncSession, reminder_id: uuid.UUID) -> Reminder | None:
    found: Reminder | None = await session.get(Reminder, reminder_id)
    return found


async def of_event(
    session: AsyncSession, event_id: uuid.UUID, *, lock: bool = False
) -> list[Reminder]:
    stmt = (
        select(Reminder)
        .where(Reminder.event_id == event_id)
        .order_by(Reminder.minutes_before, Reminder.id)
    )
    if lock:
        # waits for a scheduler that holds one of them: a replan sees what it fired
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def delivered(
    session: AsyncSession, reminder_ids: Sequence[uuid.UUID], *, since: datetime | None = None
) -> dict[uuid.UUID, list[datetime]]:
    out: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    if not reminder_ids:
        return out
    stmt = select(ReminderDelivery.reminder_id, ReminderDelivery.occurrence_start).where(
        ReminderDelivery.reminder_id.in_(reminder_ids)
    )
    if since is not None:
        stmt = stmt.where(ReminderDelivery.occurrence_start >= since)
    for rid, start in await session.execute(
        stmt.order_by(ReminderDelivery.reminder_id, ReminderDelivery.occurrence_start)
    ):
        out[rid].append(start)
    return out


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    """Due reminders no other scheduler holds, locked until this transaction ends (plain rows:
    a tick handles hundreds, and ORM objects would only cost)."""
    t = Reminder.__table__
    stmt = (
        select(t)
        .where(t.c.next_fire_at.is_not(None), t.c.next_fire_at <= now)
        .order_by(t.c.next_fire_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).all())


async def events_by_id(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The events' rows (plain rows, read without a lock)."""
    if not event_ids:
        return {}
    t = CalendarEvent.__table__
    rows = await session.execute(select(t).where(t.c.id.in_(list(event_ids))))
    return {e.id: e for e in rows}


# Set-based statements over arrays: one statement text whatever the batch size, so it is
# compiled and prepared once (a multi-row VALUES of n rows is a new statement for every n).
_RECORD = text(
    "INSERT INTO reminder_deliveries (reminder_id, occurrence_start, sent_at, event_id) "
    "SELECT * FROM unnest(CAST(:rids AS uuid[]), CAST(:starts AS timestamptz[]), "
    "CAST(:sent AS timestamptz[]), CAST(:events AS uuid[])) "
    "ON CONFLICT (reminder_id, occurrence_start) DO NOTHING "
    "RETURNING reminder_id, occurrence_start"
)
_PLAN = text(
    "UPDATE reminders r SET next_occurrence_start = p.next_start, next_fire_at = p.next_fire, "
    "sent = p.sent FROM unnest(CAST(:rids AS uuid[]), CAST(:starts AS timestamptz[]), "
    "CAST(:fires AS timestamptz[]), CAST(:sent AS boolean[])) "
    "AS p(rid, next_start, next_fire, sent) WHERE r.id = p.rid"
)


async def record_deliveries(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[tuple[uuid.UUID, datetime]]:
    """Insert (reminder, occurrence) rows; those that were new (the others fired before)."""
    if not rows:
        return set()
    result = await session.execute(
        _RECORD,
        {
            "rids": [r["reminder_id"] for r in rows],
            "starts": [r["occurrence_start"] for r in rows],
            "sent": [r["sent_at"] for r in rows],
            "events": [r["event_id"] for r in rows],
        },
    )
    return {(r[0], r[1]) for r in result}


async def save_plans(session: AsyncSession, plans: Sequence[dict[str, Any]]) -> None:
    """``[{"rid", "next_start", "next_fire", "sent"}]``: one statement."""
    if not plans:
        return
    await session.execute(
        _PLAN,
        {
            "rids": [p["rid"] for p in plans],
            "starts": [p["next_start"] for p in plans],
            "fires": [p["next_fire"] for p in plans],
            "sent": [bool(p["sent"]) for p in plans],
        },
    )
