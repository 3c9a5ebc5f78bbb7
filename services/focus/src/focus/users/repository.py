"""SQL for the local projection of users' timezones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.timezones import DEFAULT_TIMEZONE

from focus.models import UserTimezone


async def get_timezone(session: AsyncSession, user_id: uuid.UUID) -> str:
    tz = await session.scalar(select(UserTimezone.timezone).where(UserTimezone.user_id == user_id))
    return tz or DEFAULT_TIMEZONE


async def get_timezones(session: AsyncSession, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(UserTimezone.user_id, UserTimezone.timezone).where(
            UserTimezone.user_id.in_(user_ids)
        )
    )
    return {r.user_id: r.timezone for r in rows}


async def upsert_timezone(
    session: AsyncSession, user_id: uuid.UUID, timezone: str, source_time: datetime
) -> bool:
    """Set the user's timezone unless a newer event already did; True when it changed."""
    t = cast(Table, UserTimezone.__table__)
    stmt = (
        pg_insert(t)
        .values(user_id=user_id, timezone=timezone, source_time=source_time)
        .on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={"timezone": timezone, "source_time": source_time},
            where=t.c.source_time <= source_time,
        )
        .returning(t.c.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize the day totals of one user (stats, goals) until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"focus:user:{user_id}"},
    )
