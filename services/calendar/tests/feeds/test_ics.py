"""iCalendar output parsed back with icalendar, and expanded with recurring-ical-events the way
a client does: the occurrences a client computes from the feed are the ones the API returns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import icalendar
import recurring_ical_events
from teams_client.testing import Team
from vc_common.testing.plugin import Deliver, MovableClock, TestUser

from ..conftest import MEETING_FIELDS, Create, Query

FEED = "/api/v1/calendar/feed.ics"


async def new_feed(client: httpx.AsyncClient, user: TestUser) -> str:
    r = await client.post("/api/v1/calendar/feed-token", headers=user.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].endswith(f"{FEED}?token={body['token']}")
    assert len(body["token"]) >= 40
    token: str = body["token"]
    return token


def vevents(raw: bytes) -> list[Any]:
    cal = icalendar.Calendar.from_ical(raw)
    return list(cal.walk("VEVENT"))


def utc_of(value: Any) -> datetime:
    assert isinstance(value, datetime), value
    return value.astimezone(UTC)


async def test_the_feed_needs_only_its_token_and_a_new_token_kills_the_old(
    client: httpx.AsyncClient, create: Create, user: TestUser
) -> None:
    await create(
        user, title="Mine", start_time="2026-12-01T09:00:00Z", end_time="2026-12-01T10:00:00Z"
    )
    old = await new_feed(client, user)
    r = await client.get(FEED, params={"token": old})  # no Authorization header
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    assert [str(e["summary"]) for e in vevents(r.content)] == ["Mine"]
    new = await new_feed(client, user)
    assert new != old
    assert (await client.get(FEED, params={"token": old})).status_code == 404
    assert (await client.get(FEED, params={"token": new})).status_code == 200
    assert (await client.get(FEED)).status_code == 404
    assert (await client.get(FEED, params={"token": "x" * 43})).status_code == 404
    assert (await client.post("/api/v1/calendar/feed-token")).status_code == 401


async def test_feed_round_trip_equals_the_range_query(
    client: httpx.AsyncClient,
    create: Create,
    query: Query,
    team: Team,
    joined: Any,
    clock: MovableClock,
    deliver: Deliver,
) -> None:
    clock.set("2027-01-01T00:00:00Z")
    await joined(team)
    me = team.member
    weekly = await create(
        me,
        title="Weekly 09:00 Berlin",
        team_id=str(team.id),
        start_time="2027-03-01T08:00:00Z",
        end_time="2027-03-01T09:00:00Z",
        timezone="Europe/Berlin",
        recurrence="FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270501T000000Z",
        location="Room 1",
        description="Line one\nLine two; with, punctuation",
        attendee_ids=[str(team.other.id)],
    )
    await client.delete(
        f"/api/v1/calendar/events/{weekly['id']}/occurrences/2027-03-29T07:00:00Z",
        headers=me.headers,
    )
    await create(
        me,
        title="Month end",
        start_time="2027-01-31T16:00:00Z",
        end_time="2027-01-31T17:00:00Z",
        timezone="America/New_York",
        recurrence="FREQ=MONTHLY;COUNT=6",
    )
    await create(
        me,
        title="Holiday",
        is_all_day=True,
        start_time="2027-03-27",
        end_time="2027-03-30",
        timezone="Europe/Berlin",
    )
    await create(
        me,
        title="Standup",
        start_time="2027-03-22T14:00:00Z",
        end_time="2027-03-22T14:15:00Z",
        timezone="America/Los_Angeles",
        recurrence="FREQ=DAILY;INTERVAL=2;COUNT=10",
    )
    await create(
        me, title="One-off", start_time="2027-03-10T12:00:00Z", end_time="2027-03-10T13:00:00Z"
    )
    await deliver(
        "meetings.meeting.scheduled",
        {
            "meeting_id": "0190f8a0-0000-7000-8000-000000000001",
            "team_id": str(team.id),
            "title": "Call",
            "start_time": "2027-03-12T10:00:00Z",
            "end_time": "2027-03-12T10:30:00Z",
            "participant_ids": [str(me.id)],
            "user_id": str(team.owner.id),
            "created_by_id": str(team.owner.id),
            **MEETING_FIELDS,
        },
    )
    token = await new_feed(client, me)
    raw = (await client.get(FEED, params={"token": token})).content
    cal = icalendar.Calendar.from_ical(raw)
    assert {str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")} >= {
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
    }
    by_title: dict[str, Any] = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    w = by_title["Weekly 09:00 Berlin"]
    assert str(w["uid"]) == f"{weekly['id']}@virtualcoworking"
    assert w["dtstart"].params["TZID"] == "Europe/Berlin"
    assert w["dtstart"].dt.hour == 9
    assert w["rrule"].to_ical().decode() == "FREQ=WEEKLY;UNTIL=20270501T000000Z;BYDAY=MO,TH"
    assert [
        utc_of(d.dt)
        for x in ([w["exdate"]] if not isinstance(w["exdate"], list) else w["exdate"])
        for d in x.dts
    ] == [datetime(2027, 3, 29, 7, 0, tzinfo=UTC)]
    assert str(w["location"]) == "Room 1"
    assert str(w["description"]) == "Line one\nLine two; with, punctuation"
    h = by_title["Holiday"]
    assert h["dtstart"].dt == date(2027, 3, 27)
    assert h["dtend"].dt == date(2027, 3, 30)
    assert "Call" in by_title
    # what a client computes from the feed is what the API answers
    lo, hi = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC)
    client_side = set()
    for occ in recurring_ical_events.of(cal).between(lo, hi):
        start = occ["dtstart"].dt
        if isinstance(start, datetime):
            client_side.add((str(occ["summary"]), utc_of(start)))
        else:
            client_side.add((str(occ["summary"]), start))
    api_side = set()
    for item in await query(me, "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"):
        if item["is_all_day"]:
            api_side.add((item["title"], date.fromisoformat(item["start_date"])))
        else:
            api_side.add(
                (item["title"], datetime.fromisoformat(item["start_time"].replace("Z", "+00:00")))
            )
    assert client_side == api_side
    # weekly (18 - 1 dropped), monthly (3 of 6 before July), holiday, standup, one-off, call
    assert len(api_side) == 17 + 3 + 1 + 10 + 1 + 1
    # monthly on the 31st skips short months on the client too
    months = sorted(s for t, s in client_side if t == "Month end")
    assert [m.astimezone(UTC).date().isoformat() for m in months if isinstance(m, datetime)] == [
        "2027-01-31",
        "2027-03-31",
        "2027-05-31",
    ]


async def test_one_event_as_ics(client: httpx.AsyncClient, create: Create, team: Team) -> None:
    ev = await create(
        team.member,
        title="Solo",
        team_id=str(team.id),
        start_time="2027-02-01T09:00:00Z",
        end_time="2027-02-01T09:45:00Z",
        timezone="Asia/Kolkata",
    )
    url = f"/api/v1/calendar/events/{ev['id']}.ics"
    r = await client.get(url, headers=team.other.headers)
    assert r.status_code == 200, r.text
    (vevent,) = vevents(r.content)
    assert str(vevent["uid"]) == f"{ev['id']}@virtualcoworking"
    assert vevent["dtstart"].params["TZID"] == "Asia/Kolkata"
    assert utc_of(vevent["dtstart"].dt) == datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    assert utc_of(vevent["dtend"].dt) == datetime(2027, 2, 1, 9, 45, tzinfo=UTC)
    assert "RRULE" not in vevent
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
