"""Events: create, read, change, cancel; who may do what; bad input is a 422, nothing written."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from teams_client.testing import Team
from vc_calendar.models import CalendarEvent, EventAttendee
from vc_common.testing.plugin import ReadOutbox, TestUser

from ..conftest import Create

EVENTS = "/api/v1/calendar/events"


async def count_events(app: Any) -> int:
    async with app.state.db.sessionmaker() as session:
        n: int = await session.scalar(select(func.count()).select_from(CalendarEvent))
        n += await session.scalar(select(func.count()).select_from(EventAttendee))
        return n


async def test_create_a_team_event_with_attendees(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    r = await client.post(
        EVENTS,
        json={
            "title": "Planning",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T10:00:00Z",
            "event_type": "meeting",
            "team_id": str(team.id),
            "location": "Room 1",
            "attendee_ids": [str(team.other.id), str(team.admin.id)],
            "timezone": "Europe/Berlin",
        },
        headers=team.member.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["Location"] == f"{EVENTS}/{body['id']}"
    assert body["event_type"] == "meeting"
    assert body["created_by_id"] == str(team.member.id)
    assert body["attendee_ids"] == sorted([str(team.other.id), str(team.admin.id)])
    assert body["start_time"] == "2026-12-01T09:00:00Z"
    assert body["timezone"] == "Europe/Berlin"
    (event,) = await outbox("calendar.event.created")
    assert event["subject"] == body["id"]
    assert event["data"]["attendee_ids"] == body["attendee_ids"]
    assert event["data"]["team_id"] == str(team.id)
    # any member of the team sees it; an outsider does not learn it exists
    seen = await client.get(f"{EVENTS}/{body['id']}", headers=team.other.headers)
    assert seen.status_code == 200
    assert seen.json()["location"] == "Room 1"
    assert (
        await client.get(f"{EVENTS}/{body['id']}", headers=team.outsider.headers)
    ).status_code == 404


async def test_a_personal_event_is_its_creators_alone(
    client: httpx.AsyncClient, create: Create, make_user: Any
) -> None:
    me, other = make_user(), make_user()
    ev = await create(me, start_time="2026-12-02T08:00:00Z", end_time="2026-12-02T08:30:00Z")
    assert ev["team_id"] is None
    assert ev["timezone"] == "UTC"  # the creator's profile zone, unknown yet
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(
            method,
            f"{EVENTS}/{ev['id']}",
            headers=other.headers,
            json={"title": "x"} if method == "PATCH" else None,
        )
        assert r.status_code == 404, (method, r.text)
    # the creator may invite themself, nobody else
    r = await client.post(
        EVENTS,
        json={
            "title": "Dentist",
            "start_time": "2026-12-02T08:00:00Z",
            "end_time": "2026-12-02T08:30:00Z",
            "attendee_ids": [str(other.id)],
        },
        headers=me.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "attendee_ids", 0]
    ok = await create(
        me,
        start_time="2026-12-02T08:00:00Z",
        end_time="2026-12-02T08:30:00Z",
        attendee_ids=[str(me.id)],
    )
    assert ok["attendee_ids"] == [str(me.id)]


async def test_the_default_timezone_is_the_creators_profile_zone(
    create: Create, user: TestUser, set_timezone: Any
) -> None:
    await set_timezone(user, "America/Los_Angeles")
    ev = await create(user, start_time="2026-12-02T17:00:00Z", end_time="2026-12-02T18:00:00Z")
    assert ev["timezone"] == "America/Los_Angeles"


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"end_time": "2026-12-01T08:59:59Z"}, ["body", "end_time"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["body", "timezone"]),
        ({"timezone": "CEST+2"}, ["body", "timezone"]),
        ({"recurrence": "FREQ=HOURLY"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=WEEKLY;BYHOUR=9"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=WEEKLY;BYSETPOS=1"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=XX"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=1MO"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=WEEKLY;BYMONTHDAY=3"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=32"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=DAILY;INTERVAL=0"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=DAILY;UNTIL=tomorrow"}, ["body", "recurrence"]),
        ({"recurrence": "not a rule at all"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=DAILY;UNTIL=20261130T000000Z"}, ["body", "recurrence"]),
        # 2026-12-01 is a Tuesday: not the first occurrence of a Monday rule
        ({"recurrence": "FREQ=WEEKLY;BYDAY=MO"}, ["body", "start_time"]),
        ({"start_time": "2026-12-01T09:00:00"}, ["body", "start_time"]),
        ({"start_time": "2026-12-01"}, ["body", "start_time"]),
        ({"is_all_day": True}, ["body", "start_time"]),
    ],
)
async def test_bad_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    app: Any,
    team: Team,
    outbox: ReadOutbox,
    patch: dict[str, Any],
    loc: list[Any],
) -> None:
    body = {
        "title": "Bad",
        "start_time": "2026-12-01T09:00:00Z",
        "end_time": "2026-12-01T10:00:00Z",
        "team_id": str(team.id),
        "timezone": "Europe/Berlin",
        **patch,
    }
    r = await client.post(EVENTS, json=body, headers=team.member.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["loc"][:2] == loc
    assert await count_events(app) == 0
    assert await outbox() == []


async def test_an_attendee_outside_the_team_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, app: Any, team: Team, outbox: ReadOutbox
) -> None:
    r = await client.post(
        EVENTS,
        json={
            "title": "Leak",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T10:00:00Z",
            "team_id": str(team.id),
            "attendee_ids": [str(team.other.id), str(team.outsider.id)],
        },
        headers=team.member.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "attendee_ids", 1]
    assert await count_events(app) == 0
    assert await outbox() == []


async def test_outsiders_cannot_create_in_a_team(client: httpx.AsyncClient, team: Team) -> None:
    r = await client.post(
        EVENTS,
        json={
            "title": "x",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T10:00:00Z",
            "team_id": str(team.id),
        },
        headers=team.outsider.headers,
    )
    assert r.status_code == 404


async def test_creator_or_admin_change_other_members_get_403(
    client: httpx.AsyncClient, create: Create, team: Team, outbox: ReadOutbox
) -> None:
    ev = await create(
        team.member,
        team_id=str(team.id),
        start_time="2026-12-01T09:00:00Z",
        end_time="2026-12-01T10:00:00Z",
    )
    url = f"{EVENTS}/{ev['id']}"
    r = await client.patch(url, json={"title": "Mine now"}, headers=team.other.headers)
    assert r.status_code == 403
    assert (await client.delete(url, headers=team.other.headers)).status_code == 403
    r = await client.patch(
        url, json={"title": "Renamed", "location": "Room 2"}, headers=team.admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Renamed"
    assert r.json()["sequence"] == 1
    (updated,) = await outbox("calendar.event.updated")
    assert updated["data"]["changed_fields"] == ["title", "location"]
    assert updated["data"]["user_id"] == str(team.admin.id)
    r = await client.patch(
        url, json={"start_time": "2026-12-01T11:00:00Z"}, headers=team.member.headers
    )
    assert r.status_code == 422  # the end would be before the new start
    r = await client.patch(
        url,
        json={"start_time": "2026-12-01T11:00:00Z", "end_time": "2026-12-01T12:30:00Z"},
        headers=team.member.headers,
    )
    assert r.status_code == 200
    assert (r.json()["start_time"], r.json()["end_time"]) == (
        "2026-12-01T11:00:00Z",
        "2026-12-01T12:30:00Z",
    )


async def test_cancel_tells_the_attendees(
    client: httpx.AsyncClient, create: Create, team: Team, outbox: ReadOutbox
) -> None:
    ev = await create(
        team.member,
        team_id=str(team.id),
        start_time="2026-12-01T09:00:00Z",
        end_time="2026-12-01T10:00:00Z",
        attendee_ids=[str(team.other.id)],
    )
    url = f"{EVENTS}/{ev['id']}"
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 204
    assert (await client.get(url, headers=team.member.headers)).status_code == 404
    (cancelled,) = await outbox("calendar.event.cancelled")
    assert cancelled["subject"] == ev["id"]
    assert cancelled["data"]["attendee_ids"] == [str(team.other.id)]
    assert cancelled["data"]["user_id"] == str(team.admin.id)
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 404


async def test_attendees_get_and_put(
    client: httpx.AsyncClient, create: Create, team: Team, outbox: ReadOutbox
) -> None:
    ev = await create(
        team.member,
        team_id=str(team.id),
        start_time="2026-12-01T09:00:00Z",
        end_time="2026-12-01T10:00:00Z",
    )
    url = f"{EVENTS}/{ev['id']}/attendees"
    assert (await client.get(url, headers=team.other.headers)).json() == {
        "event_id": ev["id"],
        "user_ids": [],
    }
    r = await client.put(
        url,
        json={"user_ids": [str(team.other.id), str(team.owner.id), str(team.other.id)]},
        headers=team.member.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_ids"] == sorted([str(team.other.id), str(team.owner.id)])
    r = await client.put(
        url, json={"user_ids": [str(team.outsider.id)]}, headers=team.member.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "attendee_ids", 0]
    r = await client.put(url, json={"user_ids": []}, headers=team.other.headers)
    assert r.status_code == 403
    (updated,) = await outbox("calendar.event.updated")
    assert updated["data"]["changed_fields"] == ["attendee_ids"]
    assert updated["data"]["previous_attendee_ids"] == []
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404
    assert (
        await client.get(f"{EVENTS}/{uuid.uuid4()}/attendees", headers=team.member.headers)
    ).status_code == 404


async def test_all_day_events_carry_local_dates(
    client: httpx.AsyncClient, create: Create, user: TestUser
) -> None:
    ev = await create(
        user,
        title="Offsite",
        is_all_day=True,
        start_time="2027-03-27",
        end_time="2027-03-30",
        timezone="Europe/Berlin",
    )
    # the local midnights of the first day and of the day after the last (DST starts on the 28th)
    assert ev["start_time"] == "2027-03-26T23:00:00Z"
    assert ev["end_time"] == "2027-03-29T22:00:00Z"
    assert (ev["start_date"], ev["end_date"]) == ("2027-03-27", "2027-03-29")
    # a timestamp is accepted when it is that local midnight
    same = await create(
        user,
        is_all_day=True,
        start_time="2027-03-27T00:00:00+01:00",
        end_time="2027-03-28T00:00:00+01:00",
        timezone="Europe/Berlin",
    )
    assert (same["start_date"], same["end_date"]) == ("2027-03-27", "2027-03-27")
    r = await client.post(
        EVENTS,
        json={
            "title": "x",
            "is_all_day": True,
            "start_time": "2027-03-27",
            "end_time": "2027-03-27",
            "timezone": "Europe/Berlin",
        },
        headers=user.headers,
    )
    assert r.status_code == 422
