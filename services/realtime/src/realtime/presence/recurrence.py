"""The occurrences of a recurring calendar event near now, for ``busy``.

The calendar service owns recurrence (its RRULE subset is checked there); realtime only learns
``recurrence``, ``timezone`` and ``exdates`` from calendar's events and expands them the same
way, with python-dateutil on the event's wall clock (a weekly 09:00 Europe/Berlin meeting stays
at 09:00 Berlin time across a DST change), over the small window the now looks at.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

log = logging.getLogger("realtime.presence")

_UNTIL_DATE = re.compile(r"^\d{8}$")
MAX_OCCURRENCES = 50


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _rule(text: str, dtstart: datetime, tz: ZoneInfo) -> rrule | None:
    pieces = []
    for piece in text.split(";"):
        if piece.startswith("UNTIL=") and _UNTIL_DATE.match(piece[6:]):
            day = date(int(piece[6:10]), int(piece[10:12]), int(piece[12:14]))
            midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
            pieces.append("UNTIL=" + midnight.strftime("%Y%m%dT%H%M%SZ"))
        else:
            pieces.append(piece)
    try:
        built = rrulestr(";".join(pieces), dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        log.warning("recurrence %r not expanded: %s", text, exc)
        return None
    return built if isinstance(built, rrule) else None


def occurrences(
    start: datetime,
    end: datetime,
    tz_name: str | None,
    recurrence: str,
    exdates: frozenset[datetime],
    window_from: datetime,
    window_to: datetime,
) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC of the occurrences overlapping ``[window_from, window_to)``."""
    tz = _zone(tz_name)
    local_start = start.astimezone(tz)
    wall = end.astimezone(tz).replace(tzinfo=None) - local_start.replace(tzinfo=None)
    rule = _rule(recurrence, local_start, tz)
    if rule is None:
        return []
    out: list[tuple[datetime, datetime]] = []
    lo = (window_from - (end - start) - timedelta(days=1)).astimezone(tz)
    for occ in rule.xafter(max(lo, local_start), inc=True):
        s = occ.astimezone(UTC)
        if s >= window_to or len(out) >= MAX_OCCURRENCES:
            break
        e = (occ.replace(tzinfo=None) + wall).replace(tzinfo=tz).astimezone(UTC)
        if e > window_from and s not in exdates:
            out.append((s, e))
    return out
