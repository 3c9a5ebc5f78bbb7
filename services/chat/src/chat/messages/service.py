"""Rules about messages: members read and post (rate-limited), the author edits, the author or an
admin deletes (a tombstone). Every change takes the room's next ``seq`` and is pushed to the
room's sockets only after it has committed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, Forbidden, Invalid, NotFound
from vc_common.ids import uuid7
from vc_common.membership import Role, require_membership
from vc_common.ratelimit import Rate, RateLimiter, enforce

from chat import events
from chat.aftercommit import after_commit
from chat.messages import repository as repo
from chat.messages.schemas import message_json
from chat.models import Message
from chat.realtime.hub import Hub
from chat.rooms import repository as rooms_repo
from chat.rooms.service import room_for

POSTED, EDITED, DELETED = "message", "message.edited", "message.deleted"


def _push(session: AsyncSession, hub: Hub, message: Message, seq: int, kind: str) -> None:
    frame = {"type": kind, "message": message_json(message), "seq": seq}

    async def push() -> None:
        await hub.publish_room_event(message.room_id, message.team_id, seq, frame)

    after_commit(session, push)


async def history(
    session: AsyncSession,
    request: Any,
    room_id: uuid.UUID,
    user: AuthUser,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> tuple[list[Message], str | None]:
    room, _ = await room_for(session, request, room_id, user)
    before_seq = None
    if before is not None:
        before_seq = await repo.seq_of(session, room.id, before)
        if before_seq is None:
            raise Invalid("`before` is not a message of this room.", loc=["query", "before"])
    rows = await repo.history(session, room.id, before_seq=before_seq, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = str(rows[-1].id)
    return rows, next_cursor


async def post_message(
    session: AsyncSession,
    request: Any,
    hub: Hub,
    limiter: RateLimiter,
    rate: Rate,
    room_id: uuid.UUID,
    user: AuthUser,
    content: str,
) -> Message:
    room, _ = await room_for(session, request, room_id, user)
    await enforce(limiter, f"chat:post:{user.id}", rate)
    seq = await rooms_repo.next_seq(session, room.id)
    if seq is None:  # deleted meanwhile
        raise NotFound("Room not found.")
    message = Message(
        id=uuid7(),
        room_id=room.id,
        team_id=room.team_id,
        user_id=user.id,
        content=content,
        seq=seq,
        timestamp=datetime.now(UTC),
    )
    session.add(message)
    await session.flush()
    repo.log_change(session, room.id, seq, POSTED, message.id)
    await session.flush()
    await events.message_posted(session, message)
    _push(session, hub, message, seq, POSTED)
    return message


async def _message_for(
    session: AsyncSession, request: Any, message_id: uuid.UUID, user: AuthUser
) -> tuple[Message, Role]:
    message = await repo.get(session, message_id)
    if message is None:
        raise NotFound("Message not found.")
    try:
        member = await require_membership(session, request, message.team_id, user)
    except NotFound:
        raise NotFound("Message not found.") from None
    return message, member.role


async def get_message(
    session: AsyncSession, request: Any, message_id: uuid.UUID, user: AuthUser
) -> Message:
    message, _ = await _message_for(session, request, message_id, user)
    return message


async def edit_message(
    session: AsyncSession,
    request: Any,
    hub: Hub,
    message_id: uuid.UUID,
    user: AuthUser,
    content: str,
) -> Message:
    message, _ = await _message_for(session, request, message_id, user)
    if message.user_id != user.id:
        raise Forbidden("Only the author may edit a message.")
    if message.deleted_at is not None:
        raise Conflict("The message has been deleted.")
    if content == message.content:
        return message
    seq = await rooms_repo.next_seq(session, message.room_id)  # the room's lock first
    if seq is None:
        raise NotFound("Message not found.")
    message = await repo.get(session, message_id, lock=True) or message
    if message.deleted_at is not None:
        raise Conflict("The message has been deleted.")
    message.content = content
    message.edited_at = datetime.now(UTC)
    repo.log_change(session, message.room_id, seq, EDITED, message.id)
    await session.flush()
    _push(session, hub, message, seq, EDITED)
    return message


async def delete_message(
    session: AsyncSession, request: Any, hub: Hub, message_id: uuid.UUID, user: AuthUser
) -> None:
    message, role = await _message_for(session, request, message_id, user)
    if message.user_id != user.id and not role.at_least(Role.ADMIN):
        raise Forbidden("Only the author or a team admin may delete a message.")
    if message.deleted_at is not None:
        return  # already a tombstone: deleting again changes nothing
    seq = await rooms_repo.next_seq(session, message.room_id)
    if seq is None:
        raise NotFound("Message not found.")
    # (deleted concurrently: the seq is taken, so record the tombstone again rather than leave a
    # hole in the room's sequence; clients apply it idempotently)
    message = await repo.get(session, message_id, lock=True) or message
    message.content = ""
    message.deleted_at = message.deleted_at or datetime.now(UTC)
    repo.log_change(session, message.room_id, seq, DELETED, message.id)
    await session.flush()
    _push(session, hub, message, seq, DELETED)
