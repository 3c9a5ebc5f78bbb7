"""All SQL of the aggregates: the live upserts, the rebuild, the reads.

Live consumption writes one event in two round trips (the consumer's inbox row is the third):
a read of the user's timezone and the team's deletion (taking the shared aggregates lock), then
one statement whose CTEs insert the raw log row and, only if that row is new, add the event's
deltas (``INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x``), all in the transaction of
the inbox row. ``rebuild`` takes the same lock exclusively, so a range is never recomputed while
an event is half counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from vc_common.ids import uuid7
from vc_common.timezones import DEFAULT_TIMEZONE

from analytics.aggregates.effects import Attendance, Effects
from analytics.models import (
    AnalyticsEvent,
    MeetingAttendance,
    TeamActivity,
    TeamAnalytics,
    TeamStorageDay,
    UserAnalytics,
    UserTimezone,
    membership,
)


def _table(model: type[Any]) -> Table:
    """A mapped class's Table (``__table__`` is typed as the wider FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True, slots=True)
class LogRow:
    id: uuid.UUID
    type: str
    time: datetime
    team_id: uuid.UUID | None
    user_id: uuid.UUID | None
    user_timezone: str
    data: dict[str, Any]


# pg_advisory lock key of the aggregates: shared by live consumption, exclusive for rebuild
AGGREGATES_LOCK = 0x616E616C79746963  # "analytic"

_PRELUDE = text(
    """
    SELECT x.kind, x.id, x.value
    FROM (SELECT pg_advisory_xact_lock_shared(:lock)) AS l
    LEFT JOIN LATERAL (
        SELECT 'tz' AS kind, user_id AS id, timezone AS value
        FROM user_timezones WHERE user_id = ANY(CAST(:users AS uuid[]))
        UNION ALL
        SELECT 'deleted', team_id, NULL FROM deleted_teams
        WHERE team_id = ANY(CAST(:teams AS uuid[]))
    ) AS x ON true
    """
)

_LOG = text(
    """
    INSERT INTO analytics_events (id, type, time, team_id, user_id, user_timezone, data)
    SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:type AS varchar[]),
                         CAST(:time AS timestamptz[]), CAST(:team_id AS uuid[]),
                         CAST(:user_id AS uuid[]), CAST(:user_timezone AS varchar[]),
                         CAST(:data AS jsonb[]))
    ORDER BY 1
    ON CONFLICT (id) DO NOTHING
    RETURNING id
    """
)

_APPLY = text(
    """
    WITH act AS (
        INSERT INTO team_activity (team_id, date, user_id)
        SELECT a.team_id, a.date, a.user_id
        FROM unnest(CAST(:a_team AS uuid[]), CAST(:a_date AS date[]), CAST(:a_user AS uuid[]))
             AS a(team_id, date, user_id)
        ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING
        RETURNING team_id, date
    ),
    t AS (
        INSERT INTO team_analytics AS ta
            (id, team_id, date, active_members, completed_tasks, total_focus_minutes,
             meetings_count)
        SELECT d.id, d.team_id, d.date,
               (SELECT count(*) FROM act WHERE act.team_id = d.team_id AND act.date = d.date),
               d.completed, d.focus, d.meetings
        FROM unnest(CAST(:t_id AS uuid[]), CAST(:t_team AS uuid[]), CAST(:t_date AS date[]),
                    CAST(:t_completed AS int[]), CAST(:t_focus AS int[]),
                    CAST(:t_meetings AS int[]))
             AS d(id, team_id, date, completed, focus, meetings)
        ORDER BY 2, 3
        ON CONFLICT (team_id, date) DO UPDATE SET
            active_members = ta.active_members + excluded.active_members,
            completed_tasks = ta.completed_tasks + excluded.completed_tasks,
            total_focus_minutes = ta.total_focus_minutes + excluded.total_focus_minutes,
            meetings_count = ta.meetings_count + excluded.meetings_count,
            updated_at = now()
        RETURNING 1
    ),
    u AS (
        INSERT INTO user_analytics AS ua
            (id, user_id, date, completed_tasks, focus_minutes, meetings_attended)
        SELECT d.id, d.user_id, d.date, d.completed, d.focus, d.attended
        FROM unnest(CAST(:u_id AS uuid[]), CAST(:u_user AS uuid[]), CAST(:u_date AS date[]),
                    CAST(:u_completed AS int[]), CAST(:u_focus AS int[]),
                    CAST(:u_attended AS int[]))
             AS d(id, user_id, date, completed, focus, attended)
        ORDER BY 2, 3
        ON CONFLICT (user_id, date) DO UPDATE SET
            completed_tasks = ua.completed_tasks + excluded.completed_tasks,
            focus_minutes = ua.focus_minutes + excluded.focus_minutes,
            meetings_attended = ua.meetings_attended + excluded.meetings_attended,
            updated_at = now()
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM t) AS team_rows, (SELECT count(*) FROM u) AS user_rows
    """
)


