"""The rules: counting one event (live), recomputing a range (rebuild), reading daily rows."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from vc_common.context import Context
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


async def count_events(session: AsyncSession, events: list[CloudEvent]) -> None:
    """Count a run of events in the consumer's transaction (exactly once with their inbox
    rows): a few set-based statements for the whole run (the consumer hands it every run of
    consecutive counted events of a broker batch, ``Consumer.on_batch``)."""
    if events:
        await session.run_sync(count_batch, events)


def count_batch(session: Session, events: list[CloudEvent]) -> None:
    """Apply the events: lock + lookups, log rows, summed upserts (3 statements)."""
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
    # events before this one in the batch were counted already (a run ends at this event), so
    # they keep the old zone
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


async def rebuild(ctx: Context, start: date, end: date) -> RebuildResult:
    """``POST /admin/analytics/rebuild``: staff only."""
    await ctx.authorize(None, "analytics.rebuild")
    return await rebuild_days(ctx.session, start, end)


async def rebuild_days(session: AsyncSession, start: date, end: date) -> RebuildResult:
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
    ctx: Context, team_id: uuid.UUID, start: date, end: date
) -> list[TeamAnalyticsRead]:
    await ctx.authorize(team_id, "analytics.read_team")
    rows = await repo.team_rows(ctx.session, team_id, start, end)
    storage = await repo.storage_levels(ctx.session, team_id, start, end)
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
                storage_bytes=storage[day],
            )
        )
    return out


async def count_storage(session: AsyncSession, event: CloudEvent) -> None:
    """``files.file.uploaded`` adds the file's size to its team's day, ``.deleted`` takes it
    away (the UTC day of the event); exactly once, by the consumer's inbox."""
    data = event.data
    size = int(data["size"])
    delta = size if event.type == "files.file.uploaded" else -size
    day = event.time.astimezone(UTC).date()
    await repo.add_storage(session, uuid.UUID(str(data["team_id"])), day, delta)


async def user_analytics(ctx: Context, start: date, end: date) -> list[UserAnalyticsRead]:
    """The actor's own days."""
    rows = await repo.user_rows(ctx.session, ctx.user.id, start, end)
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
