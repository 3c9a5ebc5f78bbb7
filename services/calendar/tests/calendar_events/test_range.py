"""The range query: what the caller may see, overlapping the range, ordered by start, series
expanded per occurrence, dates read as the caller's local midnights, paginated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox, TestUser

from ..conftest import Create, Query

EVENTS = "/api/v1/calendar/events"
Join = Callable[[Team], Awaitable[Team]]


async def test_what_each_caller_sees(
    create: Create, query: Query, team: Team, joined: Join, make_team: Any, make_user: Any
) -> None:
    await joined(team)
    t = {"start_time": "2026-12-03T09:00:00Z", "end_time": "2026-12-03T10:00:00Z"}
    team_ev = await create(team.member, title="Team", team_id=str(team.id), **t)
    mine = await create(team.member, title="Mine", **t)
    theirs = await create(team.other, title="Theirs", **t)
    other_team = make_team()
    await joined(other_team)
    hidden = await create(other_team.member, title="Elsewhere", team_id=str(other_team.id), **t)
    seen = {i["id"] for i in await query(team.member, "2026-12-01", "2026-12-31")}
    assert seen == {team_ev["id"], mine["id"]}
    seen = {i["id"] for i in await query(team.other, "2026-12-01", "2026-12-31")}
    assert seen == {team_ev["id"], theirs["id"]}
    assert hidden["id"] not in {
        i["id"] for i in await query(team.owner, "2026-12-01", "2027-01-01")
    }
    assert await query(make_user(), "2026-12-01", "2026-12-31") == []
    # team_id= narrows to one team; a team one is not in is 404
    only = await query(team.member, "2026-12-01", "2026-12-31", team_id=str(team.id))
    assert [i["id"] for i in only] == [team_ev["id"]]


async def test_overlap_and_order(create: Create, query: Query, user: TestUser) -> None:
    def ev(title: str, start: str, end: str) -> Awaitable[dict[str, Any]]:
        return create(user, title=title, start_time=start, end_time=end)

    await ev("before", "2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z")  # ends at the start: out
    a = await ev("straddles start", "2026-12-01T08:30:00Z", "2026-12-01T09:30:00Z")
    b = await ev("inside", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")
    c = await ev("zero length at start", "2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z")
    d = await ev("straddles end", "2026-12-01T11:30:00Z", "2026-12-01T13:00:00Z")
    await ev("after", "2026-12-01T12:00:00Z", "2026-12-01T12:30:00Z")  # starts at the end: out
    got = await query(user, "2026-12-01T09:00:00Z", "2026-12-01T12:00:00Z")
    assert [i["title"] for i in got] == [a["title"], c["title"], b["title"], d["title"]]
    assert all(i["occurrence_start"] == i["start_time"] for i in got)


async def test_dates_are_the_callers_local_midnights(
    create: Create, query: Query, user: TestUser, set_timezone: Any
) -> None:
    # 23:30 UTC on Dec 1st is Dec 2nd in Tokyo
    late = await create(
        user, title="late", start_time="2026-12-01T23:30:00Z", end_time="2026-12-01T23:45:00Z"
    )
    assert [i["id"] for i in await query(user, "2026-12-01", "2026-12-02")] == [late["id"]]
    await set_timezone(user, "Asia/Tokyo")
    assert await query(user, "2026-12-01", "2026-12-02") == []
    assert [i["id"] for i in await query(user, "2026-12-02", "2026-12-03")] == [late["id"]]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-01-01", "to": "2027-01-03"}, ["query", "to"]),  # 367 days
        ({"from": "2026-01-01T00:00:00Z", "to": "2027-01-02T00:00:01Z"}, ["query", "to"]),
        ({"from": "2026-12-02", "to": "2026-12-01"}, ["query", "to"]),
        ({"from": "2026-12-01", "to": "2026-12-01"}, ["query", "to"]),
        ({"from": "yesterday", "to": "2026-12-01"}, ["query", "from"]),
        ({"from": "2026-12-01T00:00:00", "to": "2026-12-03"}, ["query", "from"]),
        ({"from": "2026-12-01", "to": "2026-13-01"}, ["query", "to"]),
    ],
)
async def test_bad_ranges_are_422(
    client: httpx.AsyncClient, user: TestUser, params: dict[str, str], loc: list[str]
) -> None:
    r = await client.get(EVENTS, params=params, headers=user.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_a_year_and_a_day_is_allowed(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.get(
        EVENTS, params={"from": "2028-01-01", "to": "2029-01-01"}, headers=user.headers
    )
    assert r.status_code == 200  # 366 days (a leap year)
    r = await client.get(EVENTS, params={"to": "2029-01-01"}, headers=user.headers)
    assert r.status_code == 422


async def test_other_teams_range_is_404(client: httpx.AsyncClient, team: Team) -> None:
    r = await client.get(
        EVENTS,
        params={"from": "2026-12-01", "to": "2026-12-31", "team_id": str(team.id)},
        headers=team.outsider.headers,
    )
    assert r.status_code == 404


async def test_series_expand_per_occurrence_in_their_zone(
    client: httpx.AsyncClient,
    create: Create,
    query: Query,
    team: Team,
    joined: Join,
    outbox: ReadOutbox,
) -> None:
    await joined(team)
    weekly = await create(
        team.member,
        title="Weekly sync",
        team_id=str(team.id),
        start_time="2027-03-15T08:00:00Z",  # Monday 09:00 Berlin
        end_time="2027-03-15T08:30:00Z",
        timezone="Europe/Berlin",
        recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
    )
    got = await query(team.other, "2027-03-01T00:00:00Z", "2027-05-01T00:00:00Z")
    assert [i["occurrence_start"] for i in got] == [
        "2027-03-15T08:00:00Z",
        "2027-03-22T08:00:00Z",
        "2027-03-29T07:00:00Z",
        "2027-04-05T07:00:00Z",
        "2027-04-12T07:00:00Z",
        "2027-04-19T07:00:00Z",
    ]
    assert {i["id"] for i in got} == {weekly["id"]}
    assert all(i["is_recurring"] and i["recurrence"] == "FREQ=WEEKLY;COUNT=6;BYDAY=MO" for i in got)
    # drop the first occurrence after the DST change (an EXDATE)
    url = f"{EVENTS}/{weekly['id']}/occurrences/2027-03-29T07:00:00Z"
    assert (await client.delete(url, headers=team.other.headers)).status_code == 403
    assert (await client.delete(url, headers=team.member.headers)).status_code == 204
    assert (await client.delete(url, headers=team.member.headers)).status_code == 204  # again: same
    missing = f"{EVENTS}/{weekly['id']}/occurrences/2027-03-29T08:00:00Z"  # 10:00 local: no such
    assert (await client.delete(missing, headers=team.member.headers)).status_code == 404
    got = await query(team.other, "2027-03-01T00:00:00Z", "2027-05-01T00:00:00Z")
    assert "2027-03-29T07:00:00Z" not in [i["occurrence_start"] for i in got]
    assert len(got) == 5
    detail = (await client.get(f"{EVENTS}/{weekly['id']}", headers=team.owner.headers)).json()
    assert detail["exdates"] == ["2027-03-29T07:00:00Z"]
    (dropped,) = await outbox("calendar.event.updated")
    assert dropped["data"]["occurrence_start"] == "2027-03-29T07:00:00Z"
    assert dropped["data"]["changed_fields"] == ["exdates"]
    # a single event has no occurrences to drop
    single = await create(
        team.member, start_time="2027-03-15T08:00:00Z", end_time="2027-03-15T08:30:00Z"
    )
    r = await client.delete(
        f"{EVENTS}/{single['id']}/occurrences/2027-03-15T08:00:00Z", headers=team.member.headers
    )
    assert r.status_code == 404


async def test_moving_a_series_keeps_only_exdates_that_still_match(
    client: httpx.AsyncClient, create: Create, user: TestUser, query: Query
) -> None:
    ev = await create(
        user,
        start_time="2027-01-04T09:00:00Z",
        end_time="2027-01-04T10:00:00Z",
        recurrence="FREQ=DAILY;COUNT=5",
    )
    await client.delete(
        f"{EVENTS}/{ev['id']}/occurrences/2027-01-06T09:00:00Z", headers=user.headers
    )
    r = await client.patch(
        f"{EVENTS}/{ev['id']}", json={"recurrence": "FREQ=DAILY;COUNT=10"}, headers=user.headers
    )
    assert r.status_code == 200
    assert r.json()["exdates"] == ["2027-01-06T09:00:00Z"]
    r = await client.patch(
        f"{EVENTS}/{ev['id']}",
        json={"start_time": "2027-01-04T10:00:00Z", "end_time": "2027-01-04T11:00:00Z"},
        headers=user.headers,
    )
    assert r.json()["exdates"] == []
    assert len(await query(user, "2027-01-01", "2027-02-01")) == 10
    r = await client.patch(f"{EVENTS}/{ev['id']}", json={"recurrence": None}, headers=user.headers)
    assert r.json()["recurrence"] is None
    assert len(await query(user, "2027-01-01", "2027-02-01")) == 1


async def test_all_day_items_and_series(
    create: Create, query: Query, user: TestUser, set_timezone: Any
) -> None:
    await set_timezone(user, "Europe/Berlin")
    ev = await create(
        user,
        title="Gym",
        is_all_day=True,
        start_time="2027-03-27",
        end_time="2027-03-28",
        recurrence="FREQ=DAILY;COUNT=3",
    )
    assert ev["timezone"] == "Europe/Berlin"
    got = await query(user, "2027-03-27", "2027-03-30")
    assert [(i["start_date"], i["end_date"]) for i in got] == [
        ("2027-03-27", "2027-03-27"),
        ("2027-03-28", "2027-03-28"),
        ("2027-03-29", "2027-03-29"),
    ]
    # the 28th has 23 hours in Berlin
    assert [(i["start_time"], i["end_time"]) for i in got][1] == (
        "2027-03-27T23:00:00Z",
        "2027-03-28T22:00:00Z",
    )
    assert await query(user, "2027-03-30", "2027-04-01") == []


async def test_pages_follow_the_start_order(
    create: Create, client: httpx.AsyncClient, user: TestUser, query: Query
) -> None:
    await create(
        user,
        title="daily",
        start_time="2027-01-01T09:00:00Z",
        end_time="2027-01-01T09:15:00Z",
        recurrence="FREQ=DAILY",
    )
    for day in (3, 3, 10):
        await create(
            user,
            title=f"on {day}",
            start_time=f"2027-01-{day:02d}T09:00:00Z",
            end_time=f"2027-01-{day:02d}T10:00:00Z",
        )
    every = await query(user, "2027-01-01", "2027-02-01")
    assert len(every) == 31 + 3
    paged = await query(user, "2027-01-01", "2027-02-01", limit=4)
    assert paged == every
    keys = [(i["start_time"], i["id"]) for i in every]
    assert keys == sorted(keys)
    r = await client.get(
        EVENTS,
        params={"from": "2027-01-01", "to": "2027-02-01", "cursor": "nope"},
        headers=user.headers,
    )
    assert r.status_code == 422
