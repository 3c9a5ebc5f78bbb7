"""SQL of the projection of users' timezones."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.timezones import DEFAULT_TIMEZONE

from vc_calendar.models import UserTimezone


async def timezone_of(session: AsyncSession, user_id: uuid.UUID) -> str:
    tz = await session.scalar(select(UserTimezone.timezone).where(UserTimezone.user_id == user_id))
    return tz or DEFAULT_TIMEZONE


async def upsert(
    session: AsyncSession, user_id: uuid.UUID, timezone: str, source_time: datetime
) -> None:
    """Set the user's timezone unless a newer event already did."""
    t = cast(Table, UserTimezone.__table__)
    stmt = pg_insert(t).values(user_id=user_id, timezone=timezone, source_time=source_time)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={"timezone": stmt.excluded.timezone, "source_time": stmt.excluded.source_time},
            where=t.c.source_time <= stmt.excluded.source_time,
        )
    )


async def forget_all(session: AsyncSession) -> None:
    await session.execute(delete(UserTimezone))
