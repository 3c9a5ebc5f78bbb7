"""SQL the sockets need: a user's rows of the membership projection (tombstones included)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.models import membership


async def membership_rows(
    session: AsyncSession, user_id: uuid.UUID
) -> dict[uuid.UUID, tuple[bool, int]]:
    """{team: (member now, teams' membership seq)} for every team the projection knows the user
    in or out of."""
    t = membership.team_members
    rows = await session.execute(
        select(t.c.team_id, t.c.role, t.c.seq).where(t.c.user_id == user_id)
    )
    return {r[0]: (r[1] is not None, int(r[2])) for r in rows}
