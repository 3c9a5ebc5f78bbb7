"""All SQL of events, attendees and EXDATEs."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vc_calendar.models import CalendarEvent, EventAttendee, EventExdate, UserTimezone, membership


async def get(
    session: AsyncSession, event_id: uuid.UUID, *, lock: bool = False
) -> CalendarEvent | None:
    stmt = select(CalendarEvent).where(CalendarEvent.id == event_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found: CalendarEvent | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def attendees_of(session: AsyncSession, event_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(EventAttendee.user_id)
        .where(EventAttendee.event_id == event_id)
        .order_by(EventAttendee.user_id)
    )
    return [r[0] for r in rows]


async def attendees_by_event(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not event_ids:
        return out
    rows = await session.execute(
        select(EventAttendee.event_id, EventAttendee.user_id)
        .where(EventAttendee.event_id.in_(event_ids))
        .order_by(EventAttendee.event_id, EventAttendee.user_id)
    )
    for event_id, user_id in rows:
        out[event_id].append(user_id)
    return out


async def set_attendees(
    session: AsyncSession, event_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(delete(EventAttendee).where(EventAttendee.event_id == event_id))
    if user_ids:
        await session.execute(
            insert(EventAttendee), [{"event_id": event_id, "user_id": u} for u in user_ids]
        )


async def exdates_of(session: AsyncSession, event_id: uuid.UUID) -> list[datetime]:
    rows = await session.execute(
        select(EventExdate.occurrence_start)
        .where(EventExdate.event_id == event_id)
        .order_by(EventExdate.occurrence_start)
    )
    return [r[0] for r in rows]


async def exdates_by_event(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[datetime]]:
    out: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    if not event_ids:
        return out
    rows = await session.execute(
        select(EventExdate.event_id, EventExdate.occurrence_start)
        .where(EventExdate.event_id.in_(event_ids))
        .order_by(EventExdate.event_id, EventExdate.occurrence_start)
    )
    for event_id, start in rows:
        out[event_id].append(start)
    return out


async def add_exdate(session: AsyncSession, event_id: uuid.UUID, start: datetime) -> None:
    await session.execute(
        pg_insert(EventExdate)
        .values(event_id=event_id, occurrence_start=start)
        .on_conflict_do_nothing()
    )


async def replace_exdates(
    session: AsyncSession, event_id: uuid.UUID, starts: Sequence[datetime]
) -> None:
    await session.execute(delete(EventExdate).where(EventExdate.event_id == event_id))
    if starts:
        await session.execute(
            insert(EventExdate), [{"event_id": event_id, "occurrence_start": s} for s in starts]
        )


async def visible_events(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_ids: Sequence[uuid.UUID],
    window_from: datetime | None,
    window_to: datetime | None,
    *,
    team_id: uuid.UUID | None = None,
) -> list[CalendarEvent]:
    """Events (series included) the user may see that may overlap the window: their personal
    ones and those of their teams (``team_id``: that team's only). ``None`` bounds: open."""
    e = CalendarEvent
    if team_id is not None:
        who = e.team_id == team_id
    else:
        mine = (e.team_id.is_(None)) & (e.created_by_id == user_id)
        who = or_(mine, e.team_id.in_(team_ids)) if team_ids else mine
    stmt = select(e).where(who)
    if window_to is not None:
        stmt = stmt.where(e.start_time < window_to)
    if window_from is not None:
        # a zero-length event at the window's start still counts (hence >=)
        stmt = stmt.where(or_(e.series_end.is_(None), e.series_end >= window_from))
    return list((await session.execute(stmt)).scalars())


async def caller(session: AsyncSession, user_id: uuid.UUID) -> tuple[str | None, list[uuid.UUID]]:
    """The caller's profile timezone (None: unknown) and teams (the membership projection), in
    one round trip: every range query needs both."""
    tz = select(UserTimezone.timezone).where(UserTimezone.user_id == user_id).scalar_subquery()
    t = membership.team_members
    teams = (
        select(func.array_agg(t.c.team_id))
        .where(t.c.user_id == user_id, t.c.role.is_not(None))
        .scalar_subquery()
    )
    row = (await session.execute(select(tz, teams))).one()
    return row[0], list(row[1] or ())


async def visible_event_rows(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_ids: Sequence[uuid.UUID],
    window_from: datetime,
    window_to: datetime,
    *,
    team_id: uuid.UUID | None = None,
) -> list[Any]:
    """:func:`visible_events` for the range query, in one round trip: plain rows (no ORM
    objects: a month holds hundreds) with their ``attendee_ids`` and ``exdates`` arrays."""
    e = CalendarEvent.__table__
    a = EventAttendee.__table__
    x = EventExdate.__table__
    if team_id is not None:
        who = e.c.team_id == team_id
    else:
        mine = (e.c.team_id.is_(None)) & (e.c.created_by_id == user_id)
        who = or_(mine, e.c.team_id.in_(list(team_ids))) if team_ids else mine
    attendees = (
        select(func.array_agg(aggregate_order_by(a.c.user_id, a.c.user_id)))
        .where(a.c.event_id == e.c.id)
        .scalar_subquery()
    )
    exdates = (
        select(func.array_agg(x.c.occurrence_start)).where(x.c.event_id == e.c.id).scalar_subquery()
    )
    stmt = select(
        e.c.id,
        e.c.title,
        e.c.description,
        e.c.start_time,
        e.c.end_time,
        e.c.event_type,
        e.c.created_by_id,
        e.c.team_id,
        e.c.is_all_day,
        e.c.location,
        e.c.timezone,
        e.c.recurrence,
        attendees.label("attendee_ids"),
        exdates.label("exdates"),
    ).where(
        who,
        e.c.start_time < window_to,
        or_(e.c.series_end.is_(None), e.c.series_end >= window_from),
    )
    return list((await session.execute(stmt)).all())


async def delete_event(session: AsyncSession, event_id: uuid.UUID) -> None:
    await session.execute(delete(CalendarEvent).where(CalendarEvent.id == event_id))


async def delete_team_events(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(CalendarEvent).where(CalendarEvent.team_id == team_id))
