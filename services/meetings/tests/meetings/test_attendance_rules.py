"""The pure rules: attendance summed over stays (their union), and when a meeting nobody ended
is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meetings.meetings.attendance import minutes, summarize
from meetings.meetings.models import Meeting
from meetings.meetings.state import Presence, completion_due

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class Stay:
    joined_at: datetime
    left_at: datetime | None


def m(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_stays_are_summed_and_overlaps_count_once() -> None:
    s = summarize([Stay(m(0), m(10)), Stay(m(5), m(15)), Stay(m(30), m(40))], now=m(60))
    assert s.status == "left"
    assert (s.join_time, s.leave_time) == (m(0), m(40))
    assert s.attended_seconds == s.closed_seconds == 25 * 60


def test_an_open_stay_counts_up_to_now() -> None:
    s = summarize([Stay(m(0), m(10)), Stay(m(8), None)], now=m(20))
    assert s.status == "joined"
    assert s.leave_time == m(10)
    assert s.closed_seconds == 600
    assert s.attended_seconds == 20 * 60
    assert summarize([], now=m(1)).status == "invited"


def test_minutes_round_half_up() -> None:
    assert [minutes(x) for x in (0, 29, 30, 89, 90)] == [0, 0, 1, 1, 2]


def _meeting(status: str = "in_progress") -> Meeting:
    return Meeting(status=status, start_time=m(0), end_time=m(30))


GRACE, OVERRUN = timedelta(minutes=5), timedelta(minutes=60)


def test_over_when_everyone_left_a_grace_period_ago_at_the_last_leave() -> None:
    empty = Presence(joined=0, last_left_at=m(20))
    assert completion_due(_meeting(), empty, m(24), grace=GRACE, overrun=OVERRUN) is None
    assert completion_due(_meeting(), empty, m(25), grace=GRACE, overrun=OVERRUN) == m(20)
    someone = Presence(joined=1, last_left_at=m(20))
    assert completion_due(_meeting(), someone, m(60), grace=GRACE, overrun=OVERRUN) is None


def test_over_an_overrun_after_its_end_time_whoever_is_still_in() -> None:
    someone = Presence(joined=2, last_left_at=None)
    assert completion_due(_meeting(), someone, m(89), grace=GRACE, overrun=OVERRUN) is None
    assert completion_due(_meeting(), someone, m(500), grace=GRACE, overrun=OVERRUN) == m(90)
    nobody_ever = Presence(joined=0, last_left_at=None)
    assert completion_due(_meeting(), nobody_ever, m(90), grace=GRACE, overrun=OVERRUN) == m(90)
    for status in ("scheduled", "completed", "cancelled"):
        assert (
            completion_due(_meeting(status), someone, m(500), grace=GRACE, overrun=OVERRUN) is None
        )
