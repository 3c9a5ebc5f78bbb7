"""Rules of the focus timer.

- One running session per user: checked here (409) and enforced by the partial unique index
  ``uq_focus_sessions_running_user`` (a concurrent start that slips past the check is a 409 too).
- Ending a session (stop, or the auto-end job) locks its row and only ends a session whose
  ``end_time`` is NULL, so it ends exactly once. A second stop returns the ended session
  unchanged (200), without another event.
- A session nobody stops is ended at ``planned_end_time`` with ``actual = planned`` once
  ``planned_end_time + grace`` has passed. A stop arriving after that deadline, before the job got
  to it, ends it the same way, so the result never depends on when the job ran.
- Minutes count on the user's local days (timezone from identity's events, UTC until known).
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.ids import uuid7
from vc_common.pagination import PageParams

from focus import events
from focus.days import day_start, local_date, split_minutes, zone
from focus.models import FocusSession, FocusSessionDay, membership
from focus.sessions import repository
from focus.sessions.schemas import FocusSessionCreate
from focus.settings import settings_of
from focus.stats.service import record_ended
from focus.users.repository import get_timezone, lock_user

log = logging.getLogger("focus.sessions")

PLANNED_MINUTES = {"pomodoro": 25, "deep_work": 90}


def planned_minutes(body: FocusSessionCreate) -> int:
    fixed = PLANNED_MINUTES.get(body.focus_type)
    if fixed is None:  # custom
        if body.duration_minutes is None:
            raise Invalid(
                "A custom session needs duration_minutes (1 to 480).",
                loc=["body", "duration_minutes"],
            )
        return body.duration_minutes
    if body.duration_minutes is not None and body.duration_minutes != fixed:
        raise Invalid(
            f"A {body.focus_type} session lasts {fixed} minutes; use `custom` for another length.",
            loc=["body", "duration_minutes"],
        )
    return fixed


def overdue_cutoff(ctx: Context) -> datetime:
    """A running session whose planned end is before this instant is overdue."""
    return ctx.now() - timedelta(minutes=settings_of(ctx).focus_grace_minutes)


def is_overdue(ctx: Context, s: FocusSession) -> bool:
    """Running past its planned end plus the grace period: it behaves as ended as planned."""
    return s.end_time is None and s.planned_end_time < overdue_cutoff(ctx)


async def end_session(ctx: Context, s: FocusSession, *, notes: str | None = None) -> None:
    """End a running session whose row the caller has locked: by the user now, or as planned
    when it is overdue. Writes its day split, the day totals, goals and events."""
    assert s.end_time is None
    session = ctx.session
    await lock_user(session, s.user_id)
    timezone = await get_timezone(session, s.user_id)
    tz = zone(timezone)
    if is_overdue(ctx, s):
        s.end_time = s.planned_end_time
        s.auto_ended = True
    else:
        s.end_time = max(ctx.now(), s.start_time)
    split = split_minutes(s.start_time, s.end_time, tz)
    s.actual_duration_minutes = s.duration_minutes if s.auto_ended else sum(split.values())
    s.is_completed = s.actual_duration_minutes >= s.duration_minutes
    s.timezone = timezone
    s.end_date = local_date(s.end_time, tz)
    if notes is not None:
        s.notes = notes
    s.days = [
        FocusSessionDay(session_id=s.id, date=d, user_id=s.user_id, team_id=s.team_id, minutes=m)
        for d, m in sorted(split.items())
    ]
    await session.flush()
    await record_ended(ctx, s, split)
    await events.session_ended(session, s, split)


async def start(ctx: Context, body: FocusSessionCreate) -> FocusSession:
    planned = planned_minutes(body)
    if body.task_id is not None and body.team_id is None:
        raise Invalid(
            "A session for a task names the task's team (team_id).", loc=["body", "team_id"]
        )
    if body.team_id is not None:
        await ctx.authorize(body.team_id, "focus.for_team")
    session, user, now = ctx.session, ctx.user, ctx.now()
    running = await repository.get_running(session, user.id, for_update=True)
    if running is not None:
        if not is_overdue(ctx, running):
            raise Conflict(
                "You already have a running focus session; stop it first.",
                session_id=str(running.id),
            )
        await end_session(ctx, running)
    s = FocusSession(
        id=uuid7(),
        user_id=user.id,
        team_id=body.team_id,
        task_id=body.task_id,
        focus_type=body.focus_type,
        start_time=now,
        planned_end_time=now + timedelta(minutes=planned),
        duration_minutes=planned,
        is_completed=False,
        interruptions=0,
        notes=body.notes,
        auto_ended=False,
        created_at=now,
        days=[],
    )
    session.add(s)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        # a concurrent start won the partial unique index
        raise Conflict("You already have a running focus session; stop it first.") from exc
    await events.session_started(session, s, await get_timezone(session, user.id))
    return s


async def current(ctx: Context) -> FocusSession:
    s = await repository.get_running(ctx.session, ctx.user.id)
    if s is None or is_overdue(ctx, s):
        raise NotFound("No running focus session.")
    return s


async def get(ctx: Context, session_id: uuid.UUID) -> FocusSession:
    s = await repository.get_owned(ctx.session, session_id, ctx.user.id)
    if s is None:
        raise NotFound("Focus session not found.")
    return s


async def interrupt(ctx: Context, session_id: uuid.UUID) -> FocusSession:
    session, user = ctx.session, ctx.user
    s = await repository.get_owned(session, session_id, user.id, for_update=True)
    if s is None:
        raise NotFound("Focus session not found.")
    if s.end_time is not None or is_overdue(ctx, s):
        raise Conflict("The focus session has already ended.")
    s.interruptions += 1
    await session.flush()
    await events.session_interrupted(session, s, await get_timezone(session, user.id))
    return s


async def stop(ctx: Context, session_id: uuid.UUID, notes: str | None) -> FocusSession:
    s = await repository.get_owned(ctx.session, session_id, ctx.user.id, for_update=True)
    if s is None:
        raise NotFound("Focus session not found.")
    if s.end_time is not None:
        return s  # already ended (a retried stop, or the auto-end job): unchanged
    await end_session(ctx, s, notes=notes)
    return s


async def auto_end_due(ctx: Context) -> int:
    """One tick of the auto-end job: end up to a batch of overdue sessions, as planned.

    The rows are claimed with ``FOR UPDATE SKIP LOCKED`` (planned end + grace before the app's
    clock, not the database's ``now()``) and ended in the tick's unit of work with their
    events, so any number of replicas run it at once: a session is ended by exactly one of
    them, or by the user's stop, which takes the same row lock."""
    batch = settings_of(ctx).focus_auto_end_batch_size
    ids = await repository.lock_overdue(ctx.session, overdue_cutoff(ctx), batch)
    if not ids:
        return 0
    ended = 0
    for s in sorted(await repository.get_many(ctx.session, ids), key=lambda x: x.planned_end_time):
        if s.end_time is None:
            await end_session(ctx, s)
            ended += 1
    log.info("auto-ended %d focus session(s)", ended)
    return ended


def _bounds(value: date | datetime | None, tz_name: str, *, end: bool) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise Invalid(
                "Timestamps need a UTC offset (RFC 3339).", loc=["query", "to" if end else "from"]
            )
        return value
    return day_start(value + timedelta(days=1) if end else value, zone(tz_name))


async def history(
    ctx: Context,
    params: PageParams,
    *,
    start_from: date | datetime | None,
    start_to: date | datetime | None,
    task_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> tuple[list[FocusSession], str | None]:
    session, user = ctx.session, ctx.user
    tz_name = await get_timezone(session, user.id)
    lo = _bounds(start_from, tz_name, end=False)
    hi = _bounds(start_to, tz_name, end=True)
    if (
        lo is not None
        and hi is not None
        and (lo > hi or (not isinstance(start_to, datetime) and lo >= hi))
    ):
        raise Invalid("`from` must not be after `to`.", loc=["query", "from"])
    return await repository.list_for_user(
        session, user.id, params, start_from=lo, start_before=hi, task_id=task_id, team_id=team_id
    )


async def focusing_now(ctx: Context, team_id: uuid.UUID) -> list[FocusSession]:
    """The running (not overdue) sessions of the team's members (members only)."""
    await ctx.authorize(team_id, "team.focus_now")
    member_ids = await membership.member_ids(ctx.session, team_id)
    return await repository.running_of_users(ctx.session, member_ids, overdue_cutoff(ctx))


async def task_time(
    ctx: Context, task_id: uuid.UUID, team_id: uuid.UUID | None
) -> list[tuple[uuid.UUID, int, int]]:
    """Per user (minutes, sessions) on the task, over the teams of the caller that the task's
    sessions name. 404 when the caller is a member of none of them."""
    if team_id is not None:
        await ctx.authorize(team_id, "task.focus_time")
        teams = [team_id]
    else:
        teams = [
            t
            for t in await repository.task_team_ids(ctx.session, task_id)
            if ctx.allows("task.focus_time", await ctx.membership(t))
        ]
        if not teams:
            raise NotFound("Task not found.")
    return await repository.task_time_by_user(ctx.session, task_id, teams)
