"""Recurrence: the contract's RRULE subset, checked, and expanded with python-dateutil.

The rule is expanded in the event's IANA zone from an *aware local* DTSTART (zoneinfo), so
dateutil steps the wall clock: a weekly 09:00 Europe/Berlin meeting is at 09:00 Berlin time on
both sides of a daylight-saving change (08:00Z in winter, 07:00Z in summer), and
``FREQ=MONTHLY;BYMONTHDAY=31`` (or a plain monthly rule started on the 31st) skips the months
without a 31st, as RFC 5545 says, instead of landing on the 30th or the 1st. A local time that
does not exist on a given day (02:30 on the spring-forward day) is read with the offset before
the gap, as RFC 5545 section 3.3.5 asks (zoneinfo's ``fold=0``).

Subset: ``FREQ`` (DAILY, WEEKLY, MONTHLY, YEARLY), ``INTERVAL``, ``COUNT``, ``UNTIL``,
``BYDAY`` (ordinals like ``-1FR`` only with MONTHLY/YEARLY), ``BYMONTHDAY`` (not with WEEKLY);
anything else is a :class:`RuleError` (a 422). ``start_time`` must be the first occurrence of
its rule: RFC 5545 leaves a DTSTART the rule does not produce undefined, and clients disagree on
it (most count it as an extra first occurrence, dateutil drops it), so it is refused rather than
shown differently here and in the feed.

Every occurrence is identified by its start instant in UTC (``occurrence_start``); EXDATEs are
those instants. An occurrence lasts as long as the first one on the wall clock (what a client
computing ``DTEND - DTSTART`` in the event's zone does), so an all-day event stays whole local
days across a DST change.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY")
MAX_COUNT = 1000
MAX_INTERVAL = 1000
# A series' occurrences a single answer may list (a daily rule over 366 days is 366).
MAX_OCCURRENCES_PER_QUERY = 1500

_BYDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_UTC = re.compile(r"^\d{8}T\d{6}Z$")
_UNTIL_LOCAL = re.compile(r"^\d{8}T\d{6}$")
_UNTIL_DATE = re.compile(r"^\d{8}$")


class RuleError(ValueError):
    """The recurrence is not a rule of the subset (or not one at all)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked rule in canonical form (``text``: UNTIL in UTC, or a DATE for all-day events)."""

    text: str
    freq: str
    interval: int
    count: int | None
    until: datetime | None  # the UNTIL instant (UTC); inclusive


@dataclass(frozen=True, slots=True)
class Occurrence:
    start: datetime  # UTC
    end: datetime  # UTC


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def rfc3339(dt: datetime) -> str:
    """``2027-03-29T07:00:00Z`` (microseconds only when there are some)."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant (UTC) a local day starts (the first instant of that date in ``tz``)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse_until(value: str, tz: ZoneInfo, all_day: bool) -> tuple[datetime, str]:
    """The UNTIL instant (UTC) and its canonical spelling."""
    try:
        if _UNTIL_UTC.match(value):
            instant = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        elif _UNTIL_LOCAL.match(value):
            instant = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz).astimezone(UTC)
        elif _UNTIL_DATE.match(value):
            day = datetime.strptime(value, "%Y%m%d").date()
            # a date: occurrences starting on that local day are still in (inclusive)
            end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=tz)
            instant = (
                local_midnight(day, tz) if all_day else end_of_day.astimezone(UTC)
            ).astimezone(UTC)
        else:
            raise ValueError(value)
    except ValueError:
        raise RuleError(
            f"UNTIL={value} is not a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)."
        ) from None
    if all_day:
        local_day = instant.astimezone(tz).date()
        return local_midnight(local_day, tz), local_day.strftime("%Y%m%d")
    return instant, instant.strftime("%Y%m%dT%H%M%SZ")


