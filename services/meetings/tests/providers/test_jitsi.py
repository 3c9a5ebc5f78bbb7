"""Jitsi Meet, the default provider: an unguessable room on the configured server, and a signed
Jitsi JWT in the join answer when the server uses token authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock

from ..conftest import Schedule

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SECRET = "jitsi-app-secret-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _jitsi_with_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETINGS_JITSI_BASE_URL", "https://meet.example.org/")
    monkeypatch.setenv("MEETINGS_JITSI_JWT_SECRET", SECRET)
    monkeypatch.setenv("MEETINGS_JITSI_APP_ID", "vc-app")


async def test_the_join_answer_carries_a_signed_jitsi_jwt(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, clock: MovableClock
) -> None:
    clock.set(T0)
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    assert m["provider"] == "jitsi"
    room = m["meeting_link"].removeprefix("https://meet.example.org/")
    assert room.startswith("vc-")
    assert "/" not in room

    host = (
        await client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.member.headers)
    ).json()
    guest = (
        await client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.other.headers)
    ).json()
    assert host["room_name"] == room
    claims = jwt.decode(
        host["access_token"],
        SECRET,
        algorithms=["HS256"],
        audience="vc-app",
        options={"verify_nbf": False, "verify_exp": False},
    )
    assert claims["iss"] == "vc-app"
    assert claims["sub"] == "meet.example.org"
    assert claims["room"] == room
    assert claims["context"]["user"]["id"] == str(team.member.id)
    assert claims["context"]["user"]["name"] == team.member.username
    assert claims["context"]["user"]["moderator"] == "true"  # the meeting's creator
    assert claims["moderator"] is True
    assert claims["exp"] - claims["nbf"] > 3600
    assert claims["nbf"] <= T0.timestamp() < claims["exp"]
    assert host["join_url"] == f"{m['meeting_link']}?jwt={host['access_token']}"

    other = jwt.decode(
        guest["access_token"],
        SECRET,
        algorithms=["HS256"],
        audience="vc-app",
        options={"verify_nbf": False, "verify_exp": False},
    )
    assert other["context"]["user"]["id"] == str(team.other.id)
    assert other["context"]["user"]["moderator"] == "false"
    assert other["moderator"] is False
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            guest["access_token"],
            "another-secret-of-enough-length!!",
            algorithms=["HS256"],
            audience="vc-app",
        )


async def test_jitsi_sends_no_webhooks_here(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/meetings/webhooks/livekit", content=b"{}")
    assert r.status_code == 404  # LiveKit is not configured
    r = await client.post("/api/v1/meetings/webhooks/jitsi", content=b"{}")
    assert r.status_code == 404


def test_room_names_do_not_repeat() -> None:
    import uuid

    from meetings.providers.jitsi import JitsiMeet

    p = JitsiMeet(base_url="https://meet.example.org")
    names = {p.new_room(uuid.uuid4()).name for _ in range(1000)}
    assert len(names) == 1000
    assert all(n == n.lower() for n in names)  # Jitsi folds case: all the entropy is in hex
    _ = timedelta
