"""All SQL about rooms."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Room


async def get(session: AsyncSession, room_id: uuid.UUID, *, lock: bool = False) -> Room | None:
    stmt = select(Room).where(Room.id == room_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def name_taken(
    session: AsyncSession, team_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> bool:
    stmt = select(Room.id).where(Room.team_id == team_id, func.lower(Room.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Room.id != exclude)
    return (await session.execute(stmt.limit(1))).first() is not None


def list_stmt(team_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return select(Room).where(Room.team_id == team_id)


async def next_seq(session: AsyncSession, room_id: uuid.UUID) -> int | None:
    """Take the room's next change number. The row lock this takes is held until commit, so the
    room's changes commit in ``seq`` order and committed seqs have no holes. ``None``: no room."""
    return (
        await session.execute(
            update(Room)
            .where(Room.id == room_id)
            .values(last_seq=Room.last_seq + 1)
            .returning(Room.last_seq)
        )
    ).scalar_one_or_none()


async def last_seq(session: AsyncSession, room_id: uuid.UUID) -> int | None:
    return (
        await session.execute(select(Room.last_seq).where(Room.id == room_id))
    ).scalar_one_or_none()


async def team_rooms(session: AsyncSession, team_id: uuid.UUID) -> list[Room]:
    return list((await session.execute(select(Room).where(Room.team_id == team_id))).scalars())


async def delete_room(session: AsyncSession, room_id: uuid.UUID) -> None:
    await session.execute(delete(Room).where(Room.id == room_id))
