"""Attendance from the intervals of one participant (pure functions).

A participant's stays are intervals ``[joined_at, left_at)`` (``left_at`` None while they are
in). ``join_time`` is the first join, ``leave_time`` the last leave, ``attended`` the length of
the union of the intervals (two devices at once count once), open ones up to ``now``. The status
is ``joined`` while an interval is open, ``left`` once they all closed, ``invited`` before any.

Provider webhooks may arrive in any order, so an interval's bounds only ever move by ``min``:
a connection's ``joined`` and ``left`` (keyed by its connection id) land on one row whichever
comes first, a repeat changes nothing, and a ``left`` that came first is never reopened by its
late ``joined``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Interval(Protocol):
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class Summary:
    status: str
    join_time: datetime | None
    leave_time: datetime | None
    closed_seconds: int  # the union of the closed intervals
    attended_seconds: int  # the union of all, open ones up to ``now``


def _union_seconds(spans: Iterable[tuple[datetime, datetime]]) -> int:
    total = 0.0
    cur_start: datetime | None = None
    cur_end: datetime | None = None
    for start, end in sorted(spans):
        if end <= start:
            continue
        if cur_end is None or start > cur_end:
            if cur_start is not None and cur_end is not None:
                total += (cur_end - cur_start).total_seconds()
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    if cur_start is not None and cur_end is not None:
        total += (cur_end - cur_start).total_seconds()
    return round(total)


def summarize(intervals: Iterable[Interval], now: datetime) -> Summary:
    rows = list(intervals)
    if not rows:
        return Summary("invited", None, None, 0, 0)
    closed = [(i.joined_at, max(i.left_at, i.joined_at)) for i in rows if i.left_at is not None]
    opened = [(i.joined_at, max(now, i.joined_at)) for i in rows if i.left_at is None]
    return Summary(
        status="joined" if opened else "left",
        join_time=min(i.joined_at for i in rows),
        leave_time=max((end for _, end in closed), default=None),
        closed_seconds=_union_seconds(closed),
        attended_seconds=_union_seconds(closed + opened),
    )


def minutes(seconds: int) -> int:
    """Whole minutes, half up (a 30-second drop-in is a minute, 29 seconds is none)."""
    return (seconds + 30) // 60
