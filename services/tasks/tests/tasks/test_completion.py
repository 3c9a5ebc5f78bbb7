"""Completion: entering an ``is_done`` column completes a task, leaving one reopens it, moves
inside or between done columns do neither; a task created in a done column is complete; a column
that becomes (or stops being) done takes its tasks with it. Each with its event (validated
against its contract by ``outbox``) and its history row, at the app's clock."""

from __future__ import annotations

from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox

from ..kanban import activity, col, create_task, get_task


async def _completed(outbox: ReadOutbox, team: Team) -> list[dict[str, Any]]:
    """This team's ``tasks.task.completed`` events (live tests commit others')."""
    return [e for e in await outbox("tasks.task.completed") if e["data"]["team_id"] == str(team.id)]


async def test_completion_and_reopen_events(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    extra_done = (
        await client.post(
            f"/api/v1/boards/{board['id']}/columns",
            json={"name": "Shipped", "is_done": True},
            headers=team.admin.headers,
        )
    ).json()["id"]
    t = await create_task(client, col(board, 0), team.member, assignee_id=str(team.member.id))
    url = f"/api/v1/tasks/{t['id']}/move"

    async def move(column: str) -> dict[str, Any]:
        r = await client.post(
            url, json={"column_id": column, "position": 0}, headers=team.other.headers
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    clock.set("2026-11-24T10:00:00Z")
    done = await move(col(board, 2))
    assert done["is_completed"] is True
    assert done["completed_at"] == "2026-11-24T10:00:00Z"
    [completed] = await outbox("tasks.task.completed", t["id"])
    data = completed["data"]
    assert data["task_id"] == t["id"]
    assert data["board_id"] == board["id"]
    assert data["team_id"] == str(team.id)
    assert data["user_id"] == str(team.other.id)
    assert data["assignee_id"] == str(team.member.id)
    assert data["completed_at"] == "2026-11-24T10:00:00Z"
    [moved] = await outbox("tasks.task.moved", t["id"])
    assert moved["data"]["is_completed"] is True
    # between done columns, and inside one: no completion events, completed_at kept
    clock.advance(hours=1)
    assert (await move(extra_done))["completed_at"] == "2026-11-24T10:00:00Z"
    await move(extra_done)
    assert len(await outbox("tasks.task.completed", t["id"])) == 1
    assert await outbox("tasks.task.reopened", t["id"]) == []
    clock.set("2026-11-24T12:00:00Z")
    reopened = await move(col(board, 1))
    assert reopened["is_completed"] is False
    assert reopened["completed_at"] is None
    [ev] = await outbox("tasks.task.reopened", t["id"])
    assert ev["data"]["previous_completed_at"] == "2026-11-24T10:00:00Z"
    assert ev["data"]["reopened_at"] == "2026-11-24T12:00:00Z"
    assert ev["data"]["user_id"] == str(team.other.id)
    clock.set("2026-11-24T13:00:00Z")
    assert (await move(col(board, 2)))["completed_at"] == "2026-11-24T13:00:00Z"
    assert len(await outbox("tasks.task.completed", t["id"])) == 2
    moved_events = await outbox("tasks.task.moved", t["id"])
    assert len(moved_events) == 4  # the no-op move inside Shipped emitted nothing
    assert [a["action"] for a in await activity(client, t["id"], team.member)] == [
        "created",
        "moved",
        "completed",
        "moved",
        "moved",
        "reopened",
        "moved",
        "completed",
    ]


async def test_a_task_created_in_a_done_column_is_complete(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    clock.set("2026-11-30T16:45:00Z")
    born_done = await create_task(client, col(board, 2), team.member)
    assert born_done["is_completed"] is True
    assert born_done["completed_at"] == "2026-11-30T16:45:00Z"
    [completed] = await outbox("tasks.task.completed", born_done["id"])
    assert completed["data"]["user_id"] == str(team.member.id)
    # created, then completed: the consumer sees the task before its completion
    types = [e["type"] for e in await outbox(subject=born_done["id"])]
    assert types == ["tasks.task.created", "tasks.task.completed"]
    open_task = await create_task(client, col(board, 0), team.member)
    assert open_task["is_completed"] is False
    assert await outbox("tasks.task.completed", open_task["id"]) == []


async def test_column_becoming_done_completes_its_tasks(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    column = col(board, 1)
    first = await create_task(client, column, team.member, title="first")
    second = await create_task(client, column, team.member, title="second")
    untouched = await create_task(client, col(board, 0), team.member)
    clock.set("2026-11-26T09:00:00Z")
    r = await client.patch(
        f"/api/v1/columns/{column}", json={"is_done": True}, headers=team.admin.headers
    )
    assert r.status_code == 200
    assert r.json()["is_done"] is True
    for task in (first, second):
        got = await get_task(client, task["id"], team.member)
        assert got["is_completed"] is True
        assert got["completed_at"] == "2026-11-26T09:00:00Z"
        assert got["version"] == 2
        [completed] = await outbox("tasks.task.completed", task["id"])
        assert completed["data"]["user_id"] == str(team.admin.id)
        assert [a["action"] for a in await activity(client, task["id"], team.member)] == [
            "created",
            "completed",
        ]
    # in position order
    assert [e["data"]["title"] for e in await _completed(outbox, team)] == ["first", "second"]
    assert (await get_task(client, untouched["id"], team.member))["is_completed"] is False
    # setting it done again changes nothing
    await client.patch(
        f"/api/v1/columns/{column}", json={"is_done": True}, headers=team.admin.headers
    )
    assert len(await _completed(outbox, team)) == 2
    assert (await get_task(client, first["id"], team.member))["version"] == 2


async def test_column_no_longer_done_reopens_its_tasks(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    outbox: ReadOutbox,
    clock: MovableClock,
) -> None:
    done = col(board, 2)
    task = await create_task(client, done, team.member)
    clock.advance(minutes=30)
    r = await client.patch(
        f"/api/v1/columns/{done}", json={"is_done": False}, headers=team.admin.headers
    )
    assert r.status_code == 200
    assert r.json()["is_done"] is False
    got = await get_task(client, task["id"], team.member)
    assert (got["is_completed"], got["completed_at"], got["version"]) == (False, None, 2)
    [reopened] = await outbox("tasks.task.reopened", task["id"])
    assert reopened["data"]["previous_completed_at"] == "2026-11-24T09:00:00Z"
    assert reopened["data"]["reopened_at"] == "2026-11-24T09:30:00Z"
    assert reopened["data"]["user_id"] == str(team.admin.id)
    # a task created there now is open
    later = await create_task(client, done, team.member)
    assert later["is_completed"] is False
