"""The team's "now": one status per person, derived from what they are doing.

Precedence: ``in_meeting`` (joined a meeting not yet left or ended) > ``focusing`` (a focus
session running: not ended, and its planned end plus focus' grace not passed) > ``busy`` (a
blocking calendar event in progress: type meeting or other, not all-day) > ``online`` (a live
socket, active within ``realtime_away_after``) > ``away`` (sockets, but idle that long) >
``offline``. A user whose last socket closed keeps their socket status ``realtime_offline_grace``
seconds (a reconnect to the other replica is not a flap).

Every fact lives in the service's database (kept from events and sockets), so the status is the
same on every replica and after a restart: :func:`derive` is a pure function of the facts and
the time. :func:`recompute` locks the user's ``presence`` row, derives, and when the status (or
what it is about) changed, stores it and publishes ``realtime.presence.changed`` through the
outbox, once per team of the user, with what that team may see: a meeting's id only to the
meeting's team, a focus session's task only to its team. Each row also keeps ``next_check_at``,
the next moment time alone may change the status (a focus deadline, a calendar boundary, going
away), which the ``presence`` job claims: changes are pushed when they happen, never on a timer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vc_common.context import Context

from realtime import events
from realtime.models import CalendarEvent, FocusSession, MeetingParticipant, Presence, membership
from realtime.presence import repository as repo

IN_MEETING, FOCUSING, BUSY, ONLINE, AWAY, OFFLINE = (
    "in_meeting",
    "focusing",
    "busy",
    "online",
    "away",
    "offline",
)
STATUSES = (IN_MEETING, FOCUSING, BUSY, ONLINE, AWAY, OFFLINE)
BUSY_HORIZON = timedelta(days=1)


@dataclass(frozen=True)
class Rules:
    away_after: timedelta = timedelta(minutes=15)
    offline_grace: timedelta = timedelta(seconds=5)
    focus_grace: timedelta = timedelta(minutes=5)

    @classmethod
    def of(cls, settings: Any) -> Rules:
        if settings is None or not hasattr(settings, "realtime_away_after"):
            return cls()
        return cls(
            away_after=timedelta(seconds=settings.realtime_away_after),
            offline_grace=timedelta(seconds=settings.realtime_offline_grace),
            focus_grace=timedelta(minutes=settings.realtime_focus_grace_minutes),
        )


@dataclass
class Facts:
    connections: int = 0
    last_active_at: datetime | None = None
    disconnected_at: datetime | None = None
    meeting: MeetingParticipant | None = None
    focus: FocusSession | None = None
    busy: list[CalendarEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Status:
    status: str
    since: datetime
    details: dict[str, Any]
    next_check_at: datetime | None

    def same_as(self, row: Presence) -> bool:
        return self.status == row.status and self.details == (row.details or {})


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def derive(f: Facts, now: datetime, rules: Rules) -> Status:
    checks: list[datetime] = []
    if f.focus is not None:
        checks.append(f.focus.planned_end_time + rules.focus_grace)
    running = [e for e in f.busy if e.start_time <= now < e.end_time]
    checks += [e.start_time for e in f.busy if e.start_time > now]
    checks += [e.end_time for e in running]
    connected = f.connections > 0
    if not connected and f.disconnected_at is not None:
        grace_end = f.disconnected_at + rules.offline_grace
        if now < grace_end:
            connected = True
            checks.append(grace_end)
    if connected:
        checks.append((f.last_active_at or now) + rules.away_after)
    next_check = min((c for c in checks if c > now), default=None)

    if f.meeting is not None and f.meeting.joined_at is not None:
        details: dict[str, Any] = {"meeting_id": str(f.meeting.meeting_id)}
        if f.meeting.team_id:
            details["team_id"] = str(f.meeting.team_id)
        return Status(IN_MEETING, f.meeting.joined_at, details, next_check)
    if f.focus is not None:
        s = f.focus
        details = {
            "session_id": str(s.session_id),
            "until": _iso(s.planned_end_time),
            "focus_type": s.focus_type,
        }
        if s.task_id:
            details["task_id"] = str(s.task_id)
        if s.team_id:
            details["team_id"] = str(s.team_id)
        return Status(FOCUSING, s.start_time, details, next_check)
    if running:
        e = max(running, key=lambda ev: ev.end_time)
        details = {"until": _iso(e.end_time), "event_id": str(e.event_id)}
        if e.team_id:
            details["team_id"] = str(e.team_id)
        return Status(BUSY, min(ev.start_time for ev in running), details, next_check)
    if connected:
        last = f.last_active_at or now
        if now - last >= rules.away_after:
            return Status(AWAY, last + rules.away_after, {}, next_check)
        return Status(ONLINE, now, {}, next_check)
    since = (f.disconnected_at + rules.offline_grace) if f.disconnected_at else now
    return Status(OFFLINE, min(since, now), {}, next_check)


def view_for(team_id: uuid.UUID, status: str, details: dict[str, Any]) -> dict[str, Any]:
    """What a team sees of a status: the meeting, the session's task or the event only when they
    are that team's."""
    mine = details.get("team_id") == str(team_id)
    out: dict[str, Any] = {}
    if status == IN_MEETING:
        out["meeting_id"] = details.get("meeting_id") if mine else None
    elif status == FOCUSING:
        out["until"] = details.get("until")
        out["focus_type"] = details.get("focus_type")
        out["task_id"] = details.get("task_id") if mine else None
    elif status == BUSY:
        out["until"] = details.get("until")
    return out


