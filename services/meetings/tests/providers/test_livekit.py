"""LiveKit: the join answer's access token, and LiveKit's signed webhooks, both with LiveKit's
own SDK (``livekit-api``). Webhooks here are signed exactly as a LiveKit server signs them: the
protobuf ``WebhookEvent`` as JSON, its SHA-256 in the ``sha256`` claim of a JWT signed with the
API secret, in the ``Authorization`` header."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api
from livekit.protocol import egress, models
from livekit.protocol.webhook import WebhookEvent
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from ..conftest import Schedule, parse

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
URL = "wss://livekit.example.org"
KEY = "APIvcTestKey"
SECRET = "livekit-api-secret-for-tests-0123456789abcdef"
HOOK = "/api/v1/meetings/webhooks/livekit"


@pytest.fixture(autouse=True)
def _livekit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_URL", URL)
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)


def signed(
    event: WebhookEvent, *, secret: str = SECRET, key: str = KEY
) -> tuple[bytes, dict[str, str]]:
    """What a LiveKit server POSTs: protojson of the event, and its signed token."""
    body = MessageToJson(event)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = api.AccessToken(key, secret).with_sha256(digest).with_ttl(timedelta(minutes=5)).to_jwt()
    return body.encode(), {"Authorization": token, "Content-Type": "application/webhook+json"}


def secs(t: datetime) -> int:
    return int(t.timestamp())


def participant_event(
    kind: str, room: str, user: TestUser, *, sid: str, joined: datetime, at: datetime
) -> WebhookEvent:
    return WebhookEvent(
        event=kind,
        id=f"EV_{uuid.uuid4().hex[:12]}",
        created_at=secs(at),
        room=models.Room(sid="RM_x", name=room),
        participant=models.ParticipantInfo(
            sid=sid, identity=str(user.id), name=user.username, joined_at=secs(joined)
        ),
    )


async def post(client: httpx.AsyncClient, event: WebhookEvent, **kw: Any) -> httpx.Response:
    body, headers = signed(event, **kw)
    return await client.post(HOOK, content=body, headers=headers)


async def participants(
    client: httpx.AsyncClient, m: dict[str, Any], user: TestUser
) -> dict[str, Any]:
    r = await client.get(f"/api/v1/meetings/{m['id']}", headers=user.headers)
    return {p["user_id"]: p for p in r.json()["participants"]} | {"_meeting": r.json()}


async def test_the_join_answer_carries_a_livekit_token_for_that_room_and_participant(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, clock: MovableClock
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    assert m["provider"] == "livekit"
    assert m["meeting_link"].startswith("https://livekit.example.org/rooms/vc-")
    host = (
        await client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.member.headers)
    ).json()
    guest = (
        await client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.other.headers)
    ).json()
    assert host["server_url"] == URL
    verifier = api.TokenVerifier(KEY, SECRET)
    claims = verifier.verify(host["access_token"])
    assert claims.identity == str(team.member.id)
    assert claims.name == team.member.username
    assert claims.video is not None
    assert claims.video.room == host["room_name"]
    assert claims.video.room_join is True
    assert claims.video.room_admin is True  # the creator
    g = verifier.verify(guest["access_token"]).video
    assert g is not None
    assert g.room == host["room_name"]
    assert not g.room_admin
    with pytest.raises(Exception, match="Signature"):
        api.TokenVerifier(KEY, "not-the-secret-of-this-deployment-0000").verify(
            guest["access_token"]
        )


async def test_a_bad_signature_is_a_401_and_changes_nothing(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0)
    room = m["meeting_link"].rsplit("/", 1)[1]
    ev = participant_event("participant_joined", room, team.other, sid="PA_1", joined=T0, at=T0)
    r = await post(client, ev, secret="forged-secret-of-the-same-length-0123456789ab")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body, headers = signed(ev)
    tampered = body.replace(str(team.other.id).encode(), str(team.outsider.id).encode())
    assert (await client.post(HOOK, content=tampered, headers=headers)).status_code == 401
    assert (await client.post(HOOK, content=body)).status_code == 401  # unsigned
    assert (
        await client.post(HOOK, content=body, headers={"Authorization": "Bearer x.y.z"})
    ).status_code == 401
    assert (await client.get(f"/api/v1/meetings/{m['id']}", headers=team.member.headers)).json()[
        "status"
    ] == "scheduled"
    assert await outbox("meetings.participant.joined") == []
    # the very same event, properly signed, is then applied: the refusals recorded nothing
    r = await client.post(HOOK, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "applied"}


async def _in_order(client: httpx.AsyncClient, events: list[WebhookEvent]) -> None:
    for ev in events:
        r = await post(client, ev)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("order", ["in_order", "out_of_order"])
async def test_joined_and_left_give_the_same_attendance_in_any_order(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
    order: str,
) -> None:
    clock.set(T0 + timedelta(hours=1))
    m = await schedule(client, team, by=team.member, start=T0, minutes=120, invite=[team.other])
    room = m["meeting_link"].rsplit("/", 1)[1]
    u = team.other
    t = T0 + timedelta(minutes=2)
    stays = [
        participant_event("participant_joined", room, u, sid="PA_a", joined=t, at=t),
        participant_event(
            "participant_left", room, u, sid="PA_a", joined=t, at=t + timedelta(minutes=10)
        ),
        # a rejoin after a dropped connection: a new connection id
        participant_event(
            "participant_joined",
            room,
            u,
            sid="PA_b",
            joined=t + timedelta(minutes=12),
            at=t + timedelta(minutes=12),
        ),
        participant_event(
            "participant_left",
            room,
            u,
            sid="PA_b",
            joined=t + timedelta(minutes=12),
            at=t + timedelta(minutes=30),
        ),
    ]
    sent = stays if order == "in_order" else [stays[3], stays[1], stays[2], stays[0]]
    await _in_order(client, sent)
    # LiveKit redelivers: the same event ids again change nothing
    for ev in sent:
        r = await post(client, ev)
        assert r.json() == {"status": "duplicate"}

    people = await participants(client, m, team.member)
    meeting, p = people["_meeting"], people[str(u.id)]
    assert meeting["status"] == "in_progress"
    assert parse(meeting["started_at"]) == t
    assert p["status"] == "left"
    assert parse(p["join_time"]) == t
    assert parse(p["leave_time"]) == t + timedelta(minutes=30)
    assert p["attended_minutes"] == 10 + 18
    joined = await outbox("meetings.participant.joined")
    left = await outbox("meetings.participant.left")
    assert len(joined) == 2
    assert len(left) == 2
    assert {e["data"]["source"] for e in joined + left} == {"provider"}
    assert len(await outbox("meetings.meeting.started")) == 1


async def test_a_route_join_and_the_providers_joined_are_one_stay(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0)
    room = m["meeting_link"].rsplit("/", 1)[1]
    assert (
        await client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.other.headers)
    ).status_code == 200
    t = T0 + timedelta(seconds=3)
    clock.set(t)
    await _in_order(
        client,
        [participant_event("participant_joined", room, team.other, sid="PA_c", joined=t, at=t)],
    )
    clock.set(T0 + timedelta(minutes=20))
    await _in_order(
        client,
        [
            participant_event(
                "participant_left",
                room,
                team.other,
                sid="PA_c",
                joined=t,
                at=T0 + timedelta(minutes=20),
            )
        ],
    )
    p = (await participants(client, m, team.member))[str(team.other.id)]
    assert p["status"] == "left"
    assert p["attended_minutes"] == 20
    assert len(await outbox("meetings.participant.joined")) == 1
    assert len(await outbox("meetings.participant.left")) == 1


async def test_room_finished_completes_it_and_the_recording_arrives(
    client: httpx.AsyncClient,
    team: Team,
    schedule: Schedule,
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set(T0 + timedelta(minutes=40))
    m = await schedule(client, team, by=team.member, start=T0, minutes=60, invite=[team.other])
    room = m["meeting_link"].rsplit("/", 1)[1]
    await _in_order(
        client,
        [participant_event("participant_joined", room, team.other, sid="PA_d", joined=T0, at=T0)],
    )
    finished = WebhookEvent(
        event="room_finished",
        id="EV_fin",
        created_at=secs(T0 + timedelta(minutes=30)),
        room=models.Room(name=room),
    )
    r = await post(client, finished)
    assert r.json() == {"status": "applied"}
    # the connection's own left comes after the room finished, a little earlier in time
    late_left = participant_event(
        "participant_left", room, team.other, sid="PA_d", joined=T0, at=T0 + timedelta(minutes=29)
    )
    assert (await post(client, late_left)).json() == {"status": "applied"}
    got = await participants(client, m, team.member)
    assert got["_meeting"]["status"] == "completed"
    assert parse(got["_meeting"]["ended_at"]) == T0 + timedelta(minutes=30)
    assert got[str(team.other.id)]["attended_minutes"] == 29
    (ended,) = await outbox("meetings.meeting.ended")
    assert ended["data"]["ended_by"] == "provider"
    # a connection after the end is not part of the meeting
    after = participant_event(
        "participant_joined",
        room,
        team.outsider,
        sid="PA_e",
        joined=T0 + timedelta(minutes=35),
        at=T0 + timedelta(minutes=35),
    )
    assert (await post(client, after)).json() == {"status": "ignored"}

    egress_ended = WebhookEvent(
        event="egress_ended",
        id="EV_eg",
        created_at=secs(T0 + timedelta(minutes=31)),
        egress_info=egress.EgressInfo(
            egress_id="EG_1",
            room_name=room,
            status=egress.EgressStatus.EGRESS_COMPLETE,
            file_results=[
                egress.FileInfo(filename="r.mp4", location="https://s3.example.org/rec/r.mp4")
            ],
        ),
    )
    assert (await post(client, egress_ended)).json() == {"status": "applied"}
    got = await participants(client, m, team.member)
    assert got["_meeting"]["recording_url"] == "https://s3.example.org/rec/r.mp4"
    (updated,) = await outbox("meetings.meeting.updated")
    assert updated["data"]["changed"] == ["recording_url"]
    assert updated["data"]["recording_url"] == "https://s3.example.org/rec/r.mp4"


async def test_events_of_rooms_that_are_not_ours_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    ev = participant_event(
        "participant_joined", "someone-elses-room", team.other, sid="PA_z", joined=T0, at=T0
    )
    assert (await post(client, ev)).json() == {"status": "ignored"}
    started = WebhookEvent(
        event="room_started", id="EV_rs", created_at=secs(T0), room=models.Room(name="x")
    )
    assert (await post(client, started)).json() == {"status": "ignored"}
    assert await outbox() == []
