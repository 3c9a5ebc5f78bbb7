from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from focus.models import FocusStat
from focus.stats import service
from focus.stats.schemas import FocusStatRead

router = APIRouter(prefix="/api/v1/focus", tags=["focus"], responses=PROBLEM_RESPONSES)


def to_read(stat: FocusStat) -> FocusStatRead:
    return FocusStatRead(
        id=stat.id,
        user_id=stat.user_id,
        team_id=stat.team_id,
        date=stat.date,
        total_focus_minutes=stat.total_focus_minutes,
        completed_sessions=stat.completed_sessions,
        avg_session_duration=float(stat.avg_session_duration),
        interruptions=stat.interruptions,
        created_at=stat.created_at,
        updated_at=stat.updated_at,
    )


@router.get("/stats")
async def list_focus_stats(
    ctx: ContextDep,
    page: PageDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    team_id: Annotated[
        uuid.UUID | None,
        Query(description="Only sessions for this team; without it, all the caller's focus"),
    ] = None,
) -> Page[FocusStatRead]:
    """Daily FocusStat rows of the caller (local days with ended sessions), oldest first."""
    rows, cursor = await service.list_stats(
        ctx, page, date_from=date_from, date_to=date_to, team_id=team_id
    )
    return Page(items=[to_read(s) for s in rows], next_cursor=cursor)
