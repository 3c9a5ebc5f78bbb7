from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks.models import Label


async def get(session: AsyncSession, label_id: uuid.UUID) -> Label | None:
    return await session.get(Label, label_id)


async def by_name(session: AsyncSession, team_id: uuid.UUID, name: str) -> Label | None:
    return (
        await session.execute(select(Label).where(Label.team_id == team_id, Label.name == name))
    ).scalar_one_or_none()


async def of_team(session: AsyncSession, team_id: uuid.UUID) -> list[Label]:
    return list(
        (
            await session.execute(
                select(Label).where(Label.team_id == team_id).order_by(Label.name, Label.id)
            )
        ).scalars()
    )


async def many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Label]:
    if not ids:
        return []
    return list((await session.execute(select(Label).where(Label.id.in_(ids)))).scalars())