# ---- facts of many users -----------------------------------------------------------------------


async def facts_of(
    ctx: Context, user_ids: Sequence[uuid.UUID], rows: dict[uuid.UUID, Presence]
) -> dict[uuid.UUID, Facts]:
    session, now, rules = ctx.session, ctx.now(), Rules.of(ctx.settings)
    counts = await repo.connection_counts(session, user_ids)
    meetings = await repo.current_meetings(session, user_ids)
    focus = await repo.current_focus(session, user_ids, now - rules.focus_grace)
    busy: dict[uuid.UUID, list[CalendarEvent]] = {}
    for user, ev in await repo.busy_events(session, user_ids, now, now + BUSY_HORIZON):
        busy.setdefault(user, []).append(ev)
    out = {}
    for u in user_ids:
        row = rows.get(u)
        out[u] = Facts(
            connections=counts.get(u, 0),
            last_active_at=row.last_active_at if row else None,
            disconnected_at=row.disconnected_at if row else None,
            meeting=meetings.get(u),
            focus=focus.get(u),
            busy=busy.get(u, []),
        )
    return out


# ---- recomputing and announcing ----------------------------------------------------------------


async def recompute(ctx: Context, user_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Derive the users' statuses now; store and announce the ones that changed (returned)."""
    session, now = ctx.session, ctx.now()
    changed = []
    for user_id in sorted(set(user_ids)):  # one lock order: no deadlock between recomputes
        row = await repo.lock_presence(session, user_id, now)
        status = derive(
            (await facts_of(ctx, [user_id], {user_id: row}))[user_id], now, Rules.of(ctx.settings)
        )
        row.next_check_at = status.next_check_at
        if status.same_as(row):
            continue
        previous = row.status
        row.status, row.since, row.details = status.status, status.since, status.details
        await announce(ctx, user_id, status, previous)
        changed.append(user_id)
    await session.flush()
    return changed


async def announce(ctx: Context, user_id: uuid.UUID, status: Status, previous: str) -> None:
    for team_id in await membership.team_ids_of(ctx.session, user_id):
        await events.presence_changed(
            ctx,
            team_id=team_id,
            user_id=user_id,
            status=status.status,
            previous_status=previous,
            since=status.since,
            view=view_for(team_id, status.status, status.details),
        )


# ---- the team's now ----------------------------------------------------------------------------


async def team_now(ctx: Context, team_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every member's status at this moment (derived now, so never behind the jobs), with the
    ``since`` announced when the announcement is still the same status."""
    await ctx.authorize(team_id, "presence.read")
    session, now = ctx.session, ctx.now()
    users = sorted(await membership.member_ids(session, team_id))
    rows = await repo.presences(session, users)
    facts = await facts_of(ctx, users, rows)
    rules = Rules.of(ctx.settings)
    out = []
    for u in users:
        status = derive(facts[u], now, rules)
        row = rows.get(u)
        since = row.since if row is not None and status.same_as(row) else status.since
        out.append(
            {
                "user_id": u,
                "status": status.status,
                "since": since,
                **view_for(team_id, status.status, status.details),
            }
        )
    return out


async def team_online(ctx: Context, team_id: uuid.UUID) -> list[uuid.UUID]:
    """Members with a live socket (any replica, or within the offline grace): chat's
    ``/presence`` answer, from the one presence of the platform."""
    await ctx.authorize(team_id, "presence.read")
    users = sorted(await membership.member_ids(ctx.session, team_id))
    rows = await repo.presences(ctx.session, users)
    facts = await facts_of(ctx, users, rows)
    now, rules = ctx.now(), Rules.of(ctx.settings)
    online = []
    for u in users:
        f = facts[u]
        if f.connections > 0 or (
            f.disconnected_at is not None and now < f.disconnected_at + rules.offline_grace
        ):
            online.append(u)
    return online


# ---- what changes a status ---------------------------------------------------------------------


async def socket_opened(
    ctx: Context, socket_id: uuid.UUID, user_id: uuid.UUID, replica_id: uuid.UUID
) -> None:
    now = ctx.now()
    await repo.lock_presence(ctx.session, user_id, now)
    await repo.add_connection(ctx.session, socket_id, user_id, replica_id, now)
    await repo.mark_connected(ctx.session, user_id, now)
    await recompute(ctx, [user_id])


async def socket_closed(ctx: Context, socket_id: uuid.UUID) -> None:
    user_id = await repo.remove_connection(ctx.session, socket_id)
    if user_id is None:
        return
    await repo.lock_presence(ctx.session, user_id, ctx.now())
    await repo.mark_disconnected(ctx.session, user_id, ctx.now())
    await recompute(ctx, [user_id])


async def activity(ctx: Context, user_id: uuid.UUID) -> None:
    """The client says its user is active: an away user is online again at once."""
    before = await repo.touch_activity(ctx.session, user_id, ctx.now())
    if before in (AWAY, OFFLINE):
        await recompute(ctx, [user_id])


async def due(ctx: Context, limit: int = 200) -> int:
    """The ``presence`` job: users whose ``next_check_at`` passed (a focus deadline, a calendar
    boundary, idle long enough to be away, the offline grace over)."""
    users = await repo.claim_due(ctx.session, ctx.now(), limit)
    if users:
        await recompute(ctx, users)
    return len(users)


async def heartbeat(ctx: Context, replica_id: uuid.UUID) -> None:
    await repo.heartbeat(ctx.session, replica_id, ctx.now())


async def sweep_dead_replicas(ctx: Context, ttl: float) -> int:
    """Sockets of a replica that stopped heartbeating (it crashed) are gone: its users are
    recomputed (offline after the grace, unless they are connected elsewhere)."""
    dead = await repo.claim_dead_replicas(ctx.session, ctx.now() - timedelta(seconds=ttl))
    users: list[uuid.UUID] = []
    for replica_id in dead:
        users += await repo.drop_replica(ctx.session, replica_id)
    for u in dict.fromkeys(users):
        await repo.lock_presence(ctx.session, u, ctx.now())
        await repo.mark_disconnected(ctx.session, u, ctx.now())
    if users:
        await recompute(ctx, users)
    return len(dead)


async def drop_own_replica(ctx: Context, replica_id: uuid.UUID) -> None:
    """A replica shutting down forgets its sockets at once (its users reconnect elsewhere)."""
    users = await repo.drop_replica(ctx.session, replica_id)
    for u in users:
        await repo.lock_presence(ctx.session, u, ctx.now())
        await repo.mark_disconnected(ctx.session, u, ctx.now())
    if users:
        await recompute(ctx, users)


def parse_time(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return default
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
