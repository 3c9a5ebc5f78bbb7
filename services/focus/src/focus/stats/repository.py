"""All SQL of the daily FocusStat rows."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from focus.models import FocusSession, FocusSessionDay, FocusStat


@dataclass(frozen=True)
class DayTotals:
    total_focus_minutes: int = 0
    completed_sessions: int = 0
    avg_session_duration: Decimal = Decimal("0.00")
    interruptions: int = 0


async def day_totals(
    session: AsyncSession, user_id: uuid.UUID, team_id: uuid.UUID | None, dates: Collection[date]
) -> dict[date, DayTotals]:
    """Totals of ``dates`` computed from the user's ended sessions (all, or one team's).

    Minutes come from each session's local-day split; the per-session counters (completed,
    average length, interruptions) count on the local day the session ended.
    """
    minutes_q = (
        select(FocusSessionDay.date, func.sum(FocusSessionDay.minutes))
        .where(FocusSessionDay.user_id == user_id, FocusSessionDay.date.in_(dates))
        .group_by(FocusSessionDay.date)
    )
    ended_q: Select[tuple[date | None, int, Decimal | None, int | None]] = (
        select(
            FocusSession.end_date,
            func.count().filter(FocusSession.is_completed),
            func.avg(FocusSession.actual_duration_minutes),
            func.sum(FocusSession.interruptions),
        )
        .where(
            FocusSession.user_id == user_id,
            FocusSession.end_date.in_(dates),
            FocusSession.end_time.is_not(None),
        )
        .group_by(FocusSession.end_date)
    )
    if team_id is not None:
        minutes_q = minutes_q.where(FocusSessionDay.team_id == team_id)
        ended_q = ended_q.where(FocusSession.team_id == team_id)
    minutes = {d: int(m) for d, m in (await session.execute(minutes_q)).all()}
    ended: dict[date | None, Any] = {r.end_date: r for r in (await session.execute(ended_q)).all()}
    out: dict[date, DayTotals] = {}
    for d in dates:
        e = ended.get(d)
        out[d] = DayTotals(
            total_focus_minutes=minutes.get(d, 0),
            completed_sessions=int(e[1]) if e else 0,
            avg_session_duration=(
                Decimal(e[2]).quantize(Decimal("0.01"))
                if e and e[2] is not None
                else Decimal("0.00")
            ),
            interruptions=int(e[3] or 0) if e else 0,
        )
    return out


async def upsert(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_id: uuid.UUID | None,
    day: date,
    totals: DayTotals,
) -> None:
    t = cast(Table, FocusStat.__table__)
    values = {
        "total_focus_minutes": totals.total_focus_minutes,
        "completed_sessions": totals.completed_sessions,
        "avg_session_duration": totals.avg_session_duration,
        "interruptions": totals.interruptions,
    }
    stmt = pg_insert(t).values(id=uuid7(), user_id=user_id, team_id=team_id, date=day, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.user_id, t.c.team_id, t.c.date],
        set_={**values, "updated_at": func.now()},
    )
    await session.execute(stmt)


async def minutes_of(
    session: AsyncSession, user_id: uuid.UUID, team_id: uuid.UUID | None, day: date
) -> int:
    stmt = select(FocusStat.total_focus_minutes).where(
        FocusStat.user_id == user_id,
        FocusStat.date == day,
        FocusStat.team_id.is_(None) if team_id is None else FocusStat.team_id == team_id,
    )
    return int(await session.scalar(stmt) or 0)


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    *,
    date_from: date | None,
    date_to: date | None,
    team_id: uuid.UUID | None,
) -> tuple[list[FocusStat], str | None]:
    stmt = select(FocusStat).where(
        FocusStat.user_id == user_id,
        FocusStat.team_id.is_(None) if team_id is None else FocusStat.team_id == team_id,
    )
    if date_from is not None:
        stmt = stmt.where(FocusStat.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(FocusStat.date <= date_to)
    return await paginate(
        session,
        stmt,
        params,
        keys=[FocusStat.date, FocusStat.id],
        convert=[date.fromisoformat, uuid.UUID],
    )
