from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from teams_client.testing import member_added

URL = "/api/v1/focus/sessions"


@pytest.mark.usefixtures("fake_teams")
async def test_a_deleted_teams_focus_data(
    client: httpx.AsyncClient,
    make_user: Any,
    clock: Any,
    deliver: Any,
) -> None:
    user, team = make_user(), uuid.uuid4()
    await deliver(member_added(team, user))
    s = (
        await client.post(
            URL,
            json={"focus_type": "pomodoro", "team_id": str(team), "task_id": str(uuid.uuid4())},
            headers=user.headers,
        )
    ).json()
    clock.advance(minutes=25)
    await client.post(f"{URL}/{s['id']}/stop", headers=user.headers)
    await client.put(
        "/api/v1/focus/goals/2026-11-24",
        json={"target_hours": 1, "team_id": str(team)},
        headers=user.headers,
    )
    await deliver(
        "teams.team.deleted",
        {
            "team_id": str(team),
            "user_id": str(user.id),
            "actor_id": str(user.id),
            "member_ids": [str(user.id)],
        },
        subject=team,
    )
    kept = (await client.get(f"{URL}/{s['id']}", headers=user.headers)).json()
    assert kept["team_id"] is None
    assert kept["task_id"] is None
    assert kept["actual_duration_minutes"] == 25
    goals = (await client.get("/api/v1/focus/goals", headers=user.headers)).json()["items"]
    assert goals == []
    stats = (await client.get("/api/v1/focus/stats", headers=user.headers)).json()["items"]
    assert [(r["team_id"], r["total_focus_minutes"]) for r in stats] == [(None, 25)]
    team_stats = (
        await client.get("/api/v1/focus/stats", params={"team_id": str(team)}, headers=user.headers)
    ).json()["items"]
    assert team_stats == []
    assert (
        await client.get(f"/api/v1/teams/{team}/focus/now", headers=user.headers)
    ).status_code == 404