@dataclass(frozen=True, slots=True)
class Lookup:
    timezones: dict[uuid.UUID, str]
    deleted_teams: set[uuid.UUID]

    def timezone(self, user_id: uuid.UUID | None) -> str:
        zone = self.timezones.get(user_id) if user_id is not None else None
        return str(zone or DEFAULT_TIMEZONE)


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(width)]
    for r in rows:
        for i, v in enumerate(r):
            cols[i].append(v)
    return cols


# The live path runs inside SQLAlchemy's ``before_commit`` hook (sync API, in the greenlet of
# the async session), so these take the sync ``Session``.


def lock_shared_and_lookup(
    session: Session, users: Iterable[uuid.UUID], teams: Iterable[uuid.UUID]
) -> Lookup:
    """Take the shared aggregates lock; users' timezones and which teams are deleted."""
    rows = session.execute(
        _PRELUDE,
        {"lock": AGGREGATES_LOCK, "users": sorted(set(users)), "teams": sorted(set(teams))},
    ).all()
    return Lookup(
        timezones={r.id: r.value for r in rows if r.kind == "tz"},
        deleted_teams={r.id for r in rows if r.kind == "deleted"},
    )


def log_events(session: Session, rows: Sequence[LogRow]) -> set[uuid.UUID]:
    """Insert the raw log rows; the ids that were new (a logged event is never counted twice)."""
    if not rows:
        return set()
    cols = _columns(
        (
            (
                r.id,
                r.type,
                r.time,
                r.team_id,
                r.user_id,
                r.user_timezone,
                orjson.dumps(r.data).decode(),
            )
            for r in rows
        ),
        7,
    )
    keys = ("id", "type", "time", "team_id", "user_id", "user_timezone", "data")
    result = session.execute(_LOG, dict(zip(keys, cols, strict=True)))
    return {r[0] for r in result}


def apply_effects(session: Session, fx: Effects) -> None:
    """Add summed deltas (one entry per key) with ``x = x + excluded.x`` upserts."""
    # every (team, day) with activity gets an upsert: it carries the active_members increment
    team_deltas = dict(fx.team)
    for team_id, day, _ in fx.activity:
        team_deltas.setdefault((team_id, day), [0, 0, 0])
    if not team_deltas and not fx.user:
        return
    a_team, a_date, a_user = _columns(sorted(fx.activity), 3)
    t_cols = _columns(((uuid7(), k[0], k[1], *v) for k, v in sorted(team_deltas.items())), 6)
    u_cols = _columns(((uuid7(), k[0], k[1], *v) for k, v in sorted(fx.user.items())), 6)
    session.execute(
        _APPLY,
        {
            "a_team": a_team,
            "a_date": a_date,
            "a_user": a_user,
            "t_id": t_cols[0],
            "t_team": t_cols[1],
            "t_date": t_cols[2],
            "t_completed": t_cols[3],
            "t_focus": t_cols[4],
            "t_meetings": t_cols[5],
            "u_id": u_cols[0],
            "u_user": u_cols[1],
            "u_date": u_cols[2],
            "u_completed": u_cols[3],
            "u_focus": u_cols[4],
            "u_attended": u_cols[5],
        },
    )


def record_attendance(session: Session, att: Attendance, event_id: uuid.UUID) -> bool:
    """The first join of a user to a meeting counts; True if this one did."""
    t = _table(MeetingAttendance)
    inserted = session.execute(
        pg_insert(t)
        .values(
            meeting_id=att.meeting_id,
            user_id=att.user_id,
            team_id=att.team_id,
            date=att.date,
            event_id=event_id,
        )
        .on_conflict_do_nothing()
        .returning(t.c.date)
    ).first()
    if inserted is None:
        return False
    u = _table(UserAnalytics)
    stmt = pg_insert(u).values(id=uuid7(), user_id=att.user_id, date=att.date, meetings_attended=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[u.c.user_id, u.c.date],
            set_={"meetings_attended": u.c.meetings_attended + 1, "updated_at": text("now()")},
        )
    )
    return True


