from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from focus.days import elapsed_minutes, split_minutes, zone
from vc_common.timezones import is_valid_timezone


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(0, 0), (29, 0), (30, 1), (89, 1), (90, 2), (25 * 60 - 1, 25), (-10, 0)],
)
def test_minutes_round_half_up(seconds: int, minutes: int) -> None:
    start = utc("2026-11-24T10:00:00")
    assert elapsed_minutes(start, start + timedelta(seconds=seconds)) == minutes


@pytest.mark.parametrize(
    ("tz", "start", "end", "split"),
    [
        (
            "UTC",
            "2026-11-24T23:00:00",
            "2026-11-25T01:00:00",
            {date(2026, 11, 24): 60, date(2026, 11, 25): 60},
        ),
        (
            "America/Los_Angeles",
            "2026-11-25T07:30:00",
            "2026-11-25T09:00:00",
            {date(2026, 11, 24): 30, date(2026, 11, 25): 60},
        ),
        (
            "Asia/Kolkata",
            "2026-11-24T18:00:00",
            "2026-11-24T19:00:00",
            {date(2026, 11, 24): 30, date(2026, 11, 25): 30},
        ),
        # fall back in Los Angeles (2026-11-01 has 25 hours): 23:00 PDT to 03:00 PST is 5 hours
        (
            "America/Los_Angeles",
            "2026-11-01T06:00:00",
            "2026-11-01T11:00:00",
            {date(2026, 10, 31): 60, date(2026, 11, 1): 240},
        ),
        # spring forward (2026-03-08 has 23 hours): 23:00 PST to 04:00 PDT is 4 hours
        (
            "America/Los_Angeles",
            "2026-03-08T07:00:00",
            "2026-03-08T11:00:00",
            {date(2026, 3, 7): 60, date(2026, 3, 8): 180},
        ),
        # seconds either side of midnight round on each side, and still add up
        ("UTC", "2026-11-24T23:59:50", "2026-11-25T00:25:10", {date(2026, 11, 25): 25}),
        (
            "UTC",
            "2026-11-24T23:35:40",
            "2026-11-25T00:00:20",
            {date(2026, 11, 24): 24, date(2026, 11, 25): 1},
        ),
        # more than a day (a stop long after a 480-minute session, before the grace runs out)
        (
            "UTC",
            "2026-11-24T20:00:00",
            "2026-11-26T01:00:00",
            {date(2026, 11, 24): 240, date(2026, 11, 25): 1440, date(2026, 11, 26): 60},
        ),
    ],
)
def test_split_over_local_days(tz: str, start: str, end: str, split: dict[date, int]) -> None:
    s, e = utc(start), utc(end)
    result = split_minutes(s, e, zone(tz))
    assert result == split
    assert sum(result.values()) == elapsed_minutes(s, e)


def test_unknown_zones_fall_back_to_utc() -> None:
    assert zone("Mars/Olympus_Mons").key == "UTC"
    assert zone(None).key == "UTC"
    assert is_valid_timezone("Asia/Kolkata")
    assert not is_valid_timezone("Mars/Olympus_Mons")
    assert not is_valid_timezone("../etc/passwd")
    assert not is_valid_timezone(42)
