"""Routes: the daily team and user analytics, and the staff-only rebuild."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from vc_common.auth import CurrentUser, StaffUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.membership import TeamMember
from vc_common.pagination import Page
from vc_common.uow import SessionDep

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
    team_id: uuid.UUID,
    member: TeamMember,
    session: SessionDep,
    from_: FromQuery = None,
    to: ToQuery = None,
) -> Page[TeamAnalyticsRead]:
    del member
    start, end = service.check_range(from_, to)
    return Page(items=await service.team_analytics(session, team_id, start, end))


@router.get(
    "/api/v1/users/me/analytics",
    response_model=Page[UserAnalyticsRead],
    summary="The caller's daily analytics (local days), one row per day of the range",
)
async def get_my_analytics(
    user: CurrentUser, session: SessionDep, from_: FromQuery = None, to: ToQuery = None
) -> Page[UserAnalyticsRead]:
    start, end = service.check_range(from_, to)
    return Page(items=await service.user_analytics(session, user.id, start, end))


@router.post(
    "/api/v1/admin/analytics/rebuild",
    response_model=RebuildRead,
    summary="Recompute the aggregates of a date range from the raw event log (staff only)",
)
async def rebuild_analytics(
    body: RebuildRequest, staff: StaffUser, session: SessionDep
) -> RebuildRead:
    del staff
    start, end = service.check_range(body.from_, body.to, where="body")
    res = await service.rebuild(session, start, end)
    return RebuildRead(
        from_=res.start,
        to=res.end,
        events=res.events,
        team_rows=res.team_rows,
        user_rows=res.user_rows,
    )
