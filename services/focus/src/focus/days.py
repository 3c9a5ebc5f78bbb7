"""Local days: how a span of time is counted on each local day of a user's timezone.

Minutes are whole minutes, rounded half up (a pomodoro stopped at 24:59.8 by a phone timer counts
25). A span that crosses local midnight counts on each day: the minutes before midnight on the
first day, the rest on the next. The split is cumulative (minutes elapsed at each midnight,
rounded the same way), so the days always add up to exactly the session's actual minutes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vc_common.timezones import DEFAULT_TIMEZONE

_MINUTE = timedelta(minutes=1)
_HALF_MINUTE = timedelta(seconds=30)


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The zone named ``name``; UTC when it is unknown or missing."""
    if not name:
        return ZoneInfo(DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def elapsed_minutes(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end``, rounded half up; never negative."""
    if end <= start:
        return 0
    return (end - start + _HALF_MINUTE) // _MINUTE


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of local day ``day`` (a skipped midnight: the transition)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def split_minutes(start: datetime, end: datetime, tz: ZoneInfo) -> dict[date, int]:
    """The minutes of ``start``..``end`` on each local day of ``tz`` (days with 0 left out)."""
    total = elapsed_minutes(start, end)
    out: dict[date, int] = {}
    day = local_date(start, tz)
    last = local_date(end, tz)
    done = 0
    while day < last:
        nxt = day + timedelta(days=1)
        upto = min(total, max(done, elapsed_minutes(start, day_start(nxt, tz))))
        if upto > done:
            out[day] = upto - done
        done = upto
        day = nxt
    if total > done:
        out[last] = out.get(last, 0) + total - done
    return out
