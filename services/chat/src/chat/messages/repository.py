"""All SQL about messages and the room's change log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Insert,
    Select,
    String,
    Text,
    Uuid,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Message, Room, RoomEvent, event_tables


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


def _append_many() -> Select[Any]:
    """:func:`append` for N posts to one room and their N outbox events, in ONE statement (built
    once): ``UPDATE rooms SET last_seq = last_seq + N`` takes the room's lock and N seqs at once;
    the posts, given as arrays in their order, get ``base + 1 ... base + N`` in that order, then
    the N messages, their N ``room_events`` rows and their N events (in seq order, so the
    outbox's own order is the room's) are inserted, and ``pg_notify`` wakes the relay at commit.
    Returns ``(id, seq)`` per message; no row: no room (deleted meanwhile), nothing written."""
    n = bindparam("n", type_=BigInteger)
    room_id = bindparam("room_id", type_=Uuid)
    taken = (
        update(Room)
        .where(Room.id == room_id)
        .values(last_seq=Room.last_seq + n, updated_at=bindparam("updated_at"))
        .returning((Room.last_seq - n).label("base"), Room.team_id)
        .cte("taken")
    )
    posts = (
        func.unnest(
            bindparam("ids", type_=ARRAY(Uuid)),
            bindparam("user_ids", type_=ARRAY(Uuid)),
            bindparam("contents", type_=ARRAY(Text)),
            bindparam("timestamps", type_=ARRAY(DateTime(timezone=True))),
            bindparam("event_ids", type_=ARRAY(Uuid)),
            bindparam("payloads", type_=ARRAY(Text)),
        )
        .table_valued(
            column("id", Uuid),
            column("user_id", Uuid),
            column("content", Text),
            column("ts", DateTime(timezone=True)),
            column("event_id", Uuid),
            column("payload", Text),
            with_ordinality="ord",
        )
        .render_derived(name="posts")
    )
    batch = (
        select(
            posts.c.id,
            posts.c.user_id,
            posts.c.content,
            posts.c.ts,
            posts.c.event_id,
            posts.c.payload,
            taken.c.team_id,
            (taken.c.base + posts.c.ord).label("seq"),
        )
        .select_from(taken.join(posts, true()))
        .cte("batch")
    )
    written = (
        insert(Message)
        .from_select(
            ["id", "room_id", "team_id", "user_id", "content", "timestamp", "seq"],
            select(
                batch.c.id,
                room_id,
                batch.c.team_id,
                batch.c.user_id,
                batch.c.content,
                batch.c.ts,
                batch.c.seq,
            ).order_by(batch.c.seq),
        )
        .returning(Message.id, Message.seq, Message.timestamp)
        .cte("written")
    )
    logged = insert(RoomEvent).from_select(
        ["room_id", "seq", "kind", "message_id", "created_at"],
        select(
            room_id,
            written.c.seq,
            bindparam("kind", type_=String),
            written.c.id,
            written.c.timestamp,
        ).order_by(written.c.seq),
    )
    outbox = event_tables.outbox
    recorded = insert(outbox).from_select(
        ["id", "type", "subject", "payload"],
        select(
            batch.c.event_id,
            bindparam("event_type", type_=outbox.c.type.type),
            bindparam("event_subject", type_=outbox.c.subject.type),
            cast(batch.c.payload, JSONB),
        ).order_by(batch.c.seq),
    )
    notified = select(func.pg_notify(bindparam("channel", type_=String), "").label("n")).subquery(
        "notified"
    )
    return (
        select(written.c.id, written.c.seq)
        .select_from(written.join(notified, true()))
        .add_cte(logged.cte("logged"), recorded.cte("recorded"))
        .order_by(written.c.seq)
    )


APPEND_MANY = _append_many()


async def append_many(
    session: AsyncSession,
    room_id: uuid.UUID,
    messages: list[Message],
    kind: str,
    events: list[tuple[uuid.UUID, str]],
    *,
    event_type: str,
    channel: str,
) -> list[int]:
    """Execute :data:`APPEND_MANY`: ``messages`` (of one room, in their order) with ``events``
    (``(id, payload JSON)``, one per message). Their seqs in the same order, or ``[]`` (no room:
    nothing written)."""
    rows = await session.execute(
        APPEND_MANY,
        {
            "n": len(messages),
            "room_id": room_id,
            "updated_at": messages[-1].timestamp,
            "ids": [m.id for m in messages],
            "user_ids": [m.user_id for m in messages],
            "contents": [m.content for m in messages],
            "timestamps": [m.timestamp for m in messages],
            "event_ids": [e[0] for e in events],
            "payloads": [e[1] for e in events],
            "kind": kind,
            "event_type": event_type,
            "event_subject": str(room_id),
            "channel": channel,
        },
    )
    seq_of = {mid: int(seq) for mid, seq in rows}
    if not seq_of:
        return []
    return [seq_of[m.id] for m in messages]


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
