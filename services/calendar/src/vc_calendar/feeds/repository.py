"""SQL of feed tokens."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vc_calendar.models import FeedToken


async def replace_token(session: AsyncSession, user_id: uuid.UUID, token_hash: str) -> None:
    """The user's one feed token becomes ``token_hash`` (the previous one stops working)."""
    t = cast(Table, FeedToken.__table__)
    stmt = pg_insert(t).values(user_id=user_id, token_hash=token_hash)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={"token_hash": stmt.excluded.token_hash, "created_at": func.now()},
        )
    )


async def user_of(session: AsyncSession, token_hash: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(FeedToken.user_id).where(FeedToken.token_hash == token_hash)
    )
    return found
