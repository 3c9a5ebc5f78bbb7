"""What the goals module publishes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from focus.models import DailyFocusGoal, event_tables
from focus.timefmt import rfc3339

SOURCE = "focus"
GOAL_SET = "focus.goal.set"
GOAL_REACHED = "focus.goal.reached"


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
