"""All SQL of daily focus goals."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from focus.models import DailyFocusGoal


def _team_is(team_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    return (
        DailyFocusGoal.team_id.is_(None) if team_id is None else DailyFocusGoal.team_id == team_id
    )


async def get(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_id: uuid.UUID | None,
    day: date,
    *,
    for_update: bool = False,
) -> DailyFocusGoal | None:
    stmt = select(DailyFocusGoal).where(
        DailyFocusGoal.user_id == user_id, DailyFocusGoal.date == day, _team_is(team_id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_id: uuid.UUID | None,
    day: date,
    target_hours: Decimal,
) -> tuple[DailyFocusGoal, bool]:
    """Insert or update the goal; returns it (fresh from the database) and whether it is new."""
    t = cast(Table, DailyFocusGoal.__table__)
    new_id = uuid7()
    insert = pg_insert(t).values(
        id=new_id, user_id=user_id, team_id=team_id, date=day, target_hours=target_hours
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[t.c.user_id, t.c.team_id, t.c.date],
        set_={"target_hours": target_hours, "updated_at": func.now()},
    ).returning(t.c.id)
    goal_id = (await session.execute(stmt)).scalar_one()
    goal = (
        await session.execute(
            select(DailyFocusGoal)
            .where(DailyFocusGoal.id == goal_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return goal, goal_id == new_id


async def of_days(
    session: AsyncSession, user_id: uuid.UUID, dates: Collection[date]
) -> list[DailyFocusGoal]:
    stmt = (
        select(DailyFocusGoal)
        .where(DailyFocusGoal.user_id == user_id, DailyFocusGoal.date.in_(dates))
        .order_by(DailyFocusGoal.date, DailyFocusGoal.id)
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars().all())


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    *,
    date_from: date | None,
    date_to: date | None,
    team_id: uuid.UUID | None,
) -> tuple[list[DailyFocusGoal], str | None]:
    stmt = select(DailyFocusGoal).where(DailyFocusGoal.user_id == user_id)
    if team_id is not None:
        stmt = stmt.where(DailyFocusGoal.team_id == team_id)
    if date_from is not None:
        stmt = stmt.where(DailyFocusGoal.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(DailyFocusGoal.date <= date_to)
    return await paginate(
        session,
        stmt,
        params,
        keys=[DailyFocusGoal.date, DailyFocusGoal.id],
        convert=[date.fromisoformat, uuid.UUID],
    )
