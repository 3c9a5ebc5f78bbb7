from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from teams_client.testing import member_added

URL = "/api/v1/focus/sessions"


async def focus(
    client: httpx.AsyncClient, clock: Any, user: Any, start: str, minutes: float, **body: Any
) -> str:
    clock.set(start)
    resp = await client.post(URL, json={"focus_type": "pomodoro", **body}, headers=user.headers)
    assert resp.status_code == 201, resp.text
    sid = str(resp.json()["id"])
    if minutes:
        clock.advance(minutes=minutes)
        await client.post(f"{URL}/{sid}/stop", headers=user.headers)
    return sid


async def test_history_newest_first_paginated_and_ranged(
    client: httpx.AsyncClient, make_user: Any, clock: Any, set_timezone: Any
) -> None:
    user = make_user()
    await set_timezone(user, "Asia/Kolkata", registered=True)
    a = await focus(client, clock, user, "2026-11-23T10:00:00Z", 25)
    b = await focus(client, clock, user, "2026-11-24T10:00:00Z", 25)
    c = await focus(client, clock, user, "2026-11-24T19:00:00Z", 25)  # 00:30 on the 25th IST
    d = await focus(client, clock, user, "2026-11-25T10:00:00Z", 0)  # still running
    await focus(client, clock, make_user(), "2026-11-24T10:00:00Z", 25)
    everything = (await client.get(URL, headers=user.headers)).json()
    assert [s["id"] for s in everything["items"]] == [d, c, b, a]
    assert everything["next_cursor"] is None
    page1 = (await client.get(URL, params={"limit": 3}, headers=user.headers)).json()
    page2 = (
        await client.get(
            URL, params={"limit": 3, "cursor": page1["next_cursor"]}, headers=user.headers
        )
    ).json()
    assert [s["id"] for s in page1["items"] + page2["items"]] == [d, c, b, a]
    assert page2["next_cursor"] is None
    # local days (Kolkata): the 24th is 2026-11-23T18:30Z .. 2026-11-24T18:30Z
    day = (
        await client.get(
            URL, params={"from": "2026-11-24", "to": "2026-11-24"}, headers=user.headers
        )
    ).json()
    assert [s["id"] for s in day["items"]] == [b]
    since = (
        await client.get(URL, params={"from": "2026-11-24T18:00:00Z"}, headers=user.headers)
    ).json()
    assert [s["id"] for s in since["items"]] == [d, c]
    bad = await client.get(
        URL, params={"from": "2026-11-25", "to": "2026-11-24"}, headers=user.headers
    )
    assert bad.status_code == 422
    assert (
        await client.get(URL, params={"cursor": "nonsense"}, headers=user.headers)
    ).status_code == 422
    assert (await client.get(URL, params={"limit": 201}, headers=user.headers)).status_code == 422


@pytest.mark.usefixtures("fake_teams")
async def test_sessions_for_a_task(
    client: httpx.AsyncClient,
    make_user: Any,
    clock: Any,
    deliver: Any,
    outbox: Any,
) -> None:
    alice, bob, outsider = make_user(), make_user(), make_user()
    team, task, other_task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await deliver(member_added(team, alice))
    await deliver(member_added(team, bob))
    s1 = await focus(
        client, clock, alice, "2026-11-24T09:00:00Z", 25, team_id=str(team), task_id=str(task)
    )
    await focus(
        client, clock, bob, "2026-11-24T09:00:00Z", 20, team_id=str(team), task_id=str(task)
    )
    await focus(
        client, clock, alice, "2026-11-24T10:00:00Z", 25, team_id=str(team), task_id=str(other_task)
    )
    await focus(
        client, clock, bob, "2026-11-24T10:00:00Z", 0, team_id=str(team), task_id=str(task)
    )  # running: not counted yet
    mine = (await client.get(URL, params={"task_id": str(task)}, headers=alice.headers)).json()
    assert [s["id"] for s in mine["items"]] == [s1]
    ended = [e["data"] for e in await outbox("focus.session.ended")]
    assert {(e["task_id"], e["minutes"]) for e in ended} == {
        (str(task), 25),
        (str(task), 20),
        (str(other_task), 25),
    }
    time_url = f"/api/v1/focus/tasks/{task}/time"
    total = await client.get(time_url, headers=bob.headers)
    assert total.status_code == 200
    body = total.json()
    assert body["task_id"] == str(task)
    assert body["total_minutes"] == 45
    assert body["sessions"] == 2
    assert sorted((u["user_id"], u["minutes"]) for u in body["by_user"]) == sorted(
        [(str(alice.id), 25), (str(bob.id), 20)]
    )
    assert (await client.get(time_url, headers=outsider.headers)).status_code == 404
    assert (
        await client.get(time_url, params={"team_id": str(team)}, headers=outsider.headers)
    ).status_code == 404
    fresh = await client.get(
        f"/api/v1/focus/tasks/{uuid.uuid4()}/time",
        params={"team_id": str(team)},
        headers=alice.headers,
    )
    assert fresh.status_code == 200
    assert fresh.json()["total_minutes"] == 0
    assert (
        await client.get(f"/api/v1/focus/tasks/{uuid.uuid4()}/time", headers=alice.headers)
    ).status_code == 404


@pytest.mark.usefixtures("clock")
async def test_a_task_needs_its_team_and_the_team_a_member(
    client: httpx.AsyncClient, make_user: Any, fake_teams: Any, outbox: Any
) -> None:
    user = make_user()
    no_team = await client.post(
        URL, json={"focus_type": "pomodoro", "task_id": str(uuid.uuid4())}, headers=user.headers
    )
    assert no_team.status_code == 422
    strangers = await client.post(
        URL, json={"focus_type": "pomodoro", "team_id": str(uuid.uuid4())}, headers=user.headers
    )
    assert strangers.status_code == 404
    team = uuid.uuid4()
    fake_teams.add(team, user.id)  # known to teams, not yet projected
    ok = await client.post(
        URL, json={"focus_type": "pomodoro", "team_id": str(team)}, headers=user.headers
    )
    assert ok.status_code == 201
    assert ok.json()["team_id"] == str(team)
    assert [e["data"]["team_id"] for e in await outbox("focus.session.started")] == [str(team)]
