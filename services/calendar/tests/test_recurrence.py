"""The RRULE subset expanded in the event's zone: the cases calendars get wrong (Cal.com's most
reported: recurring events on the wrong day, times shifted to UTC across DST)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from vc_calendar.recurrence import RuleError, Series, parse_rule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def starts(series: Series, lo: str, hi: str) -> list[str]:
    return [o.start.isoformat().replace("+00:00", "Z") for o in series.occurrences(at(lo), at(hi))]


def test_weekly_0900_berlin_stays_0900_local_across_both_dst_changes() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin").text
    s = Series(at("2027-03-15T08:00:00Z"), at("2027-03-15T09:00:00Z"), "Europe/Berlin", rule)
    # DST starts 2027-03-28: 09:00 CET = 08:00Z before, 09:00 CEST = 07:00Z after
    assert starts(s, "2027-03-15T00:00:00Z", "2027-04-06T00:00:00Z") == [
        "2027-03-15T08:00:00Z",
        "2027-03-22T08:00:00Z",
        "2027-03-29T07:00:00Z",
        "2027-04-05T07:00:00Z",
    ]
    # and back on 2027-10-31
    assert starts(s, "2027-10-20T00:00:00Z", "2027-11-09T00:00:00Z") == [
        "2027-10-25T07:00:00Z",
        "2027-11-01T08:00:00Z",
        "2027-11-08T08:00:00Z",
    ]
    # every occurrence lasts its hour
    assert {
        o.end - o.start for o in s.occurrences(at("2027-03-01T00:00Z"), at("2027-12-01T00:00Z"))
    } == {timedelta(hours=1)}


def test_an_evening_series_in_los_angeles_stays_on_its_local_weekday() -> None:
    """Monday 18:00 in Los Angeles is Tuesday 02:00 UTC: expanding BYDAY in UTC would put the
    series on Tuesdays (or on Mondays 18:00 UTC)."""
    rule = parse_rule("FREQ=WEEKLY;BYDAY=MO,WE", "America/Los_Angeles").text
    s = Series(at("2027-03-02T02:00:00Z"), at("2027-03-02T03:00:00Z"), "America/Los_Angeles", rule)
    assert s.first_is_an_occurrence()
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    local = [
        o.start.astimezone(la)
        for o in s.occurrences(at("2027-03-01T00:00Z"), at("2027-03-25T00:00Z"))
    ]
    assert [d.strftime("%a %H:%M") for d in local] == ["Mon 18:00", "Wed 18:00"] * 3 + ["Mon 18:00"]
    # US DST started on 2027-03-14: same local time, an hour earlier in UTC
    assert local[4].astimezone(UTC).hour == 1


def test_monthly_on_the_31st_skips_short_months() -> None:
    for text in ("FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=31"):
        rule = parse_rule(text + ";COUNT=5", "Europe/Berlin").text
        s = Series(at("2027-01-31T09:00:00Z"), at("2027-01-31T10:00:00Z"), "Europe/Berlin", rule)
        days = [
            o.start.astimezone(UTC).date().isoformat()
            for o in s.occurrences(at("2027-01-01T00:00Z"), at("2028-01-01T00:00Z"))
        ]
        assert days == ["2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31", "2027-08-31"]


def test_last_friday_and_negative_month_days() -> None:
    rule = parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "UTC").text
    s = Series(at("2027-01-29T16:00:00Z"), at("2027-01-29T17:00:00Z"), "UTC", rule)
    assert starts(s, "2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z") == [
        "2027-01-29T16:00:00Z",
        "2027-02-26T16:00:00Z",
        "2027-03-26T16:00:00Z",
    ]
    rule = parse_rule("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "UTC").text
    s = Series(at("2027-01-31T16:00:00Z"), at("2027-01-31T17:00:00Z"), "UTC", rule)
    assert [x[:10] for x in starts(s, "2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z")] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
    ]


def test_until_is_inclusive_and_interval_steps() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=2;UNTIL=20270105T090000Z", "UTC").text
    assert rule == "FREQ=DAILY;INTERVAL=2;UNTIL=20270105T090000Z"
    s = Series(at("2027-01-01T09:00:00Z"), at("2027-01-01T09:30:00Z"), "UTC", rule)
    assert starts(s, "2026-12-01T00:00:00Z", "2027-02-01T00:00:00Z") == [
        "2027-01-01T09:00:00Z",
        "2027-01-03T09:00:00Z",
        "2027-01-05T09:00:00Z",
    ]
    assert s.series_end() is not None


def test_a_date_until_keeps_that_whole_local_day() -> None:
    rule = parse_rule("FREQ=DAILY;UNTIL=20270103", "Europe/Berlin").text
    s = Series(at("2027-01-01T21:00:00Z"), at("2027-01-01T22:00:00Z"), "Europe/Berlin", rule)
    # 22:00 Berlin on the 1st, 2nd and 3rd
    assert len(s.occurrences(at("2027-01-01T00:00Z"), at("2027-02-01T00:00Z"))) == 3


def test_all_day_series_stay_whole_local_days_across_dst() -> None:
    rule = parse_rule("FREQ=WEEKLY;COUNT=3", "Europe/Berlin", all_day=True).text
    # Saturday 2027-03-20, midnight to midnight in Berlin
    s = Series(at("2027-03-19T23:00:00Z"), at("2027-03-20T23:00:00Z"), "Europe/Berlin", rule)
    occ = s.occurrences(at("2027-03-01T00:00Z"), at("2027-05-01T00:00Z"))
    assert [(o.start.isoformat(), o.end.isoformat()) for o in occ] == [
        ("2027-03-19T23:00:00+00:00", "2027-03-20T23:00:00+00:00"),
        ("2027-03-26T23:00:00+00:00", "2027-03-27T23:00:00+00:00"),
        ("2027-04-02T22:00:00+00:00", "2027-04-03T22:00:00+00:00"),
    ]


def test_exdates_are_left_out() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=4", "UTC").text
    s = Series(
        at("2027-01-01T09:00:00Z"),
        at("2027-01-01T10:00:00Z"),
        "UTC",
        rule,
        frozenset({at("2027-01-02T09:00:00Z")}),
    )
    assert starts(s, "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z") == [
        "2027-01-01T09:00:00Z",
        "2027-01-03T09:00:00Z",
        "2027-01-04T09:00:00Z",
    ]
    assert not s.contains(at("2027-01-02T09:00:00Z"))
    assert s.contains(at("2027-01-03T09:00:00Z"))


def test_an_old_endless_series_is_expanded_from_near_the_window() -> None:
    rule = parse_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", "Europe/Berlin").text
    s = Series(at("2020-01-07T08:00:00Z"), at("2020-01-07T09:00:00Z"), "Europe/Berlin", rule)
    far = starts(s, "2031-06-01T00:00:00Z", "2031-07-01T00:00:00Z")
    # the same as expanding from the first occurrence, by brute force
    from zoneinfo import ZoneInfo

    from dateutil.rrule import rrulestr

    tz = ZoneInfo("Europe/Berlin")
    brute = rrulestr(rule, dtstart=datetime(2020, 1, 7, 9, 0, tzinfo=tz))
    expected = [
        d.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for d in brute.between(
            datetime(2031, 6, 1, tzinfo=UTC), datetime(2031, 7, 1, tzinfo=UTC), inc=True
        )
    ]
    assert far == expected
    assert len(far) == 4
    nxt = s.next_after(at("2031-06-01T00:00:00Z"))
    assert nxt is not None
    assert nxt.start == at(expected[0])


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY",
        "FREQ=HOURLY",
        "FREQ=WEEKLY;BYHOUR=9",
        "FREQ=YEARLY;BYMONTH=2",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO",
        "FREQ=DAILY;WKST=SU",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=x",
        "FREQ=DAILY;COUNT=1001",
        "FREQ=DAILY;COUNT=2;COUNT=3",
        "INTERVAL=2",
        "FREQ",
        "",
        "FREQ=WEEKLY;BYDAY=MO;BYDAY=TU",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "RDATE:20270101",
    ],
)
def test_rules_outside_the_subset_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text, "UTC")


def test_rules_are_put_in_canonical_form() -> None:
    assert (
        parse_rule("RRULE:freq=weekly;byday=mo,we;interval=1", "UTC").text
        == "FREQ=WEEKLY;BYDAY=MO,WE"
    )
    # a local UNTIL is read in the event's zone and stored in UTC, as RFC 5545 wants with TZID
    assert (
        parse_rule("FREQ=DAILY;UNTIL=20270301T090000", "Europe/Berlin").text
        == "FREQ=DAILY;UNTIL=20270301T080000Z"
    )
    assert parse_rule("FREQ=DAILY;UNTIL=20270301T230000Z", "Europe/Berlin", all_day=True).text == (
        "FREQ=DAILY;UNTIL=20270302"
    )
