"""All SQL about the team's labels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from tasks.models import Label


async def get(session: AsyncSession, label_id: uuid.UUID) -> Label | None:
    return await session.get(Label, label_id)


async def by_name(session: AsyncSession, team_id: uuid.UUID, name: str) -> Label | None:
    return (
        await session.execute(select(Label).where(Label.team_id == team_id, Label.name == name))
    ).scalar_one_or_none()


async def page_of_team(
    session: AsyncSession, team_id: uuid.UUID, params: PageParams
) -> tuple[list[Label], str | None]:
    """The team's labels, by name."""
    return await paginate(
        session,
        select(Label).where(Label.team_id == team_id),
        params,
        keys=[Label.name, Label.id],
        convert=[str, uuid.UUID],
    )


async def many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Label]:
    if not ids:
        return []
    return list((await session.execute(select(Label).where(Label.id.in_(ids)))).scalars())


async def delete_of_team(session: AsyncSession, team_id: uuid.UUID) -> int:
    result = await session.execute(delete(Label).where(Label.team_id == team_id))
    return int(getattr(result, "rowcount", 0) or 0)
