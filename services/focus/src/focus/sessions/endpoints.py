from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from focus.models import FocusSession
from focus.sessions import service
from focus.sessions.schemas import (
    FocusingNow,
    FocusingNowList,
    FocusSessionCreate,
    FocusSessionRead,
    FocusSessionStop,
    TaskTime,
    UserTaskTime,
)

router = APIRouter(prefix="/api/v1", tags=["focus"], responses=PROBLEM_RESPONSES)

DateOrTime = date | datetime


def to_read(s: FocusSession) -> FocusSessionRead:
    return FocusSessionRead(
        id=s.id,
        user_id=s.user_id,
        team_id=s.team_id,
        task_id=s.task_id,
        focus_type=s.focus_type,
        start_time=s.start_time,
        planned_end_time=s.planned_end_time,
        end_time=s.end_time,
        duration_minutes=s.duration_minutes,
        actual_duration_minutes=s.actual_duration_minutes,
        is_completed=s.is_completed,
        interruptions=s.interruptions,
        notes=s.notes,
        timezone=s.timezone,
        minutes_by_day={d.date: d.minutes for d in s.days},
        auto_ended=s.auto_ended,
        created_at=s.created_at,
    )


@router.post("/focus/sessions", status_code=status.HTTP_201_CREATED)
async def start_focus_session(
    body: FocusSessionCreate, response: Response, ctx: ContextDep
) -> FocusSessionRead:
    """Start a focus session now. 409 if the caller already has a running one."""
    s = await service.start(ctx, body)
    response.headers["Location"] = f"/api/v1/focus/sessions/{s.id}"
    return to_read(s)


@router.get("/focus/sessions/current")
async def get_current_focus_session(ctx: ContextDep) -> FocusSessionRead:
    """The caller's running session, or 404."""
    return to_read(await service.current(ctx))


@router.get("/focus/sessions")
async def list_focus_sessions(
    ctx: ContextDep,
    page: PageDep,
    date_from: Annotated[
        DateOrTime | None,
        Query(
            alias="from",
            description="Started on or after this local day (YYYY-MM-DD) or instant (RFC 3339)",
        ),
    ] = None,
    date_to: Annotated[
        DateOrTime | None,
        Query(
            alias="to", description="Started on or before this local day, or before this instant"
        ),
    ] = None,
    task_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
) -> Page[FocusSessionRead]:
    """The caller's sessions, newest first."""
    rows, cursor = await service.history(
        ctx,
        page,
        start_from=date_from,
        start_to=date_to,
        task_id=task_id,
        team_id=team_id,
    )
    return Page(items=[to_read(s) for s in rows], next_cursor=cursor)


@router.get("/focus/sessions/{session_id}")
async def get_focus_session(session_id: uuid.UUID, ctx: ContextDep) -> FocusSessionRead:
    return to_read(await service.get(ctx, session_id))


@router.post("/focus/sessions/{session_id}/interrupt")
async def interrupt_focus_session(session_id: uuid.UUID, ctx: ContextDep) -> FocusSessionRead:
    """Count one interruption of a running session (409 once it has ended)."""
    return to_read(await service.interrupt(ctx, session_id))


@router.post("/focus/sessions/{session_id}/stop")
async def stop_focus_session(
    session_id: uuid.UUID, ctx: ContextDep, body: FocusSessionStop | None = None
) -> FocusSessionRead:
    """End the session now. Stopping an ended session returns it unchanged."""
    return to_read(await service.stop(ctx, session_id, body.notes if body else None))


@router.get("/teams/{team_id}/focus/now")
async def list_team_focusing_now(team_id: uuid.UUID, ctx: ContextDep) -> FocusingNowList:
    """Members of the team in a focus session right now (members only)."""
    rows = await service.focusing_now(ctx, team_id)
    return FocusingNowList(
        team_id=team_id,
        items=[
            FocusingNow(
                user_id=s.user_id,
                focus_type=s.focus_type,
                start_time=s.start_time,
                planned_end_time=s.planned_end_time,
                duration_minutes=s.duration_minutes,
                session_id=s.id if s.team_id == team_id else None,
                task_id=s.task_id if s.team_id == team_id else None,
            )
            for s in rows
        ],
    )


@router.get("/focus/tasks/{task_id}/time")
async def get_task_focus_time(
    task_id: uuid.UUID,
    ctx: ContextDep,
    team_id: Annotated[
        uuid.UUID | None,
        Query(description="The task's team; without it, the teams its sessions name"),
    ] = None,
) -> TaskTime:
    """Focus time spent on a task (ended sessions), for members of the task's team."""
    rows = await service.task_time(ctx, task_id, team_id)
    return TaskTime(
        task_id=task_id,
        total_minutes=sum(r[1] for r in rows),
        sessions=sum(r[2] for r in rows),
        by_user=[UserTaskTime(user_id=u, minutes=m, sessions=n) for u, m, n in rows],
    )
