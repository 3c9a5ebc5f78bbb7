"""What the sessions module publishes (through the outbox, in the change's transaction)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from focus.models import FocusSession, event_tables
from focus.timefmt import rfc3339

SOURCE = "focus"
SESSION_STARTED = "focus.session.started"
SESSION_INTERRUPTED = "focus.session.interrupted"
SESSION_ENDED = "focus.session.ended"


def session_data(
    s: FocusSession, timezone: str, minutes_by_day: dict[date, int] | None = None
) -> dict[str, Any]:
    return {
        "session_id": str(s.id),
        "user_id": str(s.user_id),
        "team_id": str(s.team_id) if s.team_id else None,
        "task_id": str(s.task_id) if s.task_id else None,
        "focus_type": s.focus_type,
        "start_time": rfc3339(s.start_time),
        "planned_end_time": rfc3339(s.planned_end_time),
        "end_time": rfc3339(s.end_time),
        "planned_minutes": s.duration_minutes,
        "actual_minutes": s.actual_duration_minutes,
        "is_completed": s.is_completed,
        "interruptions": s.interruptions,
        "minutes_by_day": {d.isoformat(): m for d, m in sorted((minutes_by_day or {}).items())},
        "timezone": timezone,
    }


async def session_started(session: AsyncSession, s: FocusSession, timezone: str) -> None:
    await add_event(
        session,
        event_tables,
        source=SOURCE,
        type=SESSION_STARTED,
        subject=s.id,
        data=session_data(s, timezone),
    )


async def session_interrupted(session: AsyncSession, s: FocusSession, timezone: str) -> None:
    await add_event(
        session,
        event_tables,
        source=SOURCE,
        type=SESSION_INTERRUPTED,
        subject=s.id,
        data=session_data(s, timezone),
    )


async def session_ended(
    session: AsyncSession, s: FocusSession, minutes_by_day: dict[date, int]
) -> None:
    assert s.timezone is not None
    assert s.actual_duration_minutes is not None
    data = session_data(s, s.timezone, minutes_by_day)
    # what a consumer attributing time to `task_id` needs (the tasks service): its minutes
    data["minutes"] = s.actual_duration_minutes
    data["ended_by"] = "auto" if s.auto_ended else "user"
    await add_event(
        session, event_tables, source=SOURCE, type=SESSION_ENDED, subject=s.id, data=data
    )
