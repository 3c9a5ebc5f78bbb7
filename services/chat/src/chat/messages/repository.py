"""All SQL about messages and the room's change log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Insert, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Message, Room, RoomEvent


async def get(
    session: AsyncSession, message_id: uuid.UUID, *, lock: bool = False
) -> Message | None:
    stmt = select(Message).where(Message.id == message_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def seq_of(session: AsyncSession, room_id: uuid.UUID, message_id: uuid.UUID) -> int | None:
    return (
        await session.execute(
            select(Message.seq).where(Message.room_id == room_id, Message.id == message_id)
        )
    ).scalar_one_or_none()


async def history(
    session: AsyncSession, room_id: uuid.UUID, *, before_seq: int | None, limit: int
) -> list[Message]:
    stmt = select(Message).where(Message.room_id == room_id)
    if before_seq is not None:
        stmt = stmt.where(Message.seq < before_seq)
    stmt = stmt.order_by(Message.seq.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


def append(message: Message, kind: str) -> Insert:
    """One statement that takes the room's next ``seq`` (``UPDATE rooms SET last_seq =
    last_seq + 1``: its row lock is held until commit, see ``chat.models``), inserts ``message``
    with it and logs the change, ``RETURNING`` the ``seq``; no row: no room (deleted meanwhile),
    nothing written. Python-side column defaults do not run inside a CTE: every value is given.
    (Executed by ``chat.events.message_posted`` with the event in the same statement.)"""
    taken = (
        update(Room)
        .where(Room.id == message.room_id)
        .values(last_seq=Room.last_seq + 1, updated_at=message.timestamp)
        .returning(Room.last_seq.label("seq"))
        .cte("taken")
    )
    written = (
        insert(Message)
        .from_select(
            ["id", "room_id", "team_id", "user_id", "content", "timestamp", "seq"],
            select(
                literal(message.id, Message.id.type),
                literal(message.room_id, Message.room_id.type),
                literal(message.team_id, Message.team_id.type),
                literal(message.user_id, Message.user_id.type),
                literal(message.content, Message.content.type),
                literal(message.timestamp, Message.timestamp.type),
                taken.c.seq,
            ),
        )
        .returning(Message.seq)
        .cte("written")
    )
    return (
        insert(RoomEvent)
        .from_select(
            ["room_id", "seq", "kind", "message_id", "created_at"],
            select(
                literal(message.room_id, RoomEvent.room_id.type),
                written.c.seq,
                literal(kind, RoomEvent.kind.type),
                literal(message.id, RoomEvent.message_id.type),
                literal(message.timestamp, RoomEvent.created_at.type),
            ),
        )
        .returning(RoomEvent.seq)
        .add_cte(taken, written)
    )


def log_change(
    session: AsyncSession, room_id: uuid.UUID, seq: int, kind: str, message_id: uuid.UUID
) -> None:
    session.add(RoomEvent(room_id=room_id, seq=seq, kind=kind, message_id=message_id))


async def changes_between(
    session: AsyncSession, room_id: uuid.UUID, after_seq: int, up_to: int | None, limit: int
) -> list[tuple[int, str, Any]]:
    """The room's changes with ``after_seq < seq <= up_to``, in order, each with the message as
    it is now (one query)."""
    stmt = (
        select(RoomEvent.seq, RoomEvent.kind, Message)
        .join(Message, Message.id == RoomEvent.message_id)
        .where(RoomEvent.room_id == room_id, RoomEvent.seq > after_seq)
    )
    if up_to is not None:
        stmt = stmt.where(RoomEvent.seq <= up_to)
    rows = await session.execute(stmt.order_by(RoomEvent.seq).limit(limit))
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]
