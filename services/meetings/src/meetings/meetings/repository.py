"""All SQL of meetings. Services and repositories only ``flush()``.

Locks on a meeting's row: ending, cancelling, editing, deleting, the job and the webhooks take it
``FOR UPDATE``; a join or leave takes it ``FOR KEY SHARE`` (joins run side by side, never beside
an end, which waits for them and is then seen by every later one); the join that starts a
scheduled meeting takes ``FOR NO KEY UPDATE`` (beside the other joins' key shares, so two first
joins never deadlock: the second waits and sees the meeting started). A participant's own row is
locked after the meeting's, always in that order.

A join of a meeting in progress is two statements, built once (Core, bind parameters): what it
reads (:func:`join_state`: the meeting locked, who is in it, the joiner's standing in the team
and their participant row, locked) and what it writes (:data:`JOIN`, executed by
``events.participant_joined_by``: the participant upserted as joined, the stay opened and the
event recorded, in one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, Select, bindparam, delete, func, insert, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import ChangeWithEvent
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from meetings.meetings.models import (
    AttendanceInterval,
    Meeting,
    MeetingParticipant,
    ProviderWebhook,
)
from meetings.meetings.state import IN_PROGRESS, Presence
from meetings.models import event_tables, membership

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


# ------------------------------------------------------------------------ a join


@dataclass(frozen=True, slots=True)
class ParticipantState:
    """A participant's row, as a join reads or writes it."""

    user_id: uuid.UUID
    status: str
    invited: bool
    join_time: datetime | None
    leave_time: datetime | None
    attended_seconds: int


@dataclass(frozen=True, slots=True)
class JoinState:
    """What a join reads in one statement: the meeting's columns it needs, who is in the
    meeting now, the joiner's standing in the team (the membership projection's: ``deleted``,
    ``role``) and the joiner's participant row (None: not a participant yet)."""

    id: uuid.UUID
    team_id: uuid.UUID
    created_by_id: uuid.UUID
    status: str
    end_time: datetime
    provider: str
    room_name: str
    meeting_link: str
    presence: Presence
    team_deleted: bool
    role: str | None
    participant: ParticipantState | None


# Core, not the ORM entities: a join's statements are built once and return plain rows
_meetings = Meeting.metadata.tables[Meeting.__tablename__]
_participants = Meeting.metadata.tables[MeetingParticipant.__tablename__]
_intervals = Meeting.metadata.tables[AttendanceInterval.__tablename__]
_m, _p, _i = _meetings.c, _participants.c, _intervals.c
_meeting_id = bindparam("meeting_id", type_=_m.id.type)
_user_id = bindparam("user_id", type_=_p.user_id.type)
_now = bindparam("now", type_=_p.join_time.type)
_PARTICIPANT = (
    _p.user_id,
    _p.status,
    _p.invited,
    _p.join_time,
    _p.leave_time,
    _p.attended_seconds,
)


def _join_read() -> Select[Any]:
    # the meeting's row locked first (MATERIALIZED: its scan, and so its lock, comes before
    # the participant's), then the participant's own row FOR UPDATE, as a leave locks them
    locked = (
        select(
            _m.id,
            _m.team_id,
            _m.created_by_id,
            _m.status,
            _m.end_time,
            _m.provider,
            _m.room_name,
            _m.meeting_link,
        )
        .where(_m.id == _meeting_id)
        .with_for_update(read=True, key_share=True)
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    mine = (
        select(*_PARTICIPANT)
        .where(_p.meeting_id == locked.c.id, _p.user_id == _user_id)
        .with_for_update()
        .lateral("mine")
    )
    joined = (
        select(func.count())
        .select_from(_participants)
        .where(_p.meeting_id == locked.c.id, _p.status == "joined")
        .scalar_subquery()
    )
    last_left = (
        select(func.max(_p.leave_time))
        .select_from(_participants)
        .where(_p.meeting_id == locked.c.id)
        .scalar_subquery()
    )
    deleted, role = membership.standing_of(locked.c.team_id, _user_id)
    return select(
        *locked.c,
        joined.label("joined"),
        last_left.label("last_left_at"),
        deleted.label("team_deleted"),
        role.label("role"),
        *(c.label(f"p_{c.name}") for c in mine.c),
    ).select_from(locked.outerjoin(mine, true()))


_JOIN_READ = _join_read()


async def join_state(
    session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID
) -> JoinState | None:
    """A join's reads, in one round trip (None: no such meeting). Locks: the meeting's row
    ``FOR KEY SHARE`` (beside other joins and leaves, never beside an end), then the joiner's
    participant row ``FOR UPDATE``."""
    r = (await session.execute(_JOIN_READ, {"meeting_id": meeting_id, "user_id": user_id})).first()
    if r is None:
        return None
    return JoinState(
        id=r.id,
        team_id=r.team_id,
        created_by_id=r.created_by_id,
        status=r.status,
        end_time=r.end_time,
        provider=r.provider,
        room_name=r.room_name,
        meeting_link=r.meeting_link,
        presence=Presence(joined=int(r.joined or 0), last_left_at=r.last_left_at),
        team_deleted=bool(r.team_deleted),
        role=r.role,
        participant=None
        if r.p_user_id is None
        else ParticipantState(
            r.p_user_id,
            r.p_status,
            r.p_invited,
            r.p_join_time,
            r.p_leave_time,
            r.p_attended_seconds,
        ),
    )


def _join() -> Select[Any]:
    ins = pg_insert(_participants).values(
        id=bindparam("participant_id", type_=_p.id.type),
        meeting_id=_meeting_id,
        user_id=_user_id,
        invited=False,
        status="joined",
        join_time=_now,
    )
    upserted = (
        ins.on_conflict_do_update(
            index_elements=[_p.meeting_id, _p.user_id],
            set_={"status": "joined", "join_time": func.coalesce(_p.join_time, _now)},
            # in already (a concurrent join of the same user won): nothing written
            where=_p.status != "joined",
        )
        .returning(*_PARTICIPANT)
        .cte("joined_participant")
    )
    opened = (
        insert(_intervals)
        .from_select(
            ["id", "meeting_id", "user_id", "joined_at"],
            select(
                bindparam("interval_id", type_=_i.id.type),
                _meeting_id,
                upserted.c.user_id,
                _now,
            ).select_from(upserted),
        )
        .cte("opened_interval")
    )
    return select(upserted).add_cte(opened)


#: A join's write, in one statement with its event (``events.participant_joined_by``): the
#: participant's row upserted as ``joined`` (its first ``join_time`` kept) and a stay opened
#: ``now``, returning the row; no row (and no event) when the participant is joined already.
#: Parameters: :func:`join_params`. Python-side defaults do not run inside a CTE: every value
#: is given.
JOIN = ChangeWithEvent(event_tables, _join())


def join_params(meeting_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "meeting_id": meeting_id,
        "user_id": user_id,
        "now": now,
        "participant_id": uuid7(),
        "interval_id": uuid7(),
    }


def participant_state(row: Row[Any]) -> ParticipantState:
    return ParticipantState(
        row.user_id, row.status, row.invited, row.join_time, row.leave_time, row.attended_seconds
    )
