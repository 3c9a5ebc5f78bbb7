"""The team's now: one status per member, derived from stored facts, announced on change only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from realtime.presence import service as presence
from vc_common.context import context_for
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, MovableClock, ReadOutbox

from .conftest import Team, member_event


async def _now(client: httpx.AsyncClient, team: Team, who: Any = None) -> dict[str, Any]:
    r = await client.get(f"/api/v1/teams/{team.id}/now", headers=(who or team.owner).headers)
    assert r.status_code == 200, r.text
    return {m["user_id"]: m for m in r.json()["members"]}


async def _join(deliver: Deliver, team: Team) -> None:
    for i, u in enumerate(team.members, start=1):
        await deliver(
            member_event("teams.member.added", team.id, u, i, "owner" if i == 1 else "member")
        )


def _focus(
    team: Team, clock: MovableClock, *, task: uuid.UUID | None, minutes: int = 25
) -> dict[str, Any]:
    start = clock.now
    return {
        "session_id": str(uuid.uuid4()),
        "user_id": str(team.member.id),
        "team_id": str(team.id),
        "task_id": str(task) if task else None,
        "focus_type": "pomodoro",
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "planned_end_time": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "end_time": None,
        "planned_minutes": minutes,
        "actual_minutes": None,
        "is_completed": False,
        "interruptions": 0,
        "minutes_by_day": {},
        "timezone": "UTC",
    }


async def _open_socket(app: Any, user_id: uuid.UUID) -> uuid.UUID:
    socket_id = uuid.uuid4()
    async with app.state.db.unit_of_work() as session:
        await presence.socket_opened(context_for(app, session), socket_id, user_id, uuid.uuid4())
    return socket_id


async def _close_socket(app: Any, socket_id: uuid.UUID) -> None:
    async with app.state.db.unit_of_work() as session:
        await presence.socket_closed(context_for(app, session), socket_id)


async def test_focusing_with_until_and_task_then_back_online(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
    outbox: ReadOutbox,
) -> None:  # fmt: skip
    await _join(deliver, team)
    assert {m["status"] for m in (await _now(client, team)).values()} == {"offline"}
    await _open_socket(app, team.member.id)
    assert (await _now(client, team))[str(team.member.id)]["status"] == "online"
    task = uuid.uuid4()
    started = _focus(team, clock, task=task)
    await deliver("focus.session.started", started)
    me = (await _now(client, team))[str(team.member.id)]
    assert me["status"] == "focusing"
    assert me["until"] == started["planned_end_time"]
    assert me["focus_type"] == "pomodoro"
    assert me["task_id"] == str(task)
    assert me["since"] == started["start_time"]
    clock.advance(minutes=10)
    ended = {**started, "end_time": clock.now.isoformat(), "actual_minutes": 10,
             "minutes": 10, "ended_by": "user", "minutes_by_day": {"2026-11-24": 10}}  # fmt: skip
    await deliver("focus.session.ended", ended)
    assert (await _now(client, team))[str(team.member.id)]["status"] == "online"
    changes = [e["data"] for e in await outbox("realtime.presence.changed")]
    mine = [
        (c["previous_status"], c["status"]) for c in changes if c["user_id"] == str(team.member.id)
    ]
    assert mine == [("offline", "online"), ("online", "focusing"), ("focusing", "online")]
    assert all(c["team_id"] == str(team.id) for c in changes)


async def test_a_session_nobody_stops_ends_at_its_planned_end_plus_grace(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
    outbox: ReadOutbox,
) -> None:  # fmt: skip
    await _join(deliver, team)
    await deliver("focus.session.started", _focus(team, clock, task=None, minutes=25))
    clock.advance(minutes=29)
    assert (await _now(client, team))[str(team.member.id)]["status"] == "focusing"
    await run_job(app, "presence")
    assert len(await outbox("realtime.presence.changed")) == 1
    clock.advance(minutes=2)  # past 25 + 5 minutes of grace
    assert (await _now(client, team))[str(team.member.id)]["status"] == "offline"
    assert await run_job(app, "presence") == 1
    last = (await outbox("realtime.presence.changed"))[-1]["data"]
    assert (last["previous_status"], last["status"]) == ("focusing", "offline")
    assert await run_job(app, "presence") == 0  # announced once, no heartbeat


async def test_precedence_meeting_over_focus_over_busy_over_online(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
) -> None:  # fmt: skip
    await _join(deliver, team)
    await _open_socket(app, team.member.id)
    start, end = clock.now - timedelta(minutes=5), clock.now + timedelta(minutes=55)
    event_id = str(uuid.uuid4())
    await deliver(
        "calendar.event.created",
        {
            "event_id": event_id,
            "team_id": None,  # personal: busy shows, the event does not
            "title": "Dentist",
            "event_type": "other",
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            "created_by_id": str(team.member.id),
            "user_id": str(team.member.id),
            "attendee_ids": [],
            "is_all_day": False,
            "timezone": "UTC",
            "recurrence": None,
            "exdates": [],
            "sequence": 0,
        },
    )
    me = (await _now(client, team))[str(team.member.id)]
    assert (me["status"], me["until"]) == ("busy", end.isoformat().replace("+00:00", "Z"))
    await deliver("focus.session.started", _focus(team, clock, task=None))
    assert (await _now(client, team))[str(team.member.id)]["status"] == "focusing"
    meeting = str(uuid.uuid4())
    await deliver(
        "meetings.participant.joined",
        {"meeting_id": meeting, "team_id": str(team.id), "user_id": str(team.member.id),
         "joined_at": clock.now.isoformat(), "first_join": True, "source": "user"},
    )  # fmt: skip
    me = (await _now(client, team))[str(team.member.id)]
    assert (me["status"], me["meeting_id"]) == ("in_meeting", meeting)
    await deliver(
        "meetings.meeting.ended",
        {"meeting_id": meeting, "team_id": str(team.id), "user_id": str(team.owner.id),
         "started_at": clock.now.isoformat(), "ended_at": clock.now.isoformat(),
         "participant_ids": [str(team.member.id)], "attendee_ids": [str(team.member.id)],
         "title": "Sync", "description": "", "start_time": clock.now.isoformat(),
         "end_time": clock.now.isoformat(), "status": "completed", "provider": "jitsi",
         "created_by_id": str(team.owner.id), "meeting_link": "https://meet.jit.si/vc-x",
         "recording_url": None, "ended_by": "user"},
    )  # fmt: skip
    assert (await _now(client, team))[str(team.member.id)]["status"] == "focusing"
    await deliver(
        "calendar.event.cancelled",
        {
            "event_id": event_id,
            "team_id": None,
            "user_id": str(team.member.id),
            "created_by_id": str(team.member.id),
            "title": "Dentist",
            "event_type": "other",
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            "is_all_day": False,
            "timezone": "UTC",
            "recurrence": None,
            "exdates": [],
            "attendee_ids": [],
            "sequence": 1,
            "cancelled_at": clock.now.isoformat(),
        },
    )
    clock.advance(minutes=31)  # the session's deadline passed; idle 31 minutes by now
    assert (await _now(client, team))[str(team.member.id)]["status"] == "away"


async def test_another_team_sees_the_status_not_the_meeting_or_task(
    client: httpx.AsyncClient, make_team: Callable[..., Team], deliver: Deliver,
    clock: MovableClock, outbox: ReadOutbox,
) -> None:  # fmt: skip
    first = make_team()
    second = make_team(member=first.member)
    await _join(deliver, first)
    await _join(deliver, second)
    task = uuid.uuid4()
    await deliver("focus.session.started", _focus(first, clock, task=task))
    assert (await _now(client, first))[str(first.member.id)]["task_id"] == str(task)
    theirs = (await _now(client, second))[str(first.member.id)]
    assert (theirs["status"], theirs["task_id"]) == ("focusing", None)
    views = {e["data"]["team_id"]: e["data"] for e in await outbox("realtime.presence.changed")}
    assert views[str(first.id)]["task_id"] == str(task)
    assert views[str(second.id)]["task_id"] is None


async def test_away_after_idle_and_online_at_the_next_activity(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
) -> None:  # fmt: skip
    await _join(deliver, team)
    socket = await _open_socket(app, team.other.id)
    clock.advance(minutes=14)
    await run_job(app, "presence")
    assert (await _now(client, team))[str(team.other.id)]["status"] == "online"
    clock.advance(minutes=2)
    assert await run_job(app, "presence") == 1
    me = (await _now(client, team))[str(team.other.id)]
    assert me["status"] == "away"
    assert me["since"] == (clock.now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    async with app.state.db.unit_of_work() as session:
        await presence.activity(context_for(app, session), team.other.id)
    assert (await _now(client, team))[str(team.other.id)]["status"] == "online"
    await _close_socket(app, socket)
    assert (await _now(client, team))[str(team.other.id)]["status"] == "offline"


async def test_the_now_is_the_same_from_a_new_process(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
    vc_service: Any, db_connection: Any, signer: Any,
) -> None:  # fmt: skip
    from vc_common.db import Database
    from vc_common.testing.plugin import running

    await _join(deliver, team)
    await _open_socket(app, team.owner.id)
    await deliver("focus.session.started", _focus(team, clock, task=None))
    before = await _now(client, team)
    fresh = vc_service.create_app()  # a restarted replica: nothing in memory
    db = Database.from_engine(db_connection, join_transaction_mode="create_savepoint")
    async with running(fresh, db, signer):
        fresh.state.clock = clock
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fresh), base_url="http://test"
        ) as again:
            assert await _now(again, team) == before


async def test_presence_needs_membership_and_keeps_chats_shape(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver
) -> None:
    await _join(deliver, team)
    r = await client.get(f"/api/v1/teams/{team.id}/now", headers=team.outsider.headers)
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/teams/{team.id}/now")).status_code == 401
    await _open_socket(app, team.other.id)
    r = await client.get(f"/api/v1/teams/{team.id}/presence", headers=team.member.headers)
    assert r.status_code == 200
    online = [{"user_id": str(team.other.id), "status": "online"}]
    assert r.json() == {"team_id": str(team.id), "items": online, "online": online}


async def test_a_dead_replicas_sockets_are_swept(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock
) -> None:
    await _join(deliver, team)
    replica = uuid.uuid4()
    async with app.state.db.unit_of_work() as session:
        ctx = context_for(app, session)
        await presence.heartbeat(ctx, replica)
        await presence.socket_opened(ctx, uuid.uuid4(), team.member.id, replica)
    assert (await _now(client, team))[str(team.member.id)]["status"] == "online"
    clock.advance(seconds=60)  # it stopped heartbeating
    assert await run_job(app, "replica-sweep") >= 1
    assert (await _now(client, team))[str(team.member.id)]["status"] == "offline"


async def test_an_occurrence_of_a_recurring_event_makes_its_people_busy(
    app: Any, client: httpx.AsyncClient, team: Team, deliver: Deliver, clock: MovableClock,
) -> None:  # fmt: skip
    """A weekly 30-minute series of Europe/Berlin that began three weeks ago, ten minutes before
    now on the wall clock: this week's occurrence is running; dropped by an EXDATE, it is not."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    await _join(deliver, team)
    await _open_socket(app, team.member.id)
    berlin = ZoneInfo("Europe/Berlin")
    today = (clock.now - timedelta(minutes=10)).astimezone(berlin)
    first = today - timedelta(days=21)  # aware arithmetic keeps the wall clock across DST
    event_id = str(uuid.uuid4())
    series = {
        "event_id": event_id,
        "team_id": str(team.id),
        "title": "Weekly sync",
        "event_type": "meeting",
        "start_time": first.astimezone(UTC).isoformat(),
        "end_time": (first + timedelta(minutes=30)).astimezone(UTC).isoformat(),
        "created_by_id": str(team.owner.id),
        "user_id": str(team.owner.id),
        "attendee_ids": [str(team.member.id)],
        "is_all_day": False,
        "timezone": "Europe/Berlin",
        "recurrence": "FREQ=WEEKLY",
        "exdates": [],
        "sequence": 0,
    }
    await deliver("calendar.event.created", series)
    me = (await _now(client, team))[str(team.member.id)]
    until = (today + timedelta(minutes=30)).astimezone(UTC)
    assert (me["status"], me["until"]) == ("busy", until.isoformat().replace("+00:00", "Z"))

    dropped = {**series, "exdates": [today.astimezone(UTC).isoformat()], "sequence": 1}
    clock.advance(seconds=1)
    await deliver("calendar.event.updated", dropped)
    assert (await _now(client, team))[str(team.member.id)]["status"] == "online"
