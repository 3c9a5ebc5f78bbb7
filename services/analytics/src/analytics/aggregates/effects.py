"""What one event adds to the aggregates: a pure function of the event, used both by live
consumption and by ``rebuild`` (so the two cannot disagree).

Rules (see the README):

- every event counts on the day it *happened*: the data's own time (``completed_at``,
  ``end_time``, ``timestamp``...) or else the CloudEvent ``time``; team rows by its UTC day, user
  rows by the user's local day (the user's timezone when the event was counted, UTC until known);
- ``tasks.task.completed``: ``completed_tasks`` + 1 for the team and for the assignee (the actor
  when the task has no assignee). Each completion event counts once; a reopened task that is
  completed again is a new completion event and counts again; a reopen subtracts nothing;
- ``focus.session.ended``: the user's ``focus_minutes`` per local day from ``minutes_by_day``; the
  team's ``total_focus_minutes`` from the same minutes split over the UTC days of
  ``[start_time, end_time]`` (largest remainder, so the split sums to ``actual_minutes``);
- ``meetings.meeting.ended``: ``meetings_count`` + 1 for the team; ``meetings.participant.joined``:
  ``meetings_attended`` + 1 for the user (once per meeting: see ``meeting_attendance``);
- every event with a ``team_id`` and an acting ``user_id`` marks that user active in the team on
  that UTC day (``active_members`` counts distinct users).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vc_common.timezones import DEFAULT_TIMEZONE

TASK_COMPLETED = "tasks.task.completed"
FOCUS_ENDED = "focus.session.ended"
MEETING_ENDED = "meetings.meeting.ended"
MEETING_JOINED = "meetings.participant.joined"

# Events that show a user at work in a team (besides the counted ones above).
ACTIVITY_EVENTS = (
    "tasks.task.created",
    "tasks.task.updated",
    "tasks.task.moved",
    "tasks.task.assigned",
    "tasks.task.reopened",
    "tasks.task.deleted",
    "tasks.comment.added",
    "tasks.board.created",
    "focus.session.started",
    "focus.session.interrupted",
    "chat.message.posted",
    "chat.room.created",
    "chat.room.updated",
    "chat.room.deleted",
)
COUNTED_EVENTS = (TASK_COMPLETED, FOCUS_ENDED, MEETING_ENDED, MEETING_JOINED)
ALL_EVENTS = COUNTED_EVENTS + ACTIVITY_EVENTS

# Where each type carries the moment it happened (first present wins, else CloudEvent `time`).
_TIME_FIELDS: dict[str, tuple[str, ...]] = {
    TASK_COMPLETED: ("completed_at",),
    "tasks.task.reopened": ("reopened_at",),
    "tasks.task.created": ("created_at",),
    "tasks.task.deleted": ("deleted_at",),
    "tasks.comment.added": ("created_at",),
    "tasks.board.created": ("created_at",),
    FOCUS_ENDED: ("end_time",),
    "focus.session.started": ("start_time",),
    "chat.message.posted": ("timestamp",),
    MEETING_ENDED: ("ended_at", "time"),
    MEETING_JOINED: ("joined_at", "time"),
}

# How far before/after a day an event that counts on it can be timestamped (local offsets of
# up to ±14 h, focus sessions of up to a day): rebuild reads the log over this margin.
REBUILD_MARGIN = timedelta(days=3)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return _parse_uuid(str(value))


@lru_cache(maxsize=65_536)
def _parse_uuid(text: str) -> uuid.UUID | None:
    """Cached: a batch names the same few users and teams over and over, and uuid.UUID() was
    0.65 of flush_pending's 3.8 s in the ingestion profile (UUIDs are immutable, so sharing one
    object is safe)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def occurred_at(type_: str, data: Mapping[str, Any], envelope_time: datetime) -> datetime:
    """When the event happened: the data's own time, else the CloudEvent ``time``."""
    for key in _TIME_FIELDS.get(type_, ()):
        t = parse_time(data.get(key))
        if t is not None:
            return t
    return envelope_time if envelope_time.tzinfo else envelope_time.replace(tzinfo=UTC)


def team_of(data: Mapping[str, Any]) -> uuid.UUID | None:
    return _uuid(data.get("team_id"))


def actor_of(data: Mapping[str, Any]) -> uuid.UUID | None:
    return _uuid(data.get("user_id"))


def credited_user(type_: str, data: Mapping[str, Any]) -> uuid.UUID | None:
    """The user whose own row the event counts on (and whose timezone picks the local day)."""
    if type_ == TASK_COMPLETED:
        return _uuid(data.get("assignee_id")) or actor_of(data)
    return actor_of(data)


def utc_day(t: datetime) -> date:
    return t.astimezone(UTC).date()


def local_day(t: datetime, timezone: str) -> date:
    return t.astimezone(zone(timezone)).date()


