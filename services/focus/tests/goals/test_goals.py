from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from teams_client.testing import member_added

SESSIONS = "/api/v1/focus/sessions"
GOALS = "/api/v1/focus/goals"


async def focus(
    client: httpx.AsyncClient, clock: Any, user: Any, start: str, minutes: float, **body: Any
) -> dict[str, Any]:
    clock.set(start)
    resp = await client.post(
        SESSIONS,
        json={"focus_type": "custom", "duration_minutes": 240, **body},
        headers=user.headers,
    )
    assert resp.status_code == 201, resp.text
    clock.advance(minutes=minutes)
    stopped = await client.post(f"{SESSIONS}/{resp.json()['id']}/stop", headers=user.headers)
    assert stopped.status_code == 200
    return dict(stopped.json())


@pytest.mark.usefixtures("clock")
async def test_put_creates_then_updates(
    client: httpx.AsyncClient, make_user: Any, outbox: Any
) -> None:
    user = make_user()
    created = await client.put(
        f"{GOALS}/2026-11-24", json={"target_hours": 4}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{GOALS}/2026-11-24"
    goal = created.json()
    assert goal["target_hours"] == 4
    assert goal["actual_hours"] == 0
    assert goal["date"] == "2026-11-24"
    assert goal["team_id"] is None
    assert goal["reached_at"] is None
    updated = await client.put(
        f"{GOALS}/2026-11-24", json={"target_hours": 2.5}, headers=user.headers
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == goal["id"]
    assert updated.json()["target_hours"] == 2.5
    got = await client.get(f"{GOALS}/2026-11-24", headers=user.headers)
    assert got.json() == updated.json()
    assert (await client.get(f"{GOALS}/2026-11-25", headers=user.headers)).status_code == 404
    assert (await client.get(f"{GOALS}/2026-11-24", headers=make_user().headers)).status_code == 404
    events = await outbox("focus.goal.set")
    assert [e["data"]["target_hours"] for e in events] == [4, 2.5]
    assert all(e["subject"] == goal["id"] for e in events)


@pytest.mark.parametrize(
    "body",
    [
        {"target_hours": 24.01},
        {"target_hours": -1},
        {"target_hours": 25},
        {},
        {"target_hours": "lots"},
        {"target_hours": 1.234},
    ],
)
async def test_targets_are_between_0_and_24_hours(
    client: httpx.AsyncClient, make_user: Any, body: dict[str, Any]
) -> None:
    resp = await client.put(f"{GOALS}/2026-11-24", json=body, headers=make_user().headers)
    assert resp.status_code == 422


@pytest.mark.parametrize("target", [0, 24])
async def test_the_bounds_are_allowed(
    client: httpx.AsyncClient, make_user: Any, target: int
) -> None:
    resp = await client.put(
        f"{GOALS}/2026-11-24", json={"target_hours": target}, headers=make_user().headers
    )
    assert resp.status_code == 201


async def test_a_bad_date_is_rejected(client: httpx.AsyncClient, make_user: Any) -> None:
    resp = await client.put(
        f"{GOALS}/2026-02-30", json={"target_hours": 1}, headers=make_user().headers
    )
    assert resp.status_code == 422


async def test_actual_hours_follow_the_sessions(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any, set_timezone: Any
) -> None:
    user = make_user()
    await set_timezone(user, "America/Los_Angeles", registered=True)
    # focus before the goal exists: filled in when it is set
    await focus(client, clock, user, "2026-11-24T17:00:00Z", 45)  # 09:00 local
    goal = (
        await client.put(f"{GOALS}/2026-11-24", json={"target_hours": 2}, headers=user.headers)
    ).json()
    assert goal["actual_hours"] == 0.75
    assert goal["reached_at"] is None
    # 23:00-00:30 local: 60 minutes on the 24th, 30 on the 25th
    await focus(client, clock, user, "2026-11-25T07:00:00Z", 90)
    after = (await client.get(f"{GOALS}/2026-11-24", headers=user.headers)).json()
    assert after["actual_hours"] == 1.75
    assert after["reached_at"] is None
    await focus(client, clock, user, "2026-11-24T19:00:00Z", 15)  # reaches 2 h
    reached = (await client.get(f"{GOALS}/2026-11-24", headers=user.headers)).json()
    assert reached["actual_hours"] == 2
    assert reached["reached_at"] is not None
    await focus(client, clock, user, "2026-11-24T20:00:00Z", 30)  # past it: no second event
    final = (await client.get(f"{GOALS}/2026-11-24", headers=user.headers)).json()
    assert final["actual_hours"] == 2.5
    assert final["reached_at"] == reached["reached_at"]
    # raising the target and reaching it again: still one event per goal and day
    await client.put(f"{GOALS}/2026-11-24", json={"target_hours": 3}, headers=user.headers)
    await focus(client, clock, user, "2026-11-24T21:00:00Z", 30)
    [event] = await outbox("focus.goal.reached")
    assert event["subject"] == goal["id"]
    assert event["data"]["actual_hours"] == 2
    assert event["data"]["target_hours"] == 2
    assert event["data"]["timezone"] == "America/Los_Angeles"
    listed = (
        await client.get(
            GOALS, params={"from": "2026-11-24", "to": "2026-11-24"}, headers=user.headers
        )
    ).json()
    assert [g["actual_hours"] for g in listed["items"]] == [3]


async def test_setting_a_goal_already_met_reaches_it(
    client: httpx.AsyncClient, make_user: Any, clock: Any, outbox: Any
) -> None:
    user = make_user()
    await focus(client, clock, user, "2026-11-24T10:00:00Z", 60)
    goal = (
        await client.put(f"{GOALS}/2026-11-24", json={"target_hours": 1}, headers=user.headers)
    ).json()
    assert goal["reached_at"] is not None
    assert [e["type"] for e in await outbox() if e["type"].startswith("focus.goal")] == [
        "focus.goal.set",
        "focus.goal.reached",
    ]
    zero = (
        await client.put(f"{GOALS}/2026-11-25", json={"target_hours": 0}, headers=user.headers)
    ).json()
    assert zero["reached_at"] is None


@pytest.mark.usefixtures("fake_teams")
async def test_team_goals(
    client: httpx.AsyncClient, make_user: Any, clock: Any, deliver: Any
) -> None:
    user, team, strangers_team = make_user(), uuid.uuid4(), uuid.uuid4()
    await deliver(member_added(team, user))
    resp = await client.put(
        f"{GOALS}/2026-11-24",
        json={"target_hours": 1, "team_id": str(strangers_team)},
        headers=user.headers,
    )
    assert resp.status_code == 404
    team_goal = await client.put(
        f"{GOALS}/2026-11-24", json={"target_hours": 1, "team_id": str(team)}, headers=user.headers
    )
    assert team_goal.status_code == 201
    assert team_goal.headers["location"] == f"{GOALS}/2026-11-24?team_id={team}"
    own = await client.put(f"{GOALS}/2026-11-24", json={"target_hours": 1}, headers=user.headers)
    assert own.status_code == 201
    assert own.json()["id"] != team_goal.json()["id"]
    await focus(client, clock, user, "2026-11-24T10:00:00Z", 30, team_id=str(team))
    await focus(client, clock, user, "2026-11-24T11:00:00Z", 30)
    goals = (await client.get(GOALS, headers=user.headers)).json()["items"]
    assert sorted((g["team_id"], g["actual_hours"]) for g in goals if g["team_id"] is None) == [
        (None, 1.0)
    ]
    assert [g["actual_hours"] for g in goals if g["team_id"] == str(team)] == [0.5]
    only_team = (
        await client.get(GOALS, params={"team_id": str(team)}, headers=user.headers)
    ).json()["items"]
    assert [g["team_id"] for g in only_team] == [str(team)]
