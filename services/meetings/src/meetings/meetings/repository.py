"""All SQL of meetings. Services and repositories only ``flush()``.

Locks on a meeting's row: ending, cancelling, editing, deleting, the job and the webhooks take it
``FOR UPDATE``; a join or leave takes it ``FOR KEY SHARE`` (joins run side by side, never beside
an end, which waits for them and is then seen by every later one); the join that starts a
scheduled meeting takes ``FOR NO KEY UPDATE`` (beside the other joins' key shares, so two first
joins never deadlock: the second waits and sees the meeting started). A participant's own row is
locked after the meeting's, always in that order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from meetings.meetings.models import (
    AttendanceInterval,
    Meeting,
    MeetingParticipant,
    ProviderWebhook,
)
from meetings.meetings.state import IN_PROGRESS, Presence

Lock = Literal["update", "no_key_update", "key_share"] | None

_LOCKS: dict[str, dict[str, bool]] = {
    # status changes: excludes every other lock
    "update": {},
    # the first join's start: beside the joins (key share), not beside another start or an end
    "no_key_update": {"key_share": True},
    # a join or leave of a meeting in progress: beside each other, never beside an end
    "key_share": {"key_share": True, "read": True},
}


def _locked(stmt: Any, lock: Lock) -> Any:
    if lock is None:
        return stmt
    # a lock re-reads the row as the lock holder left it: overwrite what the session had
    return stmt.with_for_update(of=Meeting, **_LOCKS[lock]).execution_options(
        populate_existing=True
    )


async def get_meeting(
    session: AsyncSession, meeting_id: uuid.UUID, *, lock: Lock = None
) -> Meeting | None:
    stmt = _locked(select(Meeting).where(Meeting.id == meeting_id), lock)
    return (await session.execute(stmt)).scalar_one_or_none()


async def meeting_and_presence(
    session: AsyncSession, meeting_id: uuid.UUID, *, lock: Lock
) -> tuple[Meeting, Presence] | None:
    """The meeting, locked, with who is in it now: one round trip on a join's hot path."""
    p = MeetingParticipant
    joined = (
        select(func.count())
        .where(p.meeting_id == Meeting.id, p.status == "joined")
        .scalar_subquery()
    )
    last_left = select(func.max(p.leave_time)).where(p.meeting_id == Meeting.id).scalar_subquery()
    stmt = _locked(select(Meeting, joined, last_left).where(Meeting.id == meeting_id), lock)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return row[0], Presence(joined=int(row[1] or 0), last_left_at=row[2])


