"""The rules: counting one event (live), recomputing a range (rebuild), reading daily rows."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from vc_common.errors import Invalid
from vc_common.events.envelope import CloudEvent
from vc_common.timezones import user_timezone_of

from analytics.aggregates import repository as repo
from analytics.aggregates.effects import (
    REBUILD_MARGIN,
    Effects,
    credited_user,
    effects_of,
    occurred_at,
    team_of,
)
from analytics.aggregates.schemas import TeamAnalyticsRead, UserAnalyticsRead

log = logging.getLogger("analytics.aggregates")

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


# --- live consumption ------------------------------------------------------------------------


_PENDING = "analytics.pending"


async def count_event(session: AsyncSession, event: CloudEvent) -> None:
    """Count one event in the consumer's transaction (exactly once with its inbox row).

    The event is buffered on the session and every buffered event of the transaction (a whole
    broker batch) is applied together just before it commits (:func:`flush_pending`): a few
    set-based statements per batch instead of several per event.
    """
    pending: list[CloudEvent] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sa_event.listen(session.sync_session, "before_commit", _before_commit, once=True)
    pending.append(event)


def _before_commit(sync_session: Session) -> None:
    flush_pending(sync_session)


async def flush_now(session: AsyncSession) -> None:
    """Apply what is buffered now (before a change that must not affect earlier events)."""
    if session.info.get(_PENDING):
        await session.run_sync(flush_pending)


def flush_pending(session: Session) -> None:
    """Apply the buffered events: lock + lookups, log rows, summed upserts (3 statements)."""
    events: list[CloudEvent] = session.info.pop(_PENDING, None) or []
    session.info[_PENDING] = []
    if not events:
        return
    facts = []
    for e in events:
        when = occurred_at(e.type, e.data, e.time)
        facts.append((e, when, team_of(e.data), credited_user(e.type, e.data)))
    lookup = repo.lock_shared_and_lookup(
        session,
        (u for *_, u in facts if u is not None),
        (t for _, _, t, _ in facts if t is not None),
    )
    rows = [
        repo.LogRow(e.id, e.type, when, team, user, lookup.timezone(user), e.data)
        for e, when, team, user in facts
    ]
    fresh = repo.log_events(session, rows)
    total = Effects()
    for row in rows:
        if row.id not in fresh:
            continue  # logged before: already counted
        fresh.discard(row.id)
        fx = effects_of(
            row.type,
            row.time,
            row.data,
            user_timezone=row.user_timezone,
            team_alive=row.team_id not in lookup.deleted_teams,
        )
        total.merge(fx)
        if fx.attendance is not None:
            repo.record_attendance(session, fx.attendance, row.id)
    repo.apply_effects(session, total)


async def set_user_timezone(session: AsyncSession, event: CloudEvent) -> None:
    stated = user_timezone_of(event)
    if stated is None:
        return
    user_id, timezone = stated
    await flush_now(session)  # events before this one in the batch keep the old zone
    await repo.upsert_timezone(session, user_id, timezone, event.time)


# --- ranges ----------------------------------------------------------------------------------


def check_range(
    start: date | None, end: date | None, *, today: date | None = None, where: str = "query"
) -> tuple[date, date]:
    """``from``/``to`` of a request: both ends included, at most 366 days, ``from <= to``.

    Defaults: ``to`` today (UTC), ``from`` 29 days before ``to`` (30 days)."""
    end = end or today or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise Invalid("`from` must not be after `to`.", loc=[where, "from"])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(f"The range may span at most {MAX_RANGE_DAYS} days.", loc=[where, "to"])
    return start, end


# --- rebuild ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    start: date
    end: date
    events: int
    team_rows: int
    user_rows: int


async def rebuild(session: AsyncSession, start: date, end: date) -> RebuildResult:
    """Recompute every aggregate of ``[start, end]`` from the raw log, in ``session``.

    Deterministic: the same pure :func:`effects_of` as live consumption, applied to the logged
    events (each with the timezone it was counted in), restricted to the days of the range.
    Meeting attendance comes from ``meeting_attendance`` (the record of which join counted).
    """
    await repo.lock_exclusive(session)
    await repo.delete_range(session, start, end)
    since = datetime.combine(start, time.min, UTC) - REBUILD_MARGIN
    until = datetime.combine(end + timedelta(days=1), time.min, UTC) + REBUILD_MARGIN
    events = await repo.logged_events(session, since, until)
    deleted = await repo.deleted_team_ids(
        session, (t for e in events if (t := team_of(e.data)) is not None)
    )
    activity: set[tuple[uuid.UUID, date, uuid.UUID]] = set()
    team: dict[tuple[uuid.UUID, date], list[int]] = {}
    user: dict[tuple[uuid.UUID, date], list[int]] = {}
    for e in events:
        fx = effects_of(
            e.type,
            e.time,
            e.data,
            user_timezone=e.user_timezone,
            team_alive=team_of(e.data) not in deleted,
        )
        for (team_id, day), v in fx.team.items():
            if start <= day <= end:
                acc = team.setdefault((team_id, day), [0, 0, 0, 0])
                for i in range(3):
                    acc[i] += v[i]
        for (user_id, day), v in fx.user.items():
            if start <= day <= end:
                acc = user.setdefault((user_id, day), [0, 0, 0])
                for i in range(3):
                    acc[i] += v[i]
        activity.update(a for a in fx.activity if start <= a[1] <= end)
    for team_id, day, _ in activity:
        team.setdefault((team_id, day), [0, 0, 0, 0])[3] += 1
    for key, n in (await repo.attendance_counts(session, start, end)).items():
        user.setdefault(key, [0, 0, 0])[2] += n
    await repo.insert_rebuilt(session, activity, team, user)
    await session.flush()
    return RebuildResult(start, end, len(events), len(team), len(user))


# --- reads -----------------------------------------------------------------------------------


async def team_analytics(
    session: AsyncSession, team_id: uuid.UUID, start: date, end: date
) -> list[TeamAnalyticsRead]:
    rows = await repo.team_rows(session, team_id, start, end)
    out = []
    for day in repo.day_range(start, end):
        r = rows.get(day)
        out.append(
            TeamAnalyticsRead(
                date=day,
                active_members=r.active_members if r else 0,
                completed_tasks=r.completed_tasks if r else 0,
                total_focus_minutes=r.total_focus_minutes if r else 0,
                meetings_count=r.meetings_count if r else 0,
            )
        )
    return out


async def user_analytics(
    session: AsyncSession, user_id: uuid.UUID, start: date, end: date
) -> list[UserAnalyticsRead]:
    rows = await repo.user_rows(session, user_id, start, end)
    out = []
    for day in repo.day_range(start, end):
        r = rows.get(day)
        out.append(
            UserAnalyticsRead(
                date=day,
                completed_tasks=r.completed_tasks if r else 0,
                focus_minutes=r.focus_minutes if r else 0,
                meetings_attended=r.meetings_attended if r else 0,
            )
        )
    return out
