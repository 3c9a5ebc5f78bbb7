"""Rules about messages (``chat.permissions``): members read and post (rate-limited), the author
edits, the author or an admin deletes (a tombstone). Every change takes the room's next ``seq``
and is pushed to the room's sockets only after it has committed."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.ids import uuid7
from vc_common.ratelimit import Rate, RateLimiter, enforce

from chat import events
from chat.aftercommit import after_commit
from chat.messages import repository as repo
from chat.messages.schemas import message_json
from chat.models import Message
from chat.realtime.hub import Hub
from chat.rooms import repository as rooms_repo
from chat.rooms.service import room_for
from chat.settings import settings_of

if TYPE_CHECKING:
    from chat.messages.grouping import GroupCommit

POSTED, EDITED, DELETED = "message", "message.edited", "message.deleted"


def push_after_commit(
    session: AsyncSession, hub: Hub, message: Message, seq: int, kind: str
) -> None:
    """Hand the change's frame to the room's sockets once ``session`` has committed."""
    frame = {"type": kind, "message": message_json(message), "seq": seq}

    async def push() -> None:
        await hub.publish_room_event(message.room_id, message.team_id, seq, frame)

    after_commit(session, push)


async def history(
    ctx: Context, room_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> tuple[list[Message], str | None]:
    room = await room_for(ctx, room_id)
    session = ctx.session
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
    ctx: Context,
    hub: Hub,
    limiter: RateLimiter,
    room_id: uuid.UUID,
    content: str,
    posts: GroupCommit | None = None,
) -> Message:
    """Over HTTP and over the socket alike; ``CHAT_MESSAGE_RATE`` per user, on ``limiter``
    (shared by the replicas through Redis). With ``posts`` (this replica's group commit) the
    message is written with the room's other queued posts in a transaction of their own
    (``chat.messages.grouping``), else in ``ctx.session``'s (a request with an
    ``Idempotency-Key``: its key and its message commit together). Every refusal comes before
    either: a refused post never reaches a batch."""
    room = await room_for(ctx, room_id, "message.post")
    session, user = ctx.session, ctx.user
    await enforce(limiter, f"chat:post:{user.id}", Rate.parse(settings_of(ctx).chat_message_rate))
    message = Message(
        id=uuid7(),
        room_id=room.id,
        team_id=room.team_id,
        user_id=user.id,
        content=content,
        timestamp=ctx.now(),
        edited_at=None,
        deleted_at=None,
    )
    if posts is not None:
        message.seq = await posts.post(hub, message)
        return message
    # The room's lock is taken here, as late as possible, and every other post to the room
    # waits for it until this commit: one statement (seq, message, log row, event) then the
    # commit, with no round trip of its own in between.
    seq = await events.message_posted(session, message, repo.append(message, POSTED))
    if seq is None:  # deleted meanwhile
        raise NotFound("Room not found.")
    message.seq = seq
    push_after_commit(session, hub, message, seq, POSTED)
    return message


async def _message_for(ctx: Context, message_id: uuid.UUID, action: str) -> Message:
    """The message if the caller may do ``action`` to it (404 outside its team, 403 else)."""
    message = await repo.get(ctx.session, message_id)
    if message is None:
        raise NotFound("Message not found.")
    await ctx.authorize(
        message.team_id, action, author_id=message.user_id, not_found="Message not found."
    )
    return message


async def get_message(ctx: Context, message_id: uuid.UUID) -> Message:
    return await _message_for(ctx, message_id, "room.read")


async def edit_message(ctx: Context, hub: Hub, message_id: uuid.UUID, content: str) -> Message:
    message = await _message_for(ctx, message_id, "message.edit")
    session = ctx.session
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
    message.edited_at = ctx.now()
    repo.log_change(session, message.room_id, seq, EDITED, message.id)
    await session.flush()
    push_after_commit(session, hub, message, seq, EDITED)
    return message


async def delete_message(ctx: Context, hub: Hub, message_id: uuid.UUID) -> None:
    message = await _message_for(ctx, message_id, "message.delete")
    session = ctx.session
    if message.deleted_at is not None:
        return  # already a tombstone: deleting again changes nothing
    seq = await rooms_repo.next_seq(session, message.room_id)
    if seq is None:
        raise NotFound("Message not found.")
    # (deleted concurrently: the seq is taken, so record the tombstone again rather than leave a
    # hole in the room's sequence; clients apply it idempotently)
    message = await repo.get(session, message_id, lock=True) or message
    message.content = ""
    message.deleted_at = message.deleted_at or ctx.now()
    repo.log_change(session, message.room_id, seq, DELETED, message.id)
    await session.flush()
    push_after_commit(session, hub, message, seq, DELETED)
