"""What meetings publishes, through its outbox in the transaction of the change.

Schemas: ``contracts/events/meetings.*.v1.json``. The subject is always the meeting id, so a
meeting's events arrive in order. ``data.user_id`` is the acting user: who scheduled, changed,
started, ended or cancelled it (the meeting's creator when the service itself ended it:
``ended_by: "auto"`` or ``"provider"``), and the participant in ``meetings.participant.*``.

Every ``meetings.meeting.*`` carries the whole meeting (``meeting_id, team_id, title,
description, start_time, end_time, status, created_by_id, provider, meeting_link,
recording_url, started_at, ended_at, participant_ids``), so the calendar and notifications act
without calling back; analytics counts ``meetings.meeting.ended`` (``ended_at``) and
``meetings.participant.joined`` (``joined_at``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import ChangeWithEvent, add_event

from meetings.meetings.models import Meeting
from meetings.models import event_tables

SOURCE = "meetings"

SCHEDULED = "meetings.meeting.scheduled"
UPDATED = "meetings.meeting.updated"
STARTED = "meetings.meeting.started"
ENDED = "meetings.meeting.ended"
CANCELLED = "meetings.meeting.cancelled"
DELETED = "meetings.meeting.deleted"
JOINED = "meetings.participant.joined"
LEFT = "meetings.participant.left"


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _meeting(
    m: Meeting, actor_id: uuid.UUID, participant_ids: Sequence[uuid.UUID]
) -> dict[str, Any]:
    return {
        "meeting_id": str(m.id),
        "team_id": str(m.team_id),
        "user_id": str(actor_id),
        "title": m.title,
        "description": m.description,
        "start_time": ts(m.start_time),
        "end_time": ts(m.end_time),
        "status": m.status,
        "created_by_id": str(m.created_by_id),
        "provider": m.provider,
        "meeting_link": m.meeting_link,
        "recording_url": m.recording_url,
        "started_at": ts(m.started_at),
        "ended_at": ts(m.ended_at),
        "participant_ids": [str(u) for u in participant_ids],
    }


async def _emit(session: AsyncSession, type_: str, m: Meeting, data: dict[str, Any]) -> None:
    await add_event(session, event_tables, source=SOURCE, type=type_, subject=m.id, data=data)


async def meeting_scheduled(
    session: AsyncSession, m: Meeting, actor_id: uuid.UUID, participant_ids: Sequence[uuid.UUID]
) -> None:
    await _emit(session, SCHEDULED, m, _meeting(m, actor_id, participant_ids))


async def meeting_updated(
    session: AsyncSession,
    m: Meeting,
    actor_id: uuid.UUID,
    participant_ids: Sequence[uuid.UUID],
    changed: Sequence[str],
) -> None:
    await _emit(
        session, UPDATED, m, {**_meeting(m, actor_id, participant_ids), "changed": list(changed)}
    )


async def meeting_started(
    session: AsyncSession, m: Meeting, actor_id: uuid.UUID, participant_ids: Sequence[uuid.UUID]
) -> None:
    await _emit(session, STARTED, m, _meeting(m, actor_id, participant_ids))


async def meeting_ended(
    session: AsyncSession,
    m: Meeting,
    actor_id: uuid.UUID,
    participant_ids: Sequence[uuid.UUID],
    attendee_ids: Sequence[uuid.UUID],
) -> None:
    await _emit(
        session,
        ENDED,
        m,
        {
            **_meeting(m, actor_id, participant_ids),
            "ended_by": m.ended_by,
            "attendee_ids": [str(u) for u in attendee_ids],
        },
    )


async def meeting_cancelled(
    session: AsyncSession,
    m: Meeting,
    actor_id: uuid.UUID,
    participant_ids: Sequence[uuid.UUID],
    *,
    reason: str,
) -> None:
    await _emit(session, CANCELLED, m, {**_meeting(m, actor_id, participant_ids), "reason": reason})


async def meeting_deleted(
    session: AsyncSession, m: Meeting, actor_id: uuid.UUID, participant_ids: Sequence[uuid.UUID]
) -> None:
    await _emit(session, DELETED, m, _meeting(m, actor_id, participant_ids))


def _joined(
    meeting_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    joined_at: datetime,
    *,
    source: str,
    first_join: bool,
) -> dict[str, Any]:
    return {
        "meeting_id": str(meeting_id),
        "team_id": str(team_id),
        "user_id": str(user_id),
        "joined_at": ts(joined_at),
        "first_join": first_join,
        "source": source,
    }


async def participant_joined(
    session: AsyncSession,
    m: Meeting,
    user_id: uuid.UUID,
    joined_at: datetime,
    *,
    source: str,
    first_join: bool,
) -> None:
    await _emit(
        session,
        JOINED,
        m,
        _joined(m.id, m.team_id, user_id, joined_at, source=source, first_join=first_join),
    )


async def participant_joined_by(
    session: AsyncSession,
    join: ChangeWithEvent,
    params: dict[str, Any],
    *,
    meeting_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    joined_at: datetime,
    first_join: bool,
) -> Sequence[Row[Any]]:
    """Execute ``join`` (``repository.JOIN``: the participant joined, the stay opened) with
    ``meetings.participant.joined`` in the same statement, recorded iff it wrote; its rows."""
    _, rows = await join.execute(
        session,
        params,
        source=SOURCE,
        type=JOINED,
        subject=meeting_id,
        data=_joined(meeting_id, team_id, user_id, joined_at, source="user", first_join=first_join),
    )
    return rows


async def participant_left(
    session: AsyncSession,
    m: Meeting,
    user_id: uuid.UUID,
    joined_at: datetime,
    left_at: datetime,
    attended_minutes: int,
    *,
    source: str,
) -> None:
    await _emit(
        session,
        LEFT,
        m,
        {
            "meeting_id": str(m.id),
            "team_id": str(m.team_id),
            "user_id": str(user_id),
            "joined_at": ts(joined_at),
            "left_at": ts(left_at),
            "attended_minutes": attended_minutes,
            "source": source,
        },
    )