async def get_by_room(session: AsyncSession, provider: str, room_name: str) -> Meeting | None:
    stmt = (
        select(Meeting)
        .where(Meeting.provider == provider, Meeting.room_name == room_name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_meetings(
    session: AsyncSession,
    team_id: uuid.UUID,
    params: PageParams,
    *,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[list[Meeting], str | None]:
    """The team's meetings overlapping ``[start, end)``, by start time."""
    stmt = select(Meeting).where(Meeting.team_id == team_id)
    if status is not None:
        stmt = stmt.where(Meeting.status == status)
    if start is not None:
        stmt = stmt.where(Meeting.end_time > start)
    if end is not None:
        stmt = stmt.where(Meeting.start_time < end)
    rows, cursor = await paginate(
        session,
        stmt,
        params,
        keys=[Meeting.start_time, Meeting.id],
        convert=[datetime.fromisoformat, uuid.UUID],
    )
    return list(rows), cursor


async def participants_of(
    session: AsyncSession, meeting_ids: Sequence[uuid.UUID]
) -> list[MeetingParticipant]:
    if not meeting_ids:
        return []
    stmt = (
        select(MeetingParticipant)
        .where(MeetingParticipant.meeting_id.in_(meeting_ids))
        .order_by(MeetingParticipant.meeting_id, MeetingParticipant.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def participant_user_ids(session: AsyncSession, meeting_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = (
        select(MeetingParticipant.user_id)
        .where(MeetingParticipant.meeting_id == meeting_id)
        .order_by(MeetingParticipant.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def intervals_of(
    session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> list[AttendanceInterval]:
    stmt = select(AttendanceInterval).where(AttendanceInterval.meeting_id == meeting_id)
    if user_id is not None:
        stmt = stmt.where(AttendanceInterval.user_id == user_id)
    stmt = stmt.order_by(AttendanceInterval.joined_at, AttendanceInterval.id)
    return list((await session.execute(stmt)).scalars().all())


async def lock_participant(
    session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID, *, create: bool
) -> MeetingParticipant | None:
    """The participant's row, locked; created (``invited: false``) when ``create`` and missing.
    A concurrent creation of the same row is absorbed by the unique key."""
    if create:
        # one round trip: insert, or lock the existing row (DO UPDATE locks it as FOR UPDATE)
        ins = pg_insert(MeetingParticipant).values(
            id=uuid7(), meeting_id=meeting_id, user_id=user_id, status="invited", invited=False
        )
        upsert = (
            ins.on_conflict_do_update(
                index_elements=["meeting_id", "user_id"],
                set_={"status": MeetingParticipant.status},  # unchanged: only the lock
            )
            .returning(MeetingParticipant)
            .execution_options(populate_existing=True)
        )
        found: MeetingParticipant = (await session.execute(upsert)).scalar_one()
        return found
    stmt = (
        select(MeetingParticipant)
        .where(MeetingParticipant.meeting_id == meeting_id, MeetingParticipant.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_participants(
    session: AsyncSession, meeting_id: uuid.UUID
) -> list[MeetingParticipant]:
    stmt = (
        select(MeetingParticipant)
        .where(MeetingParticipant.meeting_id == meeting_id)
        .order_by(MeetingParticipant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def presence(session: AsyncSession, meeting_id: uuid.UUID) -> Presence:
    p = MeetingParticipant
    stmt = select(func.count().filter(p.status == "joined"), func.max(p.leave_time)).where(
        p.meeting_id == meeting_id
    )
    joined, last_left = (await session.execute(stmt)).one()
    return Presence(joined=int(joined or 0), last_left_at=last_left)


async def delete_participants(
    session: AsyncSession, meeting_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> None:
    if user_ids:
        await session.execute(
            delete(MeetingParticipant).where(
                MeetingParticipant.meeting_id == meeting_id,
                MeetingParticipant.user_id.in_(user_ids),
            )
        )


async def delete_meeting(session: AsyncSession, meeting_id: uuid.UUID) -> None:
    await session.execute(delete(Meeting).where(Meeting.id == meeting_id))


async def delete_team_meetings(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(Meeting).where(Meeting.team_id == team_id))


async def claim_due(
    session: AsyncSession, *, empty_before: datetime, overrun_before: datetime, limit: int
) -> list[Meeting]:
    """Meetings in progress that may be over (``state.completion_due`` decides), locked
    ``FOR UPDATE SKIP LOCKED``: another replica's, or one a request holds, are skipped."""
    p = MeetingParticipant
    nobody_in = ~select(p.id).where(p.meeting_id == Meeting.id, p.status == "joined").exists()
    last_left = select(func.max(p.leave_time)).where(p.meeting_id == Meeting.id).scalar_subquery()
    stmt = (
        select(Meeting)
        .where(
            Meeting.status == IN_PROGRESS,
            (Meeting.end_time <= overrun_before) | (nobody_in & (last_left <= empty_before)),
        )
        .order_by(Meeting.end_time)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Meeting)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def record_webhook(
    session: AsyncSession, provider: str, event_id: str, event_type: str, at: datetime
) -> bool:
    """True the first time this provider event id is seen (in this transaction's commit)."""
    stmt = (
        pg_insert(ProviderWebhook)
        .values(provider=provider, event_id=event_id, event_type=event_type, received_at=at)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(ProviderWebhook.event_id)
    )
    return (await session.execute(stmt)).first() is not None


async def intervals_of_meetings(
    session: AsyncSession, meeting_ids: Sequence[uuid.UUID]
) -> list[AttendanceInterval]:
    if not meeting_ids:
        return []
    stmt = (
        select(AttendanceInterval)
        .where(AttendanceInterval.meeting_id.in_(meeting_ids))
        .order_by(AttendanceInterval.joined_at, AttendanceInterval.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def list_participants(
    session: AsyncSession, meeting_id: uuid.UUID, params: PageParams
) -> tuple[list[MeetingParticipant], str | None]:
    stmt = select(MeetingParticipant).where(MeetingParticipant.meeting_id == meeting_id)
    rows, cursor = await paginate(
        session, stmt, params, keys=[MeetingParticipant.id], convert=[uuid.UUID]
    )
    return list(rows), cursor
