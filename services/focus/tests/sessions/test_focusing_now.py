from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from teams_client.testing import member_added

URL = "/api/v1/focus/sessions"


@pytest.mark.usefixtures("fake_teams")
async def test_who_is_focusing_now(
    client: httpx.AsyncClient, make_user: Any, clock: Any, deliver: Any
) -> None:
    alice, bob, carol, dave, outsider = (make_user() for _ in range(5))
    team, other_team, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for u in (alice, bob, carol, dave):
        await deliver(member_added(team, u))
    await deliver(member_added(other_team, bob))
    now_url = f"/api/v1/teams/{team}/focus/now"
    assert (await client.get(now_url, headers=alice.headers)).json()["items"] == []

    s_alice = (
        await client.post(
            URL,
            json={"focus_type": "deep_work", "team_id": str(team), "task_id": str(task)},
            headers=alice.headers,
        )
    ).json()
    # bob focuses for another team: shown, without that team's session or task
    await client.post(
        URL, json={"focus_type": "pomodoro", "team_id": str(other_team)}, headers=bob.headers
    )
    # carol stopped already; dave's session is long overdue (nobody stopped it)
    clock.advance(minutes=-60)
    s_dave = (await client.post(URL, json={"focus_type": "pomodoro"}, headers=dave.headers)).json()
    clock.advance(minutes=60)
    s_carol = (
        await client.post(URL, json={"focus_type": "pomodoro"}, headers=carol.headers)
    ).json()
    await client.post(f"{URL}/{s_carol['id']}/stop", headers=carol.headers)
    # the outsider is focusing too, but is not a member
    await client.post(URL, json={"focus_type": "pomodoro"}, headers=outsider.headers)

    resp = await client.get(now_url, headers=carol.headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["team_id"] == str(team)
    items = {i["user_id"]: i for i in body["items"]}
    assert set(items) == {str(alice.id), str(bob.id)}
    assert items[str(alice.id)] == {
        "user_id": str(alice.id),
        "focus_type": "deep_work",
        "start_time": s_alice["start_time"],
        "planned_end_time": s_alice["planned_end_time"],
        "duration_minutes": 90,
        "session_id": s_alice["id"],
        "task_id": str(task),
    }
    assert items[str(bob.id)]["focus_type"] == "pomodoro"
    assert items[str(bob.id)]["session_id"] is None
    assert items[str(bob.id)]["task_id"] is None
    assert s_dave["id"] not in {i["session_id"] for i in body["items"]}

    assert (await client.get(now_url, headers=outsider.headers)).status_code == 404
    unknown = await client.get(f"/api/v1/teams/{uuid.uuid4()}/focus/now", headers=alice.headers)
    assert unknown.status_code == 404
    assert (await client.get(now_url)).status_code == 401
    clock.advance(minutes=90 + 5, seconds=1)
    assert (await client.get(now_url, headers=alice.headers)).json()["items"] == []


@pytest.mark.usefixtures("clock", "fake_teams")
async def test_a_removed_member_no_longer_sees_the_team(
    client: httpx.AsyncClient,
    make_user: Any,
    deliver: Any,
) -> None:
    alice, bob = make_user(), make_user()
    team = uuid.uuid4()
    await deliver(member_added(team, alice))
    await deliver(member_added(team, bob))
    await client.post(URL, json={"focus_type": "pomodoro"}, headers=bob.headers)
    now_url = f"/api/v1/teams/{team}/focus/now"
    assert len((await client.get(now_url, headers=alice.headers)).json()["items"]) == 1
    await deliver(
        "teams.member.removed",
        {
            "team_id": str(team),
            "user_id": str(alice.id),  # the actor; the member is member_id
            "member_id": str(bob.id),
            "role": "member",
            "seq": 10_000_000,
            "actor_id": str(alice.id),
            "reason": "removed",
        },
        subject=team,
    )
    assert (await client.get(now_url, headers=alice.headers)).json()["items"] == []
    assert (await client.get(now_url, headers=bob.headers)).status_code == 404
