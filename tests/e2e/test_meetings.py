"""End to end through the gateway (the platform `make run` starts, on NATS): a meeting scheduled,
joined, left and ended by real users, counted by analytics from meetings' real events, in the
team's `meetings_count` and in the participant's `meetings_attended`; and LiveKit's webhook route
reachable without a bearer token."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import new_user

pytestmark = pytest.mark.e2e


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.mark.usefixtures("nats_only")
async def test_a_meeting_counts_in_analytics(api: httpx.AsyncClient) -> None:
    health = (await api.get("/health")).json()
    assert health["services"]["meetings"] == "ok"
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "/api/v1/teams/{team_id}/meetings" in paths
    assert paths["/api/v1/meetings/webhooks/{provider}"]["post"]["security"] == []

    alice, bob = await new_user(api, "alice"), await new_user(api, "bob")
    r = await api.post("/api/v1/teams", json={"name": "Gemini"}, headers=alice["headers"])
    assert r.status_code == 201, r.text
    team = r.json()
    r = await api.post(
        f"/api/v1/teams/{team['id']}/members",
        json={"user_id": bob["id"], "role": "member"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text

    now = datetime.now(UTC)
    r = await api.post(
        f"/api/v1/teams/{team['id']}/meetings",
        json={
            "title": "Kick-off",
            "start_time": _iso(now),
            "end_time": _iso(now + timedelta(minutes=30)),
            "participant_ids": [bob["id"]],
        },
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    meeting = r.json()
    assert meeting["status"] == "scheduled"
    assert meeting["meeting_link"]
    url = f"/api/v1/meetings/{meeting['id']}"

    r = await api.post(f"{url}/join", headers=bob["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["status"] == "joined"
    assert (await api.post(f"{url}/join", headers=alice["headers"])).status_code == 200
    assert (await api.post(f"{url}/leave", headers=bob["headers"])).status_code == 200
    r = await api.post(f"{url}/end", headers=alice["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    assert (await api.post(f"{url}/join", headers=bob["headers"])).status_code == 409

    # the provider's webhook needs no bearer token at the gateway; meetings itself answers
    # (LiveKit is not configured under `make run`: 404, never the gateway's 401)
    r = await api.post("/api/v1/meetings/webhooks/livekit", content=b"{}")
    assert r.status_code == 404, r.text
    assert "www-authenticate" not in r.headers

    today = datetime.now(UTC).date().isoformat()
    deadline = time.monotonic() + 15
    team_row: dict[str, int] = {}
    bob_row: dict[str, int] = {}
    while time.monotonic() < deadline:
        t = await api.get(
            f"/api/v1/teams/{team['id']}/analytics",
            params={"from": today, "to": today},
            headers=alice["headers"],
        )
        u = await api.get(
            "/api/v1/users/me/analytics",
            params={"from": today, "to": today},
            headers=bob["headers"],
        )
        assert t.status_code == 200, t.text
        assert u.status_code == 200, u.text
        team_row, bob_row = t.json()["items"][0], u.json()["items"][0]
        if team_row["meetings_count"] >= 1 and bob_row["meetings_attended"] >= 1:
            break
        await asyncio.sleep(0.2)
    assert team_row["meetings_count"] == 1, team_row
    assert bob_row["meetings_attended"] == 1, bob_row
    assert team_row["active_members"] >= 1