def split_minutes_by_utc_day(start: datetime, end: datetime, minutes: int) -> dict[date, int]:
    """``minutes`` spread over the UTC days of ``[start, end]`` in proportion to the overlap,
    rounded by largest remainder (ties: the earlier day) so the parts sum to ``minutes``."""
    if minutes <= 0:
        return {}
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return {end.date(): minutes}
    overlaps: list[tuple[date, float]] = []
    day = start.date()
    while day <= end.date():
        lo = max(start, datetime(day.year, day.month, day.day, tzinfo=UTC))
        hi = min(end, datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
        if hi > lo:
            overlaps.append((day, (hi - lo).total_seconds()))
        day += timedelta(days=1)
    total = sum(s for _, s in overlaps)
    shares = [(d, minutes * s / total) for d, s in overlaps]
    parts = {d: math.floor(x) for d, x in shares}
    left = minutes - sum(parts.values())
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i][1] % 1), i))
    for i in order[:left]:
        parts[shares[i][0]] += 1
    return {d: m for d, m in parts.items() if m > 0}


@dataclass(frozen=True, slots=True)
class Attendance:
    meeting_id: uuid.UUID
    user_id: uuid.UUID
    team_id: uuid.UUID | None
    date: date


@dataclass
class Effects:
    """Deltas of one event. Counters: team ``[completed, focus, meetings]``, user
    ``[completed, focus, attended]`` (``attended`` via :attr:`attendance`, once per meeting)."""

    team: dict[tuple[uuid.UUID, date], list[int]] = field(default_factory=dict)
    user: dict[tuple[uuid.UUID, date], list[int]] = field(default_factory=dict)
    activity: set[tuple[uuid.UUID, date, uuid.UUID]] = field(default_factory=set)
    attendance: Attendance | None = None

    def add_team(self, team_id: uuid.UUID, day: date, i: int, n: int) -> None:
        self.team.setdefault((team_id, day), [0, 0, 0])[i] += n

    def add_user(self, user_id: uuid.UUID, day: date, i: int, n: int) -> None:
        self.user.setdefault((user_id, day), [0, 0, 0])[i] += n

    def merge(self, other: Effects) -> None:
        """Add ``other``'s deltas (the attendance record is not merged: it is per event)."""
        for k, v in other.team.items():
            acc = self.team.setdefault(k, [0, 0, 0])
            for i in range(3):
                acc[i] += v[i]
        for k, v in other.user.items():
            acc = self.user.setdefault(k, [0, 0, 0])
            for i in range(3):
                acc[i] += v[i]
        self.activity |= other.activity

    @property
    def empty(self) -> bool:
        return not (self.team or self.user or self.activity or self.attendance)


def effects_of(
    type_: str,
    time: datetime,
    data: Mapping[str, Any],
    *,
    user_timezone: str,
    team_alive: bool,
) -> Effects:
    """The deltas of one event that happened at ``time`` (see :func:`occurred_at`).

    ``user_timezone`` is the credited user's zone; ``team_alive`` is False for a deleted team,
    whose rows are gone and never come back (its user rows still count).
    """
    fx = Effects()
    team_id = team_of(data) if team_alive else None
    actor = actor_of(data)
    credited = credited_user(type_, data)

    if type_ == TASK_COMPLETED:
        if team_id is not None:
            fx.add_team(team_id, utc_day(time), 0, 1)
        if credited is not None:
            fx.add_user(credited, local_day(time, user_timezone), 0, 1)
    elif type_ == FOCUS_ENDED:
        if actor is not None:
            for key, minutes in sorted((data.get("minutes_by_day") or {}).items()):
                try:
                    day, n = date.fromisoformat(key), int(minutes)
                except (TypeError, ValueError):
                    continue
                if n > 0:
                    fx.add_user(actor, day, 1, n)
        if team_id is not None:
            start = parse_time(data.get("start_time")) or time
            total = int(data.get("actual_minutes") or data.get("minutes") or 0)
            split = split_minutes_by_utc_day(start, time, total)
            for day, n in split.items():
                fx.add_team(team_id, day, 1, n)
                if actor is not None:
                    fx.activity.add((team_id, day, actor))
    elif type_ == MEETING_ENDED:
        if team_id is not None:
            fx.add_team(team_id, utc_day(time), 2, 1)
    elif type_ == MEETING_JOINED:
        meeting_id = _uuid(data.get("meeting_id"))
        if meeting_id is not None and actor is not None:
            fx.attendance = Attendance(
                meeting_id, actor, team_of(data), local_day(time, user_timezone)
            )

    if team_id is not None and actor is not None and type_ != FOCUS_ENDED:
        fx.activity.add((team_id, utc_day(time), actor))
    if type_ == FOCUS_ENDED and team_id is not None and actor is not None and not fx.activity:
        fx.activity.add((team_id, utc_day(time), actor))
    return fx
