"""Rules of daily focus goals.

``actual_hours`` is the goal's day total (``total_focus_minutes`` of the FocusStat row with the
same ``team_id``) in hours. It is kept exact in the transaction that ends a session (see
``focus.stats.service``) and filled in when a goal is set. ``focus.goal.reached`` is emitted the
first time ``actual_hours`` meets a non-zero target, once per goal (a goal is one user, team and
day); ``reached_at`` remembers it, under the user's lock, so it is never sent twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound
from vc_common.pagination import PageParams

from focus import events
from focus.goals import repository
from focus.goals.schemas import DailyFocusGoalUpsert
from focus.models import DailyFocusGoal
from focus.stats import repository as stats_repository
from focus.users.repository import get_timezone, lock_user

_CENT = Decimal("0.01")


def hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(_CENT)


def _reached(goal: DailyFocusGoal, minutes: int) -> bool:
    return goal.target_hours > 0 and Decimal(minutes) >= goal.target_hours * 60


async def _apply_actual(goal: DailyFocusGoal, minutes: int, now: datetime) -> bool:
    """Set ``actual_hours``; True when this makes the goal reached for the first time."""
    goal.actual_hours = hours(minutes)
    if goal.reached_at is None and _reached(goal, minutes):
        goal.reached_at = now
        return True
    return False


async def refresh_actuals(
    ctx: Context,
    user_id: uuid.UUID,
    totals: dict[tuple[uuid.UUID | None, date], int],
    timezone: str,
) -> None:
    """After the day totals changed: update the goals of those days (the caller holds the
    user's lock)."""
    if not totals:
        return
    session, now = ctx.session, ctx.now()
    goals = await repository.of_days(session, user_id, {d for _, d in totals})
    reached: list[DailyFocusGoal] = []
    for goal in goals:
        minutes = totals.get((goal.team_id, goal.date))
        if minutes is not None and await _apply_actual(goal, minutes, now):
            reached.append(goal)
    await session.flush()
    for goal in reached:
        await events.goal_reached(session, goal, timezone)


async def set_goal(
    ctx: Context, day: date, body: DailyFocusGoalUpsert
) -> tuple[DailyFocusGoal, bool]:
    if body.team_id is not None:
        await ctx.authorize(body.team_id, "focus.for_team")
    session, user, now = ctx.session, ctx.user, ctx.now()
    await lock_user(session, user.id)
    goal, created = await repository.upsert(session, user.id, body.team_id, day, body.target_hours)
    minutes = await stats_repository.minutes_of(session, user.id, body.team_id, day)
    newly_reached = await _apply_actual(goal, minutes, now)
    await session.flush()
    timezone = await get_timezone(session, user.id)
    await events.goal_set(session, goal, timezone)
    if newly_reached:
        await events.goal_reached(session, goal, timezone)
    return goal, created


async def get_goal(ctx: Context, day: date, team_id: uuid.UUID | None) -> DailyFocusGoal:
    goal = await repository.get(ctx.session, ctx.user.id, team_id, day)
    if goal is None:
        raise NotFound("No focus goal for that day.")
    return goal


def check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Invalid("`from` must not be after `to`.", loc=["query", "from"])


async def list_goals(
    ctx: Context,
    params: PageParams,
    *,
    date_from: date | None,
    date_to: date | None,
    team_id: uuid.UUID | None,
) -> tuple[list[DailyFocusGoal], str | None]:
    check_range(date_from, date_to)
    return await repository.list_for_user(
        ctx.session, ctx.user.id, params, date_from=date_from, date_to=date_to, team_id=team_id
    )
