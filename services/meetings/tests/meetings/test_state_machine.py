"""scheduled → in_progress → completed, scheduled → cancelled; anything else is a 409, and a
scheduled meeting starts with its first join."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox

from ..conftest import Schedule

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_start_end_and_every_other_move_is_a_409(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0)
    url = f"/api/v1/meetings/{m['id']}"
    h = team.member.headers
    assert (await client.post(f"{url}/end", headers=h)).status_code == 409
    r = await client.post(f"{url}/start", headers=team.other.headers)
    assert r.status_code == 403  # neither its creator nor an admin
    r = await client.post(f"{url}/start", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    assert r.json()["started_at"].startswith("2026-11-24T10:00:00")
    for action in ("start", "cancel"):
        r = await client.post(f"{url}/{action}", headers=h)
        assert r.status_code == 409, action
        assert r.headers["content-type"].startswith("application/problem+json")
    clock.advance(minutes=25)
    r = await client.post(f"{url}/end", headers=team.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    assert r.json()["ended_at"].startswith("2026-11-24T10:25:00")
    for action in ("start", "end", "cancel", "join"):
        assert (await client.post(f"{url}/{action}", headers=h)).status_code == 409, action
    r = await client.patch(url, json={"title": "late"}, headers=h)
    assert r.status_code == 409

    (started,) = await outbox("meetings.meeting.started")
    assert started["data"]["user_id"] == str(team.member.id)
    (ended,) = await outbox("meetings.meeting.ended")
    data = ended["data"]
    assert data["user_id"] == str(team.admin.id)
    assert data["ended_by"] == "user"
    assert data["started_at"].startswith("2026-11-24T10:00:00")
    assert data["ended_at"].startswith("2026-11-24T10:25:00")
    assert data["attendee_ids"] == []


async def test_a_cancelled_meeting_goes_nowhere(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, outbox: ReadOutbox
) -> None:
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    url = f"/api/v1/meetings/{m['id']}"
    r = await client.post(f"{url}/cancel", headers=team.admin.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    for action in ("start", "end", "cancel", "join"):
        r = await client.post(f"{url}/{action}", headers=team.member.headers)
        assert r.status_code == 409, action
    (event,) = await outbox("meetings.meeting.cancelled")
    assert event["data"]["reason"] == "cancelled"
    assert event["data"]["status"] == "cancelled"
    assert set(event["data"]["participant_ids"]) == {str(team.member.id), str(team.other.id)}


async def test_the_first_join_starts_a_scheduled_meeting_once(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set(T0 - timedelta(minutes=2))
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    url = f"/api/v1/meetings/{m['id']}"
    r = await client.post(f"{url}/join", headers=team.other.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meeting_link"] == m["meeting_link"]
    assert body["join_url"] == m["meeting_link"]
    assert body["access_token"] is None  # Jitsi without token auth: an open room
    assert body["provider"] == "jitsi"
    assert body["participant"]["user_id"] == str(team.other.id)
    assert body["participant"]["status"] == "joined"
    assert body["participant"]["invited"] is True
    # an uninvited member of the team may join too
    r = await client.post(f"{url}/join", headers=team.admin.headers)
    assert r.status_code == 200
    assert r.json()["participant"]["invited"] is False

    got = (await client.get(url, headers=team.member.headers)).json()
    assert got["status"] == "in_progress"
    assert got["started_at"].startswith("2026-11-24T09:58:00")
    (started,) = await outbox("meetings.meeting.started")
    assert started["data"]["user_id"] == str(team.other.id)
    joined = await outbox("meetings.participant.joined")
    assert [e["data"]["user_id"] for e in joined] == [str(team.other.id), str(team.admin.id)]
    assert all(e["data"]["first_join"] for e in joined)
    types = [e["type"] for e in await outbox(subject=m["id"])]
    assert types == [
        "meetings.meeting.scheduled",
        "meetings.meeting.started",
        "meetings.participant.joined",
        "meetings.participant.joined",
    ]
