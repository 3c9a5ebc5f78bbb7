"""All SQL of preferences."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Hold, KnownUser, Preference


async def get(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False
) -> Preference | None:
    stmt = select(Preference).where(Preference.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def timezone_of(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return (
        await session.execute(select(KnownUser.timezone).where(KnownUser.user_id == user_id))
    ).scalar_one_or_none()


async def upsert(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    channels: dict[str, Any],
    defer_during_focus: bool,
    quiet_start: time | None,
    quiet_end: time | None,
    now: datetime,
) -> None:
    values = {
        "channels": channels,
        "defer_during_focus": defer_during_focus,
        "quiet_hours_start": quiet_start,
        "quiet_hours_end": quiet_end,
        "updated_at": now,
    }
    stmt = pg_insert(Preference).values(user_id=user_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[Preference.user_id], set_=values)
    )


async def rejudge_hold(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """The release job looks at the user's hold at once (the rules that made it changed)."""
    await session.execute(
        update(Hold)
        .where(Hold.user_id == user_id)
        .values(release_at=func.least(Hold.release_at, now))
    )
