"""All SQL of focus sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from vc_common.pagination import PageParams, paginate

from focus.models import FocusSession


def _with_days(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(selectinload(FocusSession.days))


async def get_running(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> FocusSession | None:
    stmt = _with_days(
        select(FocusSession).where(FocusSession.user_id == user_id, FocusSession.end_time.is_(None))
    )
    if for_update:
        stmt = stmt.with_for_update(of=FocusSession)
    found: FocusSession | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def get_owned(
    session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
) -> FocusSession | None:
    stmt = _with_days(
        select(FocusSession).where(FocusSession.id == session_id, FocusSession.user_id == user_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=FocusSession)
    found: FocusSession | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def get_many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[FocusSession]:
    stmt = _with_days(select(FocusSession).where(FocusSession.id.in_(ids)))
    return list((await session.execute(stmt)).scalars().all())


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    *,
    start_from: datetime | None,
    start_before: datetime | None,
    task_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> tuple[list[FocusSession], str | None]:
    stmt = _with_days(select(FocusSession).where(FocusSession.user_id == user_id))
    if start_from is not None:
        stmt = stmt.where(FocusSession.start_time >= start_from)
    if start_before is not None:
        stmt = stmt.where(FocusSession.start_time < start_before)
    if task_id is not None:
        stmt = stmt.where(FocusSession.task_id == task_id)
    if team_id is not None:
        stmt = stmt.where(FocusSession.team_id == team_id)
    rows, cursor = await paginate(
        session,
        stmt,
        params,
        keys=[FocusSession.start_time, FocusSession.id],
        descending=True,
        convert=[datetime.fromisoformat, uuid.UUID],
    )
    return rows, cursor


async def lock_overdue(session: AsyncSession, cutoff: datetime, limit: int) -> list[uuid.UUID]:
    """Running sessions whose planned end is before ``cutoff``, locked; rows another replica
    holds are skipped (FOR UPDATE SKIP LOCKED), so each is ended exactly once."""
    stmt = (
        select(FocusSession.id)
        .where(FocusSession.end_time.is_(None), FocusSession.planned_end_time < cutoff)
        .order_by(FocusSession.planned_end_time)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def running_of_users(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], planned_end_after: datetime
) -> list[FocusSession]:
    if not user_ids:
        return []
    stmt = (
        select(FocusSession)
        .where(
            FocusSession.user_id.in_(user_ids),
            FocusSession.end_time.is_(None),
            FocusSession.planned_end_time >= planned_end_after,
        )
        .order_by(FocusSession.start_time, FocusSession.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def task_team_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = (
        select(FocusSession.team_id)
        .where(FocusSession.task_id == task_id, FocusSession.team_id.is_not(None))
        .distinct()
    )
    return [t for t in (await session.execute(stmt)).scalars().all() if t is not None]


async def task_time_by_user(
    session: AsyncSession, task_id: uuid.UUID, team_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, int, int]]:
    """(user_id, minutes, sessions) of the ended sessions for the task in those teams."""
    if not team_ids:
        return []
    stmt = (
        select(
            FocusSession.user_id,
            func.coalesce(func.sum(FocusSession.actual_duration_minutes), 0),
            func.count(),
        )
        .where(
            FocusSession.task_id == task_id,
            FocusSession.team_id.in_(team_ids),
            FocusSession.end_time.is_not(None),
        )
        .group_by(FocusSession.user_id)
        .order_by(FocusSession.user_id)
    )
    return [(r[0], int(r[1] or 0), int(r[2])) for r in (await session.execute(stmt)).all()]