def parse_rule(text: str, tz_name: str, *, all_day: bool = False) -> Rule:
    """Check ``text`` against the subset and put it in canonical form, or raise RuleError."""
    raw = text.strip()
    if raw.upper().startswith("RRULE:"):
        raw = raw[6:]
    if not raw:
        raise RuleError("The recurrence is empty.")
    if len(raw) > 400:
        raise RuleError("The recurrence is too long.")
    tz = zone(tz_name)
    parts: dict[str, str] = {}
    for piece in raw.split(";"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not value:
            raise RuleError(f"`{piece}` is not NAME=VALUE.")
        if name not in PARTS:
            raise RuleError(
                f"{name} is not supported; a recurrence may use {', '.join(PARTS)} only."
            )
        if name in parts:
            raise RuleError(f"{name} is given twice.")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("FREQ is required.")
    if freq not in FREQS:
        raise RuleError(f"FREQ={freq} is not supported; use {', '.join(FREQS)}.")
    out = [f"FREQ={freq}"]
    interval = 1
    if "INTERVAL" in parts:
        if not parts["INTERVAL"].isdigit() or not 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL:
            raise RuleError(f"INTERVAL must be a whole number from 1 to {MAX_INTERVAL}.")
        interval = int(parts["INTERVAL"])
        if interval != 1:
            out.append(f"INTERVAL={interval}")
    count = None
    until = None
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("COUNT and UNTIL cannot both be given.")
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit() or not 1 <= int(parts["COUNT"]) <= MAX_COUNT:
            raise RuleError(f"COUNT must be a whole number from 1 to {MAX_COUNT}.")
        count = int(parts["COUNT"])
        out.append(f"COUNT={count}")
    if "UNTIL" in parts:
        until, spelled = _parse_until(parts["UNTIL"], tz, all_day)
        out.append(f"UNTIL={spelled}")
    if "BYDAY" in parts:
        days = []
        for d in parts["BYDAY"].split(","):
            m = _BYDAY.match(d.strip())
            if m is None:
                raise RuleError(f"BYDAY={parts['BYDAY']}: `{d}` is not a weekday (MO..SU).")
            if m[2] is not None:
                if freq not in ("MONTHLY", "YEARLY"):
                    raise RuleError("BYDAY ordinals (like 1MO or -1FR) need FREQ=MONTHLY/YEARLY.")
                limit = 5 if freq == "MONTHLY" else 53
                if not 1 <= int(m[2]) <= limit:
                    raise RuleError(f"BYDAY={parts['BYDAY']}: `{d}` has an impossible ordinal.")
            days.append(f"{m[1]}{int(m[2]) if m[2] else ''}{m[3]}")
        out.append("BYDAY=" + ",".join(days))
    if "BYMONTHDAY" in parts:
        if freq == "WEEKLY":
            raise RuleError("BYMONTHDAY cannot be used with FREQ=WEEKLY.")
        monthdays = []
        for v in parts["BYMONTHDAY"].split(","):
            try:
                n = int(v)
            except ValueError:
                raise RuleError(f"BYMONTHDAY: `{v}` is not a day of the month.") from None
            if n == 0 or not -31 <= n <= 31:
                raise RuleError(f"BYMONTHDAY: `{v}` is not a day of the month (1..31, -1..-31).")
            monthdays.append(str(n))
        out.append("BYMONTHDAY=" + ",".join(monthdays))
    rule = Rule(";".join(out), freq, interval, count, until)
    try:
        _dateutil_rule(rule.text, datetime(2000, 1, 1, tzinfo=tz))
    except (ValueError, TypeError) as exc:  # pragma: no cover - the checks above are stricter
        raise RuleError(f"The recurrence cannot be read: {exc}.") from None
    return rule


@lru_cache(maxsize=4096)
def _cached_rule(text: str, dtstart: datetime) -> rrule:
    return _dateutil_rule(text, dtstart)


def _dateutil_rule(text: str, dtstart: datetime) -> rrule:
    pieces = []
    for piece in text.split(";"):
        if piece.startswith("UNTIL=") and _UNTIL_DATE.match(piece[6:]):
            day = datetime.strptime(piece[6:], "%Y%m%d").date()
            assert isinstance(dtstart.tzinfo, ZoneInfo)
            pieces.append("UNTIL=" + local_midnight(day, dtstart.tzinfo).strftime("%Y%m%dT%H%M%SZ"))
        else:
            pieces.append(piece)
    built = rrulestr(";".join(pieces), dtstart=dtstart, cache=True)
    assert isinstance(built, rrule)
    return built


@dataclass(frozen=True, slots=True)
class Series:
    """An event's timing: its first occurrence, its zone, its rule (or none), its EXDATEs."""

    start: datetime  # UTC
    end: datetime  # UTC
    tz_name: str
    rule: str | None = None
    exdates: frozenset[datetime] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.tz_name)

    def _local_start(self) -> datetime:
        return self.start.astimezone(self.tz)

    def _wall_duration(self) -> timedelta:
        """DTEND - DTSTART on the wall clock of the zone (as clients compute it)."""
        s, e = self.start.astimezone(self.tz), self.end.astimezone(self.tz)
        return e.replace(tzinfo=None) - s.replace(tzinfo=None)

    def _end_of(self, start_local: datetime, wall: timedelta) -> datetime:
        naive = start_local.replace(tzinfo=None) + wall
        return naive.replace(tzinfo=self.tz).astimezone(UTC)

    def first_is_an_occurrence(self) -> bool:
        if self.rule is None:
            return True
        first = _cached_rule(self.rule, self._local_start()).after(self._local_start(), inc=True)
        return first is not None and utc(first) == self.start

    def occurrences(self, window_from: datetime, window_to: datetime) -> list[Occurrence]:
        """Every occurrence overlapping ``[window_from, window_to)``, in start order, without
        the EXDATEs. A zero-length occurrence overlaps when it starts inside the window.

        A series is expanded a (UTC) year at a time, and each year's expansion is kept in a
        process-wide LRU keyed by everything it depends on (rule, first occurrence, zone): a
        month view asked again (by anyone who sees the series) slices a cached list instead of
        walking the rule again. EXDATEs are applied after, so dropping an occurrence needs no
        invalidation, and a changed rule or time is a different key."""
        if self.rule is None:
            if _overlaps(self.start, self.end, window_from, window_to):
                return [Occurrence(self.start, self.end)]
            return []
        exdates = self.exdates
        out: list[Occurrence] = []
        # an occurrence starting up to one duration (plus a DST hour) before the window may
        # still overlap it
        lo = window_from - (self.end - self.start) - timedelta(days=1)
        for year in range(max(lo.year, self.start.year), window_to.year + 1):
            bucket = _year_of(self.rule, self.start, self.end, self.tz_name, year)
            first = bisect_left(bucket, lo, key=_start_of) if lo.year == year else 0
            for start, end in islice(bucket, first, None):
                if start >= window_to:
                    return out
                if start == end:
                    if start < window_from:
                        continue
                elif end <= window_from:
                    continue
                if exdates and start in exdates:
                    continue
                out.append(Occurrence(start, end))
                if len(out) >= MAX_OCCURRENCES_PER_QUERY:
                    return out
        return out

    def _skip_ahead(self, local_start: datetime, lo: datetime) -> rrule | None:
        """For DAILY/WEEKLY rules without COUNT, a rule of the same occurrences from a DTSTART
        a whole number of periods later, just before ``lo``: an old daily series is expanded
        from near the window instead of from its first day (COUNT rules and monthly/yearly ones
        are iterated from the start; they are short)."""
        assert self.rule is not None
        parts = dict(p.split("=", 1) for p in self.rule.split(";"))
        if "COUNT" in parts or parts["FREQ"] not in ("DAILY", "WEEKLY"):
            return None
        period_days = (1 if parts["FREQ"] == "DAILY" else 7) * int(parts.get("INTERVAL", "1"))
        gap = (lo.replace(tzinfo=None) - local_start.replace(tzinfo=None)).days
        # one period of margin (the first week of a shifted weekly rule is partial), rounded down
        # to about eight weeks so that nearby windows share one cached rule
        chunk = max(1, 56 // period_days)
        periods = (gap // period_days - 1) // chunk * chunk
        if periods <= 0:
            return None
        naive = local_start.replace(tzinfo=None) + timedelta(days=periods * period_days)
        return _cached_rule(self.rule, naive.replace(tzinfo=self.tz))

    def contains(self, occurrence_start: datetime) -> bool:
        """Whether ``occurrence_start`` is an occurrence of the series (EXDATEs excluded)."""
        occ = self.occurrences(occurrence_start, occurrence_start + timedelta(microseconds=1))
        return any(o.start == occurrence_start for o in occ)

    def next_after(self, instant: datetime, skip: Collection[datetime] = ()) -> Occurrence | None:
        """The first occurrence starting strictly after ``instant`` and not in ``skip``."""
        wall = self._wall_duration()
        if self.rule is None:
            if self.start > instant and self.start not in skip:
                return Occurrence(self.start, self.end)
            return None
        local_start = self._local_start()
        rule = _cached_rule(self.rule, local_start)
        lo = instant.astimezone(self.tz)
        shifted = self._skip_ahead(local_start, lo - timedelta(days=1))
        if shifted is not None:
            rule = shifted
        for start_local in rule.xafter(lo, inc=False):
            start = utc(start_local)
            if start <= instant or start in self.exdates or start in skip:
                continue
            return Occurrence(start, self._end_of(start_local, wall))
        return None

    def series_end(self) -> datetime | None:
        """An upper bound of the end of the last occurrence (None: the series never ends)."""
        if self.rule is None:
            return self.end
        rule = _cached_rule(self.rule, self._local_start())
        wall = self._wall_duration()
        parts = dict(p.split("=", 1) for p in self.rule.split(";"))
        if "COUNT" in parts:
            last = None
            for last in rule:  # noqa: B007 - at most MAX_COUNT
                pass
            if last is None:
                return self.end
            return self._end_of(last, wall)
        if "UNTIL" in parts:
            until = rule._until  # the UTC instant dateutil compares with
            if until is None:  # pragma: no cover
                return None
            return utc(until) + wall + timedelta(hours=2)
        return None

    def is_empty(self) -> bool:
        if self.rule is None:
            return False
        rule = _cached_rule(self.rule, self._local_start())
        return rule.after(self._local_start(), inc=True) is None


def _start_of(pair: tuple[datetime, datetime]) -> datetime:
    return pair[0]


@lru_cache(maxsize=2048)
def _year_of(
    rule_text: str, start: datetime, end: datetime, tz_name: str, year: int
) -> tuple[tuple[datetime, datetime], ...]:
    """The (start, end) instants (UTC) of the occurrences starting in UTC year ``year``."""
    series = Series(start, end, tz_name, rule_text)
    tz = series.tz
    wall = series._wall_duration()
    local_start = start.astimezone(tz)
    lo = datetime(year, 1, 1, tzinfo=UTC)
    hi = datetime(year + 1, 1, 1, tzinfo=UTC)
    rule = series._skip_ahead(local_start, lo.astimezone(tz)) or _cached_rule(
        rule_text, local_start
    )
    out = []
    for start_local in rule.xafter(lo.astimezone(tz), inc=True):
        s = start_local.astimezone(UTC)
        if s >= hi:
            break
        # aware + timedelta is wall-clock arithmetic in the zone (what clients do)
        out.append((s, (start_local + wall).astimezone(UTC)))
    return tuple(out)


def _overlaps(start: datetime, end: datetime, lo: datetime, hi: datetime) -> bool:
    if start == end:
        return lo <= start < hi
    return start < hi and end > lo
