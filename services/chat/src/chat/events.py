"""What the chat service publishes (through the outbox, in the transaction of the change).

``data`` carries ids, the ``team_id`` and the acting ``user_id``; never a message's text (events
travel to every context, chat content stays in chat). One JSON Schema per type lives in
``contracts/events/<type>.v1.json``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event, change_with_event, notify_channel

from chat.models import Message, Room, event_tables

SOURCE = "chat"

ROOM_CREATED = "chat.room.created"
ROOM_UPDATED = "chat.room.updated"
ROOM_DELETED = "chat.room.deleted"
MESSAGE_POSTED = "chat.message.posted"

PUBLISHED = (ROOM_CREATED, ROOM_UPDATED, ROOM_DELETED, MESSAGE_POSTED)


# ``@username`` (identity's usernames: letters, digits and . + - _), not inside an e-mail address
_MENTION = re.compile(r"(?<![\w.+@-])@([\w.+-]{1,150})")
MAX_MENTIONS = 20


def mentions_in(content: str) -> list[str]:
    """The ``@usernames`` of a message, as written, once each, in order (at most 20): only the
    names leave chat, for notifications to tell the people mentioned; never the text."""
    return list(dict.fromkeys(m[1] for m in _MENTION.finditer(content)))[:MAX_MENTIONS]


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def _publish(
    session: AsyncSession, type_: str, subject: uuid.UUID, data: dict[str, Any]
) -> CloudEvent:
    return await add_event(
        session, event_tables, source=SOURCE, type=type_, subject=subject, data=data
    )


def _room_data(room: Room, user_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "room_id": str(room.id),
        "team_id": str(room.team_id),
        "name": room.name,
        "user_id": str(user_id) if user_id else None,
    }


async def room_created(session: AsyncSession, room: Room, user_id: uuid.UUID) -> CloudEvent:
    return await _publish(session, ROOM_CREATED, room.id, _room_data(room, user_id))


async def room_updated(
    session: AsyncSession, room: Room, user_id: uuid.UUID, changes: dict[str, Any]
) -> CloudEvent:
    return await _publish(
        session, ROOM_UPDATED, room.id, {**_room_data(room, user_id), "changes": changes}
    )


async def room_deleted(
    session: AsyncSession, room: Room, user_id: uuid.UUID | None, reason: str = "deleted"
) -> CloudEvent:
    """``reason``: ``deleted`` (an admin deleted it) or ``team_deleted`` (the team went)."""
    return await _publish(
        session, ROOM_DELETED, room.id, {**_room_data(room, user_id), "reason": reason}
    )


def _message_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": str(message.id),
        "room_id": str(message.room_id),
        "team_id": str(message.team_id),
        "user_id": str(message.user_id),
        "timestamp": _rfc3339(message.timestamp),
    }
    mentions = mentions_in(message.content)
    if mentions:  # optional: absent when the message mentions nobody
        data["mentions"] = mentions
    return data


def message_posted_event(message: Message, traceparent: str | None) -> CloudEvent:
    """The ``chat.message.posted`` event of a post written with others in one statement
    (``chat.messages.grouping``); ``traceparent``: the posting request's, taken when it queued.
    Its subject is the room, as for :func:`message_posted`."""
    return CloudEvent(
        source=SOURCE,
        type=MESSAGE_POSTED,
        subject=str(message.room_id),
        data=_message_data(message),
        traceparent=traceparent,
    )


#: the relay's wake-up channel
OUTBOX_CHANNEL = notify_channel(SOURCE)


async def message_posted(session: AsyncSession, message: Message, append: Insert) -> int | None:
    """Execute ``append`` (``chat.messages.repository.append``: the room's next seq, the message,
    its log row) with the event in the same statement: the room's lock is held for that one
    round trip and the commit. The message's ``seq``, or ``None`` (no room: nothing written)."""
    # subject: the room, so consumers see a room's messages in order
    data = _message_data(message)
    _, rows = await change_with_event(
        session,
        event_tables,
        append,
        source=SOURCE,
        type=MESSAGE_POSTED,
        subject=message.room_id,
        data=data,
    )
    return int(rows[0][0]) if rows else None
