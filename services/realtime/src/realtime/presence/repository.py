"""All SQL of presence: the facts kept from events and sockets, and the announced status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.models import (
    CalendarAttendee,
    CalendarEvent,
    Connection,
    EndedMeeting,
    FocusSession,
    MeetingParticipant,
    Presence,
    Replica,
)
from realtime.presence.recurrence import occurrences

# calendar events that make their people busy while they run (a deadline or a reminder is a
# moment, an all-day event a date, not time blocked)
BUSY_TYPES = ("meeting", "other")


# ---- the announced status -----------------------------------------------------------------------


async def lock_presence(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> Presence:
    """The user's presence row, locked until commit (created offline on first sight)."""
    await session.execute(
        pg_insert(Presence)
        .values(user_id=user_id, status="offline", since=now, details={})
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    row = (
        await session.scalars(
            select(Presence)
            .where(Presence.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    return row


async def presences(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Presence]:
    if not user_ids:
        return {}
    rows = await session.scalars(select(Presence).where(Presence.user_id.in_(list(user_ids))))
    return {p.user_id: p for p in rows}


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Users whose status time alone may have changed, locked (SKIP LOCKED: one replica each)."""
    rows = await session.scalars(
        select(Presence.user_id)
        .where(Presence.next_check_at.is_not(None), Presence.next_check_at <= now)
        .order_by(Presence.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def touch_activity(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> str | None:
    """Record client activity; the status announced before it (None: unknown user)."""
    return (
        await session.execute(
            update(Presence)
            .where(Presence.user_id == user_id)
            .values(last_active_at=func.greatest(func.coalesce(Presence.last_active_at, now), now))
            .returning(Presence.status)
        )
    ).scalar_one_or_none()


# ---- facts, for many users at once --------------------------------------------------------------


async def connection_counts(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Connection.user_id, func.count())
        .where(Connection.user_id.in_(list(user_ids)))
        .group_by(Connection.user_id)
    )
    return {r[0]: int(r[1]) for r in rows}


async def current_meetings(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, MeetingParticipant]:
    ended = exists().where(EndedMeeting.meeting_id == MeetingParticipant.meeting_id)
    rows = await session.scalars(
        select(MeetingParticipant)
        .where(
            MeetingParticipant.user_id.in_(list(user_ids)),
            MeetingParticipant.joined_at.is_not(None),
            or_(
                MeetingParticipant.left_at.is_(None),
                MeetingParticipant.left_at < MeetingParticipant.joined_at,
            ),
            ~ended,
        )
        .order_by(MeetingParticipant.joined_at)
    )
    out: dict[uuid.UUID, MeetingParticipant] = {}
    for p in rows:
        out[p.user_id] = p  # the latest join wins
    return out


async def current_focus(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], deadline_after: datetime
) -> dict[uuid.UUID, FocusSession]:
    """Running sessions whose planned end plus grace (``deadline_after`` = now - grace) is ahead."""
    rows = await session.scalars(
        select(FocusSession)
        .where(
            FocusSession.user_id.in_(list(user_ids)),
            FocusSession.ended_at.is_(None),
            FocusSession.planned_end_time > deadline_after,
        )
        .order_by(FocusSession.start_time)
    )
    out: dict[uuid.UUID, FocusSession] = {}
    for s in rows:
        out[s.user_id] = s
    return out


async def busy_events(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], now: datetime, horizon: datetime
) -> list[tuple[uuid.UUID, CalendarEvent]]:
    """(user, event) for the users' blocking calendar events running now or starting before
    ``horizon``; a recurring event gives one transient row per occurrence in that window."""
    rows = await session.execute(
        select(CalendarAttendee.user_id, CalendarEvent)
        .join(CalendarEvent, CalendarEvent.event_id == CalendarAttendee.event_id)
        .where(
            CalendarAttendee.user_id.in_(list(user_ids)),
            CalendarEvent.cancelled.is_(False),
            CalendarEvent.is_all_day.is_(False),
            CalendarEvent.event_type.in_(BUSY_TYPES),
            CalendarEvent.start_time < horizon,
            CalendarEvent.recurrence.is_not(None) | (CalendarEvent.end_time > now),
        )
    )
    found: list[tuple[uuid.UUID, CalendarEvent]] = []
    for user_id, ev in rows:
        if ev.recurrence is None:
            found.append((user_id, ev))
            continue
        exdates = frozenset(ev.exdates or ())
        for start, end in occurrences(
            ev.start_time, ev.end_time, ev.timezone, ev.recurrence, exdates, now, horizon
        ):
            occurrence = CalendarEvent(
                event_id=ev.event_id,
                team_id=ev.team_id,
                event_type=ev.event_type,
                start_time=start,
                end_time=end,
                is_all_day=False,
                version=ev.version,
            )  # transient: never added to the session
            found.append((user_id, occurrence))
    found.sort(key=lambda pair: pair[1].start_time)
    return found


# ---- focus ------------------------------------------------------------------------------------


async def upsert_focus(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = pg_insert(FocusSession).values(**values)
    update_cols: dict[str, Any] = {
        k: stmt.excluded[k]
        for k in ("team_id", "task_id", "focus_type", "start_time", "planned_end_time")
    }
    # an end is never undone (a late `started` after `ended` keeps it ended)
    update_cols["ended_at"] = func.coalesce(FocusSession.ended_at, stmt.excluded.ended_at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["session_id"], set_=update_cols)
    )


# ---- meetings ---------------------------------------------------------------------------------


async def participant_joined(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    user_id: uuid.UUID,
    team_id: uuid.UUID | None,
    at: datetime,
) -> None:
    stmt = pg_insert(MeetingParticipant).values(
        meeting_id=meeting_id, user_id=user_id, team_id=team_id, joined_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["meeting_id", "user_id"],
            set_={
                "joined_at": func.greatest(
                    func.coalesce(MeetingParticipant.joined_at, stmt.excluded.joined_at),
                    stmt.excluded.joined_at,
                ),
                "team_id": func.coalesce(stmt.excluded.team_id, MeetingParticipant.team_id),
            },
        )
    )


async def participant_left(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    user_id: uuid.UUID,
    team_id: uuid.UUID | None,
    at: datetime,
) -> None:
    stmt = pg_insert(MeetingParticipant).values(
        meeting_id=meeting_id, user_id=user_id, team_id=team_id, left_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["meeting_id", "user_id"],
            set_={
                "left_at": func.greatest(
                    func.coalesce(MeetingParticipant.left_at, stmt.excluded.left_at),
                    stmt.excluded.left_at,
                )
            },
        )
    )


async def meeting_ended(
    session: AsyncSession, meeting_id: uuid.UUID, at: datetime
) -> list[uuid.UUID]:
    """Mark the meeting over; its participants (whose status may change)."""
    await session.execute(
        pg_insert(EndedMeeting)
        .values(meeting_id=meeting_id, ended_at=at)
        .on_conflict_do_nothing(index_elements=["meeting_id"])
    )
    rows = await session.scalars(
        select(MeetingParticipant.user_id).where(MeetingParticipant.meeting_id == meeting_id)
    )
    return list(rows)


# ---- calendar ---------------------------------------------------------------------------------


async def calendar_people(session: AsyncSession, event_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(CalendarAttendee.user_id).where(CalendarAttendee.event_id == event_id)
    )
    return list(rows)


async def upsert_calendar_event(
    session: AsyncSession, values: dict[str, Any], people: Sequence[uuid.UUID] | None
) -> bool:
    """Apply a calendar event's state unless a newer one was applied; True if applied. ``people``
    (creator and attendees) replace the old list when given."""
    stmt = pg_insert(CalendarEvent).values(**values)
    cols = {k: stmt.excluded[k] for k in values if k != "event_id"}
    applied = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["event_id"],
                set_=cols,
                where=CalendarEvent.version <= stmt.excluded.version,
            ).returning(CalendarEvent.event_id)
        )
    ).first()
    if applied is None:
        return False
    if people is not None:
        event_id = values["event_id"]
        await session.execute(delete(CalendarAttendee).where(CalendarAttendee.event_id == event_id))
        if people:
            await session.execute(
                pg_insert(CalendarAttendee)
                .values([{"event_id": event_id, "user_id": u} for u in dict.fromkeys(people)])
                .on_conflict_do_nothing()
            )
    return True


async def cancel_calendar_event(
    session: AsyncSession, event_id: uuid.UUID, version: datetime
) -> bool:
    result = await session.execute(
        update(CalendarEvent)
        .where(CalendarEvent.event_id == event_id, CalendarEvent.version <= version)
        .values(cancelled=True, version=version)
        .returning(CalendarEvent.event_id)
    )
    return result.first() is not None


# ---- sockets and replicas -------------------------------------------------------------------


async def add_connection(
    session: AsyncSession,
    socket_id: uuid.UUID,
    user_id: uuid.UUID,
    replica_id: uuid.UUID,
    now: datetime,
) -> None:
    await session.execute(
        pg_insert(Connection)
        .values(socket_id=socket_id, user_id=user_id, replica_id=replica_id, connected_at=now)
        .on_conflict_do_nothing(index_elements=["socket_id"])
    )


async def remove_connection(session: AsyncSession, socket_id: uuid.UUID) -> uuid.UUID | None:
    return (
        await session.execute(
            delete(Connection)
            .where(Connection.socket_id == socket_id)
            .returning(Connection.user_id)
        )
    ).scalar_one_or_none()


async def mark_connected(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Presence)
        .where(Presence.user_id == user_id)
        .values(last_active_at=now, disconnected_at=None)
    )


async def mark_disconnected(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """The user's last socket closed (if none is left on any replica)."""
    left = (
        await session.execute(select(func.count()).where(Connection.user_id == user_id))
    ).scalar_one()
    if int(left) == 0:
        await session.execute(
            update(Presence).where(Presence.user_id == user_id).values(disconnected_at=now)
        )


async def heartbeat(session: AsyncSession, replica_id: uuid.UUID, now: datetime) -> None:
    stmt = pg_insert(Replica).values(replica_id=replica_id, started_at=now, seen_at=now)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["replica_id"], set_={"seen_at": now})
    )


async def claim_dead_replicas(session: AsyncSession, seen_before: datetime) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Replica.replica_id)
        .where(Replica.seen_at < seen_before)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def drop_replica(session: AsyncSession, replica_id: uuid.UUID) -> list[uuid.UUID]:
    """Forget a replica and its sockets; the users who had one there."""
    users = await session.scalars(
        delete(Connection).where(Connection.replica_id == replica_id).returning(Connection.user_id)
    )
    out = list(dict.fromkeys(users))
    await session.execute(delete(Replica).where(Replica.replica_id == replica_id))
    return out
