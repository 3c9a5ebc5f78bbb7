"""What the focus service publishes (through the outbox, in the change's transaction); schemas
in ``contracts/events/focus.*.v1.json``."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from focus.models import DailyFocusGoal, FocusSession, event_tables
from focus.timefmt import rfc3339

SOURCE = "focus"
SESSION_STARTED = "focus.session.started"
SESSION_INTERRUPTED = "focus.session.interrupted"
SESSION_ENDED = "focus.session.ended"
GOAL_SET = "focus.goal.set"
GOAL_REACHED = "focus.goal.reached"


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


def goal_data(goal: DailyFocusGoal, timezone: str) -> dict[str, Any]:
    return {
        "goal_id": str(goal.id),
        "user_id": str(goal.user_id),
        "team_id": str(goal.team_id) if goal.team_id else None,
        "date": goal.date.isoformat(),
        "target_hours": float(goal.target_hours),
        "actual_hours": float(goal.actual_hours),
        "timezone": timezone,
    }


async def goal_set(session: AsyncSession, goal: DailyFocusGoal, timezone: str) -> None:
    await add_event(
        session,
        event_tables,
        source=SOURCE,
        type=GOAL_SET,
        subject=goal.id,
        data=goal_data(goal, timezone),
    )


async def goal_reached(session: AsyncSession, goal: DailyFocusGoal, timezone: str) -> None:
    data = goal_data(goal, timezone)
    data["reached_at"] = rfc3339(goal.reached_at)
    await add_event(
        session, event_tables, source=SOURCE, type=GOAL_REACHED, subject=goal.id, data=data
    )
