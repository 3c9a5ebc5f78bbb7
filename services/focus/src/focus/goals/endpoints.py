from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from focus.goals import service
from focus.goals.schemas import DailyFocusGoalRead, DailyFocusGoalUpsert
from focus.models import DailyFocusGoal

router = APIRouter(prefix="/api/v1/focus", tags=["focus"], responses=PROBLEM_RESPONSES)


def to_read(goal: DailyFocusGoal) -> DailyFocusGoalRead:
    return DailyFocusGoalRead(
        id=goal.id,
        user_id=goal.user_id,
        team_id=goal.team_id,
        date=goal.date,
        target_hours=float(goal.target_hours),
        actual_hours=float(goal.actual_hours),
        reached_at=goal.reached_at,
        created_at=goal.created_at,
        updated_at=goal.updated_at,
    )


def _location(goal: DailyFocusGoal) -> str:
    loc = f"/api/v1/focus/goals/{goal.date.isoformat()}"
    return f"{loc}?team_id={goal.team_id}" if goal.team_id else loc


@router.put(
    "/goals/{date}", responses={201: {"model": DailyFocusGoalRead, "description": "Created"}}
)
async def set_focus_goal(
    date: date, body: DailyFocusGoalUpsert, response: Response, ctx: ContextDep
) -> DailyFocusGoalRead:
    """Set the caller's focus goal of a local day (one per day, and per team): 201 when it is
    new, 200 when it replaced the target."""
    goal, created = await service.set_goal(ctx, date, body)
    if created:
        response.status_code = 201
        response.headers["Location"] = _location(goal)
    return to_read(goal)


@router.get("/goals/{date}")
async def get_focus_goal(
    date: date, ctx: ContextDep, team_id: uuid.UUID | None = None
) -> DailyFocusGoalRead:
    return to_read(await service.get_goal(ctx, date, team_id))


@router.get("/goals")
async def list_focus_goals(
    ctx: ContextDep,
    page: PageDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    team_id: uuid.UUID | None = None,
) -> Page[DailyFocusGoalRead]:
    """The caller's goals from `from` to `to` (local days, inclusive), oldest first."""
    rows, cursor = await service.list_goals(
        ctx, page, date_from=date_from, date_to=date_to, team_id=team_id
    )
    return Page(items=[to_read(g) for g in rows], next_cursor=cursor)
