"""Participants join and leave as often as they like: the first join, the last leave, every stay
summed; and a meeting nobody ended completes by itself (the auto-end job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from ..conftest import Schedule, parse

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def _act(
    client: httpx.AsyncClient, meeting: dict[str, Any], user: TestUser, action: str
) -> httpx.Response:
    return await client.post(f"/api/v1/meetings/{meeting['id']}/{action}", headers=user.headers)


async def _participants(
    client: httpx.AsyncClient, meeting: dict[str, Any], user: TestUser
) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/api/v1/meetings/{meeting['id']}/participants", headers=user.headers)
    assert r.status_code == 200, r.text
    return {p["user_id"]: p for p in r.json()["items"]}


async def test_rejoins_sum_up_and_are_the_same_participant(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, minutes=60, invite=[team.other])
    me = str(team.other.id)
    assert (await _act(client, m, team.other, "join")).status_code == 200
    clock.advance(minutes=20)
    r = await _act(client, m, team.other, "leave")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "left"
    assert parse(r.json()["leave_time"]) == T0 + timedelta(minutes=20)
    assert r.json()["attended_minutes"] == 20
    clock.advance(minutes=4)  # back within the grace period: the meeting goes on
    assert (await _act(client, m, team.other, "join")).status_code == 200
    clock.advance(minutes=5)
    # a join while in (a retry) is the same stay
    again = await _act(client, m, team.other, "join")
    assert again.json()["participant"]["attended_minutes"] == 25
    p = (await _participants(client, m, team.member))[me]
    assert p["status"] == "joined"
    assert parse(p["join_time"]) == T0  # the first join
    assert p["attended_minutes"] == 25  # 20, and 5 of the stay still running
    clock.advance(minutes=10)
    r = await _act(client, m, team.other, "leave")
    assert r.json()["attended_minutes"] == 35
    # leaving again changes nothing
    clock.advance(minutes=1)
    again = await _act(client, m, team.other, "leave")
    assert again.status_code == 200
    assert again.json() == r.json()
    people = await _participants(client, m, team.member)
    assert list(people) == [str(team.member.id), me]  # a rejoin is not a new participant
    p = people[me]
    assert p["status"] == "left"
    assert parse(p["join_time"]) == T0
    assert parse(p["leave_time"]) == T0 + timedelta(minutes=39)  # the last leave
    assert p["attended_minutes"] == 35
    assert people[str(team.member.id)]["status"] == "invited"

    joined = await outbox("meetings.participant.joined")
    assert [e["data"]["first_join"] for e in joined] == [True, False]
    left = await outbox("meetings.participant.left")
    assert [e["data"]["attended_minutes"] for e in left] == [20, 35]
    assert [e["data"]["source"] for e in left] == ["user", "user"]


async def test_leaving_a_meeting_one_never_joined_is_a_409(
    client: httpx.AsyncClient, team: Team, schedule: Schedule
) -> None:
    m = await schedule(client, team, start=T0)
    assert (await _act(client, m, team.other, "leave")).status_code == 409
    assert (await _act(client, m, team.member, "join")).status_code == 200
    assert (await _act(client, m, team.other, "leave")).status_code == 409


async def test_ending_closes_every_stay_still_open(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    await _act(client, m, team.member, "join")
    await _act(client, m, team.other, "join")
    clock.advance(minutes=10)
    await _act(client, m, team.other, "leave")
    clock.advance(minutes=5)
    r = await _act(client, m, team.member, "end")
    assert r.status_code == 200
    people = {p["user_id"]: p for p in r.json()["participants"]}
    assert people[str(team.member.id)]["status"] == "left"
    assert people[str(team.member.id)]["attended_minutes"] == 15
    assert people[str(team.other.id)]["attended_minutes"] == 10
    # leaving after the end: already out, unchanged
    r = await _act(client, m, team.member, "leave")
    assert r.status_code == 200
    assert parse(r.json()["leave_time"]) == T0 + timedelta(minutes=15)

    left = await outbox("meetings.participant.left")
    assert [(e["data"]["user_id"], e["data"]["source"]) for e in left] == [
        (str(team.other.id), "user"),
        (str(team.member.id), "meeting_end"),
    ]
    (ended,) = await outbox("meetings.meeting.ended")
    assert set(ended["data"]["attendee_ids"]) == {str(team.member.id), str(team.other.id)}


async def test_a_meeting_everyone_left_completes_after_the_grace_period(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    clock: MovableClock,
    outbox: ReadOutbox,
    app: Any,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, minutes=60, invite=[team.other])
    await _act(client, m, team.other, "join")
    clock.advance(minutes=30)
    await _act(client, m, team.other, "leave")
    clock.advance(minutes=4)  # within the 5 minutes of grace: still on, and joinable
    assert await run_job(app, "auto_end") == 0
    assert (await _act(client, m, team.member, "join")).status_code == 200
    clock.advance(minutes=1)
    await _act(client, m, team.member, "leave")  # the last one out, at 10:35
    clock.advance(minutes=4, seconds=59)
    assert await run_job(app, "auto_end") == 0
    clock.advance(seconds=2)
    # over, even before the job ran: a join now is refused
    r = await _act(client, m, team.other, "join")
    assert r.status_code == 409
    assert await run_job(app, "auto_end") == 1
    assert await run_job(app, "auto_end") == 0
    got = (await client.get(f"/api/v1/meetings/{m['id']}", headers=team.member.headers)).json()
    assert got["status"] == "completed"
    assert parse(got["ended_at"]) == T0 + timedelta(minutes=35)  # when the last one left
    (ended,) = await outbox("meetings.meeting.ended")
    assert ended["data"]["ended_by"] == "auto"
    assert ended["data"]["user_id"] == str(team.member.id)  # the host, when the service acts


async def test_a_meeting_still_open_long_after_its_end_time_completes_then(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    clock: MovableClock,
    outbox: ReadOutbox,
    app: Any,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, minutes=30, invite=[team.other])
    await _act(client, m, team.other, "join")  # and never leaves
    clock.set(T0 + timedelta(minutes=30 + 59))
    assert await run_job(app, "auto_end") == 0
    clock.set(T0 + timedelta(hours=3))  # the job ran late: the result is the same
    assert await run_job(app, "auto_end") == 1
    got = (await client.get(f"/api/v1/meetings/{m['id']}", headers=team.member.headers)).json()
    assert got["status"] == "completed"
    assert parse(got["ended_at"]) == T0 + timedelta(minutes=90)  # end_time + 60 minutes
    p = {p["user_id"]: p for p in got["participants"]}[str(team.other.id)]
    assert p["status"] == "left"
    assert p["attended_minutes"] == 90
    (left,) = await outbox("meetings.participant.left")
    assert left["data"]["source"] == "meeting_end"
    assert parse(left["data"]["left_at"]) == T0 + timedelta(minutes=90)


async def test_a_scheduled_meeting_nobody_joined_stays_scheduled(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, clock: MovableClock, app: Any
) -> None:
    clock.set(T0)
    m = await schedule(client, team, start=T0, minutes=30)
    clock.set(T0 + timedelta(days=1))
    assert await run_job(app, "auto_end") == 0
    got = (await client.get(f"/api/v1/meetings/{m['id']}", headers=team.member.headers)).json()
    assert got["status"] == "scheduled"
