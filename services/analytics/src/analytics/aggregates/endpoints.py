"""Routes: the daily team and user analytics, and the staff-only rebuild."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page

from analytics.aggregates import service
from analytics.aggregates.schemas import (
    RebuildRead,
    RebuildRequest,
    TeamAnalyticsRead,
    UserAnalyticsRead,
)

router = APIRouter(tags=["analytics"], responses=PROBLEM_RESPONSES)

FromQuery = Annotated[
    date | None,
    Query(alias="from", description="first day, YYYY-MM-DD (default: 29 days before `to`)"),
]
ToQuery = Annotated[
    date | None, Query(description="last day, YYYY-MM-DD (default: today, UTC); ≤ 366 days")
]


@router.get(
    "/api/v1/teams/{team_id}/analytics",
    response_model=Page[TeamAnalyticsRead],
    summary="A team's daily analytics (UTC days), one row per day of the range",
)
async def get_team_analytics(
    team_id: uuid.UUID, ctx: ContextDep, from_: FromQuery = None, to: ToQuery = None
) -> Page[TeamAnalyticsRead]:
    start, end = service.check_range(from_, to)
    return Page(items=await service.team_analytics(ctx, team_id, start, end))


@router.get(
    "/api/v1/users/me/analytics",
    response_model=Page[UserAnalyticsRead],
    summary="The caller's daily analytics (local days), one row per day of the range",
)
async def get_my_analytics(
    ctx: ContextDep, from_: FromQuery = None, to: ToQuery = None
) -> Page[UserAnalyticsRead]:
    start, end = service.check_range(from_, to)
    return Page(items=await service.user_analytics(ctx, start, end))


@router.post(
    "/api/v1/admin/analytics/rebuild",
    response_model=RebuildRead,
    summary="Recompute the aggregates of a date range from the raw event log (staff only)",
)
async def rebuild_analytics(body: RebuildRequest, ctx: ContextDep) -> RebuildRead:
    start, end = service.check_range(body.from_, body.to, where="body")
    res = await service.rebuild(ctx, start, end)
    return RebuildRead(
        from_=res.start,
        to=res.end,
        events=res.events,
        team_rows=res.team_rows,
        user_rows=res.user_rows,
    )
