"""The meeting's state machine, in this one place::

    scheduled ──start / first join──▶ in_progress ──end / auto / room_finished──▶ completed
        └──────────cancel──────────▶ cancelled

:func:`transition` is the only code that changes ``Meeting.status``; any other move is a 409.
Callers hold the meeting's row lock (``SELECT ... FOR UPDATE``) when they call it, so two ends,
or an end and a join, are serialized by PostgreSQL and the second one sees the first one's
result (see ``service``).

:func:`completion_due` says when a meeting nobody ended is over: when its participants have all
left and the last one left ``grace`` ago (it ended when they left), or ``overrun`` after its
``end_time`` (it ended then). It depends only on the data and "now", never on when the job ran:
a join, a webhook or the job looking at the same meeting reach the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from vc_common.errors import Conflict

from meetings.meetings.models import Meeting

SCHEDULED, IN_PROGRESS, COMPLETED, CANCELLED = "scheduled", "in_progress", "completed", "cancelled"

TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({IN_PROGRESS, CANCELLED}),
    IN_PROGRESS: frozenset({COMPLETED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}

_VERB = {IN_PROGRESS: "started", COMPLETED: "ended", CANCELLED: "cancelled"}


def can(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition(meeting: Meeting, target: str, at: datetime, *, ended_by: str | None = None) -> None:
    """Move ``meeting`` (whose row the caller has locked) to ``target`` at ``at``; 409 when the
    state machine has no such move (a second end, a join-start of a cancelled meeting...)."""
    current = meeting.status
    if not can(current, target):
        raise Conflict(
            f"A {current.replace('_', ' ')} meeting cannot be {_VERB.get(target, target)}.",
            meeting_status=current,
        )
    meeting.status = target
    if target == IN_PROGRESS:
        meeting.started_at = at
    elif target == COMPLETED:
        assert meeting.started_at is not None
        meeting.ended_at = max(at, meeting.started_at)
        meeting.ended_by = ended_by


@dataclass(frozen=True, slots=True)
class Presence:
    """Who is in the meeting now: participants joined, and the last leave of anyone."""

    joined: int
    last_left_at: datetime | None


class Timed(Protocol):
    """What :func:`completion_due` reads of a meeting (a ``Meeting``, or the columns a join
    read of it)."""

    @property
    def status(self) -> str: ...

    @property
    def end_time(self) -> datetime: ...


def completion_due(
    meeting: Timed, presence: Presence, now: datetime, *, grace: timedelta, overrun: timedelta
) -> datetime | None:
    """The instant a meeting in progress that nobody ended is over at, if it is over by
    ``now``; else None."""
    if meeting.status != IN_PROGRESS:
        return None
    deadline = meeting.end_time + overrun
    empty_since = presence.last_left_at if presence.joined == 0 else None
    if empty_since is not None and empty_since <= deadline and empty_since + grace <= now:
        return empty_since
    if deadline <= now:
        return deadline
    return None
