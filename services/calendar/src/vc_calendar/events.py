"""What calendar publishes: each event through the outbox, in the transaction of its change.
Every type has a JSON Schema in contracts/events/<type>.v1.json.

- ``calendar.event.created`` / ``.updated`` / ``.cancelled`` (subject: the event id): the event
  as it is (``.cancelled``: as it was), with its ``attendee_ids``; ``.updated`` says which fields
  changed (``changed_fields``) and, when one occurrence was dropped, its ``occurrence_start``.
- ``calendar.reminder.due`` (subject: the event id): one per reminder and occurrence, written by
  the scheduler (:func:`reminders_due`, several at once in one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event
from vc_common.telemetry import current_traceparent

from vc_calendar.models import CalendarEvent, event_tables
from vc_calendar.recurrence import rfc3339

SOURCE = "calendar"

_INSERT_DUE = text(
    "INSERT INTO outbox (id, type, subject, payload) "
    "SELECT i.id, :type, i.subject, CAST(i.payload AS jsonb) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS text[]), CAST(:payloads AS text[])) "
    "WITH ORDINALITY AS i(id, subject, payload, n) ORDER BY i.n"
)

EVENT_CREATED = "calendar.event.created"
EVENT_UPDATED = "calendar.event.updated"
EVENT_CANCELLED = "calendar.event.cancelled"
REMINDER_DUE = "calendar.reminder.due"


async def publish(ctx: Context, type_: str, subject: uuid.UUID | str, data: dict[str, Any]) -> None:
    await add_event(
        ctx.session, event_tables, source=SOURCE, type=type_, subject=subject, data=data
    )


def event_data(
    ev: CalendarEvent,
    attendee_ids: Sequence[uuid.UUID],
    exdates: Sequence[datetime],
    actor: uuid.UUID | None,
) -> dict[str, Any]:
    return {
        "event_id": str(ev.id),
        "team_id": str(ev.team_id) if ev.team_id else None,
        "user_id": str(actor) if actor else None,
        "created_by_id": str(ev.created_by_id),
        "title": ev.title,
        "description": ev.description,
        "event_type": ev.event_type,
        "start_time": rfc3339(ev.start_time),
        "end_time": rfc3339(ev.end_time),
        "is_all_day": ev.is_all_day,
        "location": ev.location,
        "timezone": ev.timezone,
        "recurrence": ev.recurrence,
        "exdates": [rfc3339(d) for d in sorted(exdates)],
        "attendee_ids": [str(u) for u in attendee_ids],
        "sequence": ev.sequence,
    }


async def event_created(
    ctx: Context, ev: CalendarEvent, attendee_ids: Sequence[uuid.UUID], actor: uuid.UUID
) -> None:
    await publish(ctx, EVENT_CREATED, ev.id, event_data(ev, attendee_ids, [], actor))


async def event_updated(
    ctx: Context,
    ev: CalendarEvent,
    attendee_ids: Sequence[uuid.UUID],
    exdates: Sequence[datetime],
    actor: uuid.UUID,
    changed: Sequence[str],
    *,
    occurrence_start: datetime | None = None,
    previous_attendee_ids: Sequence[uuid.UUID] | None = None,
) -> None:
    data = event_data(ev, attendee_ids, exdates, actor)
    data["changed_fields"] = list(changed)
    if occurrence_start is not None:
        data["occurrence_start"] = rfc3339(occurrence_start)
    if previous_attendee_ids is not None:
        data["previous_attendee_ids"] = [str(u) for u in previous_attendee_ids]
    await publish(ctx, EVENT_UPDATED, ev.id, data)


async def event_cancelled(
    ctx: Context,
    ev: CalendarEvent,
    attendee_ids: Sequence[uuid.UUID],
    exdates: Sequence[datetime],
    actor: uuid.UUID,
) -> None:
    data = event_data(ev, attendee_ids, exdates, actor)
    data["cancelled_at"] = rfc3339(ctx.now())
    await publish(ctx, EVENT_CANCELLED, ev.id, data)


async def reminders_due(session: AsyncSession, items: Sequence[dict[str, Any]]) -> int:
    """``calendar.reminder.due`` for each item (its ``data``), in one outbox insert: the
    scheduler fires hundreds per tick, and one statement keeps a tick short. Same rows as
    :func:`vc_common.events.outbox.add_event` writes (and the same wake-up of the relay)."""
    if not items:
        return 0
    traceparent = current_traceparent()
    ids, subjects, payloads = [], [], []
    for data in items:
        event = CloudEvent(
            source=SOURCE,
            type=REMINDER_DUE,
            subject=str(data["event_id"]),
            data=data,
            traceparent=traceparent,
        )
        ids.append(event.id)
        subjects.append(event.subject)
        payloads.append(orjson.dumps(event.to_dict()).decode())
    # one statement text whatever the count (compiled and prepared once), rows in array order
    await session.execute(
        _INSERT_DUE,
        {"ids": ids, "type": REMINDER_DUE, "subjects": subjects, "payloads": payloads},
    )
    await session.execute(select(func.pg_notify(f"outbox_{SOURCE}", "")))
    rows = ids
    return len(rows)
