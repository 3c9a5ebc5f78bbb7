"""Reminders fire once per occurrence at start - minutes_before, catch up once after downtime
(never for an occurrence that started), and follow the event when it moves or is cancelled."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from ..conftest import Create

EVENTS = "/api/v1/calendar/events"


async def tick(app: Any) -> int:
    return await run_job(app, "reminders")


async def add(
    client: httpx.AsyncClient, user: TestUser, event_id: str, **body: Any
) -> dict[str, Any]:
    body.setdefault("minutes_before", 15)
    r = await client.post(f"{EVENTS}/{event_id}/reminders", json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/api/v1/calendar/reminders/{r.json()['id']}"
    data: dict[str, Any] = r.json()
    return data


async def reminders_of(
    client: httpx.AsyncClient, user: TestUser, event_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"{EVENTS}/{event_id}/reminders", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_reminder_fires_once_at_its_moment_to_creator_and_attendees(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    team: Team,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2026-12-01T08:00:00Z")
    ev = await create(
        team.member,
        title="Review",
        team_id=str(team.id),
        start_time="2026-12-01T10:00:00Z",
        end_time="2026-12-01T11:00:00Z",
        attendee_ids=[str(team.other.id), str(team.member.id)],
        location="Room 3",
    )
    r = await add(client, team.member, ev["id"], minutes_before=30, reminder_type="both")
    assert r["next_fire_at"] == "2026-12-01T09:30:00Z"
    assert r["sent"] is False
    clock.set("2026-12-01T09:29:59Z")
    assert await tick(app) == 0
    clock.set("2026-12-01T09:30:00Z")
    assert await tick(app) == 1
    assert await tick(app) == 0
    clock.advance(minutes=10)
    assert await tick(app) == 0
    (due,) = await outbox("calendar.reminder.due")
    assert due["subject"] == ev["id"]
    data = due["data"]
    assert data["event_id"] == ev["id"]
    assert data["reminder_id"] == r["id"]
    assert data["occurrence_start"] == data["start_time"] == "2026-12-01T10:00:00Z"
    assert data["reminder_type"] == "both"
    assert data["title"] == "Review"
    assert data["team_id"] == str(team.id)
    assert data["recipient_ids"][0] == str(team.member.id)  # the creator, then the attendees
    assert sorted(data["recipient_ids"]) == sorted([str(team.member.id), str(team.other.id)])
    (after,) = await reminders_of(client, team.other, ev["id"])
    assert after["sent"] is True
    assert after["sent_occurrences"] == ["2026-12-01T10:00:00Z"]
    assert after["next_fire_at"] is None


async def test_a_series_fires_per_occurrence(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    user: TestUser,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2027-03-20T00:00:00Z")
    ev = await create(
        user,
        start_time="2027-03-22T08:00:00Z",  # Monday 09:00 Berlin
        end_time="2027-03-22T09:00:00Z",
        timezone="Europe/Berlin",
        recurrence="FREQ=WEEKLY;COUNT=3",
    )
    r = await add(client, user, ev["id"], minutes_before=60)
    assert r["next_fire_at"] == "2027-03-22T07:00:00Z"
    fired = []
    for moment in ("2027-03-22T07:00:00Z", "2027-03-29T06:00:00Z", "2027-04-05T06:00:00Z"):
        clock.set(moment)
        assert await tick(app) == 1, moment
        assert await tick(app) == 0
        fired = [e["data"]["occurrence_start"] for e in await outbox("calendar.reminder.due")]
    # 09:00 Berlin each time: the DST change moved the UTC time, not the local one
    assert fired == ["2027-03-22T08:00:00Z", "2027-03-29T07:00:00Z", "2027-04-05T07:00:00Z"]
    (after,) = await reminders_of(client, user, ev["id"])
    assert after["sent_occurrences"] == fired
    assert after["sent"] is True
    assert after["next_occurrence_start"] is None


async def test_after_downtime_it_fires_once_if_the_occurrence_has_not_started(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    user: TestUser,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2026-12-01T08:00:00Z")
    ev = await create(user, start_time="2026-12-01T10:00:00Z", end_time="2026-12-01T11:00:00Z")
    await add(client, user, ev["id"], minutes_before=60)
    clock.set("2026-12-01T09:55:00Z")  # down from 08:00 to 09:55: the 09:00 moment passed
    assert await tick(app) == 1
    assert await tick(app) == 0
    (due,) = await outbox("calendar.reminder.due")
    assert due["data"]["fire_at"] == "2026-12-01T09:00:00Z"


async def test_never_for_an_occurrence_that_already_started(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    user: TestUser,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2026-12-01T08:00:00Z")
    single = await create(user, start_time="2026-12-01T10:00:00Z", end_time="2026-12-01T11:00:00Z")
    await add(client, user, single["id"], minutes_before=60)
    daily = await create(
        user,
        start_time="2026-12-01T10:00:00Z",
        end_time="2026-12-01T10:30:00Z",
        recurrence="FREQ=DAILY;COUNT=5",
    )
    await add(client, user, daily["id"], minutes_before=60)
    clock.set("2026-12-03T09:30:00Z")  # down two days: three occurrences' moments passed
    assert await tick(app) == 2
    # only the series' occurrence of the 3rd (not started at 09:30) is reminded, once
    assert [e["data"]["occurrence_start"] for e in await outbox("calendar.reminder.due")] == [
        "2026-12-03T10:00:00Z"
    ]
    (s,) = await reminders_of(client, user, single["id"])
    assert (s["sent"], s["next_fire_at"]) == (False, None)
    (d,) = await reminders_of(client, user, daily["id"])
    assert d["next_occurrence_start"] == "2026-12-04T10:00:00Z"
    clock.set("2026-12-04T09:00:00Z")
    assert await tick(app) == 1
    assert len(await outbox("calendar.reminder.due")) == 2


async def test_replanned_when_the_event_moves_and_silent_when_cancelled(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    user: TestUser,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2026-12-01T08:00:00Z")
    ev = await create(user, start_time="2026-12-01T10:00:00Z", end_time="2026-12-01T11:00:00Z")
    await add(client, user, ev["id"], minutes_before=30)
    r = await client.patch(
        f"{EVENTS}/{ev['id']}",
        json={"start_time": "2026-12-01T14:00:00Z", "end_time": "2026-12-01T15:00:00Z"},
        headers=user.headers,
    )
    assert r.status_code == 200
    (rem,) = await reminders_of(client, user, ev["id"])
    assert rem["next_fire_at"] == "2026-12-01T13:30:00Z"
    clock.set("2026-12-01T09:30:00Z")  # the old moment
    assert await tick(app) == 0
    clock.set("2026-12-01T13:30:00Z")
    assert await tick(app) == 1
    (due,) = await outbox("calendar.reminder.due")
    assert due["data"]["start_time"] == "2026-12-01T14:00:00Z"
    # moved again after firing: the new time is a new occurrence, reminded again
    await client.patch(
        f"{EVENTS}/{ev['id']}",
        json={"start_time": "2026-12-01T16:00:00Z", "end_time": "2026-12-01T17:00:00Z"},
        headers=user.headers,
    )
    # a title change does not re-plan or re-fire anything
    await client.patch(f"{EVENTS}/{ev['id']}", json={"title": "Later"}, headers=user.headers)
    clock.set("2026-12-01T15:30:00Z")
    assert await tick(app) == 1
    assert [e["data"]["start_time"] for e in await outbox("calendar.reminder.due")] == [
        "2026-12-01T14:00:00Z",
        "2026-12-01T16:00:00Z",
    ]
    # cancelled: nothing more
    other = await create(user, start_time="2026-12-02T10:00:00Z", end_time="2026-12-02T11:00:00Z")
    await add(client, user, other["id"], minutes_before=30)
    assert (await client.delete(f"{EVENTS}/{other['id']}", headers=user.headers)).status_code == 204
    clock.set("2026-12-02T09:45:00Z")
    assert await tick(app) == 0
    assert len(await outbox("calendar.reminder.due")) == 2


async def test_a_dropped_occurrence_is_not_reminded(
    app: Any,
    client: httpx.AsyncClient,
    create: Create,
    user: TestUser,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set("2026-12-01T00:00:00Z")
    ev = await create(
        user,
        start_time="2026-12-01T10:00:00Z",
        end_time="2026-12-01T10:30:00Z",
        recurrence="FREQ=DAILY;COUNT=3",
    )
    await add(client, user, ev["id"], minutes_before=0)
    r = await client.delete(
        f"{EVENTS}/{ev['id']}/occurrences/2026-12-01T10:00:00Z", headers=user.headers
    )
    assert r.status_code == 204
    (rem,) = await reminders_of(client, user, ev["id"])
    assert rem["next_occurrence_start"] == "2026-12-02T10:00:00Z"
    clock.set("2026-12-01T10:00:00Z")
    assert await tick(app) == 0
    clock.set("2026-12-02T10:00:30Z")
    # minutes_before 0 is due at the start: a tick a few seconds after it is on time
    assert await tick(app) == 1
    assert [e["data"]["occurrence_start"] for e in await outbox("calendar.reminder.due")] == [
        "2026-12-02T10:00:00Z"
    ]
    clock.set("2026-12-03T10:05:00Z")
    # five minutes late (downtime): that occurrence has started, so it is not reminded at all
    assert await tick(app) == 1
    assert len(await outbox("calendar.reminder.due")) == 1
    (rem,) = await reminders_of(client, user, ev["id"])
    assert rem["next_occurrence_start"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"minutes_before": -1},
        {"minutes_before": 40_321},
        {"minutes_before": 5, "reminder_type": "sms"},
    ],
)
async def test_bad_reminders_are_422(
    client: httpx.AsyncClient, create: Create, user: TestUser, body: dict[str, Any]
) -> None:
    ev = await create(user, start_time="2026-12-01T10:00:00Z", end_time="2026-12-01T11:00:00Z")
    r = await client.post(f"{EVENTS}/{ev['id']}/reminders", json=body, headers=user.headers)
    assert r.status_code == 422
    assert await reminders_of(client, user, ev["id"]) == []


async def test_who_may_add_and_delete_reminders(
    client: httpx.AsyncClient, create: Create, team: Team, clock: MovableClock
) -> None:
    clock.set("2026-12-01T00:00:00Z")
    ev = await create(
        team.member,
        team_id=str(team.id),
        start_time="2026-12-01T10:00:00Z",
        end_time="2026-12-01T11:00:00Z",
    )
    url = f"{EVENTS}/{ev['id']}/reminders"
    assert (
        await client.post(url, json={"minutes_before": 5}, headers=team.other.headers)
    ).status_code == 403
    assert (
        await client.post(url, json={"minutes_before": 5}, headers=team.outsider.headers)
    ).status_code == 404
    r = await add(client, team.admin, ev["id"], minutes_before=40_320)
    assert r["next_fire_at"] == "2026-11-03T10:00:00Z"  # four weeks before: due at once
    assert len(await reminders_of(client, team.other, ev["id"])) == 1
    gone = f"/api/v1/calendar/reminders/{r['id']}"
    assert (await client.delete(gone, headers=team.other.headers)).status_code == 403
    assert (await client.delete(gone, headers=team.outsider.headers)).status_code == 404
    assert (await client.delete(gone, headers=team.member.headers)).status_code == 204
    assert (await client.delete(gone, headers=team.member.headers)).status_code == 404