async def upsert_timezone(
    session: AsyncSession, user_id: uuid.UUID, timezone: str, source_time: datetime
) -> bool:
    """Set the user's timezone unless a newer event already did; True when it changed."""
    t = _table(UserTimezone)
    stmt = (
        pg_insert(t)
        .values(user_id=user_id, timezone=timezone, source_time=source_time)
        .on_conflict_do_update(
            index_elements=[t.c.user_id],
            set_={"timezone": timezone, "source_time": source_time, "updated_at": text("now()")},
            where=t.c.source_time <= source_time,
        )
        .returning(t.c.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def delete_team_rows(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(TeamAnalytics).where(TeamAnalytics.team_id == team_id))
    await session.execute(delete(TeamStorageDay).where(TeamStorageDay.team_id == team_id))
    await session.execute(delete(TeamActivity).where(TeamActivity.team_id == team_id))
    # the log keeps the user-side facts (their own rows stay); unlink it from the team
    await session.execute(
        update(AnalyticsEvent).where(AnalyticsEvent.team_id == team_id).values(team_id=None)
    )


async def delete_everything(session: AsyncSession) -> None:
    """The reset hook of a backbone replay: forget every aggregate and the log."""
    for model in (
        TeamAnalytics,
        UserAnalytics,
        TeamActivity,
        AnalyticsEvent,
        MeetingAttendance,
        TeamStorageDay,
    ):
        await session.execute(delete(model))


# --- rebuild ---------------------------------------------------------------------------------


async def lock_exclusive(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": AGGREGATES_LOCK})


async def delete_range(session: AsyncSession, start: date, end: date) -> None:
    for model in (TeamAnalytics, UserAnalytics, TeamActivity):
        await session.execute(delete(model).where(model.date.between(start, end)))


async def logged_events(session: AsyncSession, since: datetime, until: datetime) -> Sequence[Any]:
    e = AnalyticsEvent
    stmt = (
        select(e.id, e.type, e.time, e.user_timezone, e.data)
        .where(e.time >= since, e.time < until)
        .order_by(e.time, e.id)
    )
    return (await session.execute(stmt)).all()


async def deleted_team_ids(session: AsyncSession, team_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(set(team_ids))
    if not ids:
        return set()
    d = membership.deleted_teams
    rows = await session.execute(select(d.c.team_id).where(d.c.team_id.in_(ids)))
    return {r[0] for r in rows}


async def attendance_counts(
    session: AsyncSession, start: date, end: date
) -> dict[tuple[uuid.UUID, date], int]:
    m = MeetingAttendance
    rows = await session.execute(
        select(m.user_id, m.date, text("count(*)"))
        .where(m.date.between(start, end))
        .group_by(m.user_id, m.date)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


async def insert_rebuilt(
    session: AsyncSession,
    activity: set[tuple[uuid.UUID, date, uuid.UUID]],
    team: dict[tuple[uuid.UUID, date], list[int]],
    user: dict[tuple[uuid.UUID, date], list[int]],
) -> None:
    """Insert a rebuilt range (its old rows were deleted under the exclusive lock)."""
    if activity:
        await session.execute(
            insert(_table(TeamActivity)),
            [{"team_id": t, "date": d, "user_id": u} for t, d, u in sorted(activity)],
        )
    if team:
        await session.execute(
            insert(_table(TeamAnalytics)),
            [
                {
                    "id": uuid7(),
                    "team_id": k[0],
                    "date": k[1],
                    "completed_tasks": v[0],
                    "total_focus_minutes": v[1],
                    "meetings_count": v[2],
                    "active_members": v[3],
                }
                for k, v in sorted(team.items())
            ],
        )
    if user:
        await session.execute(
            insert(_table(UserAnalytics)),
            [
                {
                    "id": uuid7(),
                    "user_id": k[0],
                    "date": k[1],
                    "completed_tasks": v[0],
                    "focus_minutes": v[1],
                    "meetings_attended": v[2],
                }
                for k, v in sorted(user.items())
            ],
        )


# --- reads -----------------------------------------------------------------------------------


async def team_rows(
    session: AsyncSession, team_id: uuid.UUID, start: date, end: date
) -> dict[date, TeamAnalytics]:
    rows = await session.scalars(
        select(TeamAnalytics).where(
            TeamAnalytics.team_id == team_id, TeamAnalytics.date.between(start, end)
        )
    )
    return {r.date: r for r in rows}


async def user_rows(
    session: AsyncSession, user_id: uuid.UUID, start: date, end: date
) -> dict[date, UserAnalytics]:
    rows = await session.scalars(
        select(UserAnalytics).where(
            UserAnalytics.user_id == user_id, UserAnalytics.date.between(start, end)
        )
    )
    return {r.date: r for r in rows}


async def add_storage(session: AsyncSession, team_id: uuid.UUID, day: date, delta: int) -> None:
    stmt = pg_insert(TeamStorageDay).values(team_id=team_id, date=day, delta_bytes=delta)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TeamStorageDay.team_id, TeamStorageDay.date],
            set_={"delta_bytes": TeamStorageDay.delta_bytes + stmt.excluded.delta_bytes},
        )
    )


async def storage_levels(
    session: AsyncSession, team_id: uuid.UUID, start: date, end: date
) -> dict[date, int]:
    """The team's stored bytes at the end of each day of the range."""
    t = TeamStorageDay
    base = await session.scalar(
        select(func.coalesce(func.sum(t.delta_bytes), 0)).where(
            t.team_id == team_id, t.date < start
        )
    )
    deltas = dict(
        (
            await session.execute(
                select(t.date, t.delta_bytes).where(
                    t.team_id == team_id, t.date.between(start, end)
                )
            )
        ).all()
    )
    level = int(base or 0)
    out = {}
    for day in day_range(start, end):
        level += int(deltas.get(day, 0))
        out[day] = level
    return out


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
