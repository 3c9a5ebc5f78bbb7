"""Subtasks: a task's checklist, counted on the board, written to the task's history, leaving the
task's version alone."""

from __future__ import annotations

from typing import Any

import httpx
from teams_client.testing import Team

from ..kanban import activity, col, create_task, get_task


async def test_subtasks_are_counted_on_the_board(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    s = await client.post(
        f"/api/v1/tasks/{t['id']}/subtasks", json={"title": "step 1"}, headers=team.member.headers
    )
    assert s.status_code == 201
    assert s.headers["location"] == f"/api/v1/subtasks/{s.json()['id']}"
    assert (s.json()["task_id"], s.json()["is_completed"]) == (t["id"], False)
    await client.post(
        f"/api/v1/tasks/{t['id']}/subtasks",
        json={"title": "step 2", "is_completed": True},
        headers=team.member.headers,
    )
    r = await client.patch(
        f"/api/v1/subtasks/{s.json()['id']}",
        json={"is_completed": True},
        headers=team.other.headers,
    )
    assert r.status_code == 200
    assert r.json()["is_completed"] is True
    assert (
        await client.patch(
            f"/api/v1/subtasks/{s.json()['id']}", json={"title": "x"}, headers=team.outsider.headers
        )
    ).status_code == 404
    full = (await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)).json()
    card = full["columns"][0]["tasks"][0]
    assert (card["subtask_count"], card["subtasks_completed"]) == (2, 2)
    detail = await get_task(client, t["id"], team.member)
    assert [x["title"] for x in detail["subtasks"]] == ["step 1", "step 2"]
    assert detail["version"] == 1
    listed = (
        await client.get(f"/api/v1/tasks/{t['id']}/subtasks", headers=team.other.headers)
    ).json()
    assert [x["title"] for x in listed["items"]] == ["step 1", "step 2"]
    got = await client.get(f"/api/v1/subtasks/{s.json()['id']}", headers=team.other.headers)
    assert got.json()["title"] == "step 1"
    assert (
        await client.delete(f"/api/v1/subtasks/{s.json()['id']}", headers=team.member.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/subtasks/{s.json()['id']}", headers=team.member.headers)
    ).status_code == 404
    card = (await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)).json()[
        "columns"
    ][0]["tasks"][0]
    assert (card["subtask_count"], card["subtasks_completed"]) == (1, 1)


async def test_subtask_changes_are_in_the_history(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    s = (
        await client.post(
            f"/api/v1/tasks/{t['id']}/subtasks", json={"title": "a"}, headers=team.member.headers
        )
    ).json()
    url = f"/api/v1/subtasks/{s['id']}"
    await client.patch(url, json={"title": "b"}, headers=team.other.headers)
    await client.patch(url, json={"title": "b"}, headers=team.other.headers)  # no change
    for field in ("title", "is_completed"):
        r = await client.patch(url, json={field: None}, headers=team.member.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", field]
    await client.delete(url, headers=team.member.headers)
    items = await activity(client, t["id"], team.member)
    assert [i["action"] for i in items] == [
        "created",
        "subtask_added",
        "subtask_updated",
        "subtask_deleted",
    ]
    assert items[2]["user_id"] == str(team.other.id)
    assert items[2]["changes"]["title"] == {"from": "a", "to": "b"}
    assert items[3]["changes"]["title"] == {"from": "b", "to": None}
