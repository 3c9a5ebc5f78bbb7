"""SQL of the ``known_users`` projection."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from teams.users.models import KnownUser


async def get(session: AsyncSession, user_id: uuid.UUID) -> KnownUser | None:
    return (
        await session.execute(select(KnownUser).where(KnownUser.id == user_id))
    ).scalar_one_or_none()


async def apply_event(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    username: str | None,
    is_active: bool | None,
    event_time: datetime,
) -> bool:
    """Upsert from an identity event unless a later event was already applied."""
    values: dict[str, object] = {
        "id": user_id,
        "event_time": event_time,
        "username": username or "",
        "is_active": True if is_active is None else is_active,
    }
    stmt = pg_insert(KnownUser).values(**values)
    updates: dict[str, object] = {"event_time": stmt.excluded.event_time, "updated_at": func.now()}
    if username:
        updates["username"] = stmt.excluded.username
    if is_active is not None:
        updates["is_active"] = stmt.excluded.is_active
    upsert = stmt.on_conflict_do_update(
        index_elements=[KnownUser.id],
        set_=updates,
        where=or_(KnownUser.event_time.is_(None), KnownUser.event_time <= stmt.excluded.event_time),
    ).returning(KnownUser.id)
    return (await session.execute(upsert)).first() is not None


async def record_lookup(session: AsyncSession, user_id: uuid.UUID, username: str) -> None:
    """A user identity vouched for just now (read-through); any event overrides it later."""
    await session.execute(
        pg_insert(KnownUser)
        .values(id=user_id, username=username, is_active=True, event_time=None)
        .on_conflict_do_nothing()
    )
