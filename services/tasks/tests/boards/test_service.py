"""Boards and columns: default columns, dense column order, 409 on a non-empty column, and the
whole-board answer in a fixed number of statements. (Who may do it: ``test_permissions``; a
column becoming done: ``tasks/test_completion``.)"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox

from ..kanban import col, create_board, create_label, create_task


async def test_new_board_has_default_columns_and_location(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    r = await client.post(
        f"/api/v1/teams/{team.id}/boards", json={"name": " Launch "}, headers=team.admin.headers
    )
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"/api/v1/boards/{body['id']}"
    assert body["name"] == "Launch"
    assert body["team_id"] == str(team.id)
    assert body["created_by_id"] == str(team.admin.id)
    assert body["created_at"].endswith("Z")
    full = (await client.get(f"/api/v1/boards/{body['id']}", headers=team.member.headers)).json()
    assert [(c["name"], c["order"], c["is_done"]) for c in full["columns"]] == [
        ("To do", 0, False),
        ("In progress", 1, False),
        ("Done", 2, True),
    ]
    assert all(c["tasks"] == [] for c in full["columns"])
    assert body == full  # the 201 answers the board as GET reads it: no second request needed
    [created] = await outbox("tasks.board.created", body["id"])
    assert created["data"]["team_id"] == str(team.id)
    assert created["data"]["user_id"] == str(team.admin.id)
    assert [c["column_id"] for c in created["data"]["columns"]] == [
        c["id"] for c in full["columns"]
    ]


async def test_board_list_is_paginated(client: httpx.AsyncClient, team: Team) -> None:
    for i in range(3):
        await create_board(client, team, f"B{i}")
    url = f"/api/v1/teams/{team.id}/boards"
    first = (await client.get(url, params={"limit": 2}, headers=team.member.headers)).json()
    assert [b["name"] for b in first["items"]] == ["B0", "B1"]
    second = (
        await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=team.member.headers
        )
    ).json()
    assert [b["name"] for b in second["items"]] == ["B2"]
    assert second["next_cursor"] is None


async def test_rename_and_delete_a_board(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    url = f"/api/v1/boards/{board['id']}"
    task = await create_task(client, col(board, 0), team.member)
    r = await client.patch(url, json={"name": " Renamed "}, headers=team.admin.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "Renamed"
    assert (
        await client.patch(url, json={"name": None}, headers=team.admin.headers)
    ).status_code == 422
    assert (await client.get(url, headers=team.member.headers)).json()["name"] == "Renamed"
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 204
    assert (await client.get(url, headers=team.member.headers)).status_code == 404
    # everything on the board went with it
    gone = await client.get(f"/api/v1/tasks/{task['id']}", headers=team.member.headers)
    assert gone.status_code == 404
    listed = await client.get(f"/api/v1/teams/{team.id}/boards", headers=team.member.headers)
    assert listed.json()["items"] == []


async def test_columns_are_ordered_densely(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    url = f"/api/v1/boards/{board['id']}/columns"
    r = await client.post(url, json={"name": "Review", "order": 2}, headers=team.admin.headers)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/columns/{r.json()['id']}"
    assert r.json()["order"] == 2
    r2 = await client.post(url, json={"name": "Later"}, headers=team.admin.headers)
    assert r2.json()["order"] == 4

    async def names() -> list[tuple[str, int]]:
        full = (
            await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)
        ).json()
        return [(c["name"], c["order"]) for c in full["columns"]]

    assert await names() == [
        ("To do", 0),
        ("In progress", 1),
        ("Review", 2),
        ("Done", 3),
        ("Later", 4),
    ]
    moved = await client.patch(
        f"/api/v1/columns/{r2.json()['id']}", json={"order": 0}, headers=team.admin.headers
    )
    assert moved.status_code == 200
    assert moved.json()["order"] == 0
    assert await names() == [
        ("Later", 0),
        ("To do", 1),
        ("In progress", 2),
        ("Review", 3),
        ("Done", 4),
    ]
    # an order past the end means last
    last = await client.patch(
        f"/api/v1/columns/{r2.json()['id']}", json={"order": 99}, headers=team.admin.headers
    )
    assert last.json()["order"] == 4
    assert (
        await client.delete(f"/api/v1/columns/{r.json()['id']}", headers=team.admin.headers)
    ).status_code == 204
    assert await names() == [("To do", 0), ("In progress", 1), ("Done", 2), ("Later", 3)]
    got = await client.get(f"/api/v1/columns/{r2.json()['id']}", headers=team.member.headers)
    assert got.json()["order"] == 3


async def test_column_fields(client: httpx.AsyncClient, team: Team, board: dict[str, Any]) -> None:
    r = await client.post(
        f"/api/v1/boards/{board['id']}/columns",
        json={"name": " Shipped ", "is_done": True},
        headers=team.admin.headers,
    )
    assert r.status_code == 201
    assert (r.json()["name"], r.json()["is_done"], r.json()["board_id"]) == (
        "Shipped",
        True,
        board["id"],
    )
    url = f"/api/v1/columns/{r.json()['id']}"
    renamed = await client.patch(url, json={"name": "Released"}, headers=team.admin.headers)
    assert renamed.json()["name"] == "Released"
    for field in ("name", "order", "is_done"):
        bad = await client.patch(url, json={field: None}, headers=team.admin.headers)
        assert bad.status_code == 422, field
        assert bad.json()["errors"][0]["loc"] == ["body", field]
    assert (
        await client.post(
            f"/api/v1/boards/{board['id']}/columns", json={"name": ""}, headers=team.admin.headers
        )
    ).status_code == 422


async def test_deleting_a_column_with_tasks_is_a_conflict(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    todo = col(board, 0)
    task = await create_task(client, todo, team.member)
    r = await client.delete(f"/api/v1/columns/{todo}", headers=team.admin.headers)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert (
        len(
            (await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)).json()[
                "columns"
            ]
        )
        == 3
    )
    # once empty, it goes
    await client.delete(f"/api/v1/tasks/{task['id']}", headers=team.member.headers)
    assert (
        await client.delete(f"/api/v1/columns/{todo}", headers=team.admin.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/columns/{todo}", headers=team.member.headers)
    ).status_code == 404


async def _count_board_queries(
    client: httpx.AsyncClient, engine: AsyncEngine, board_id: str, team: Team
) -> tuple[int, dict[str, Any]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        del conn, cursor, args
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        r = await client.get(f"/api/v1/boards/{board_id}", headers=team.member.headers)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert r.status_code == 200
    return len(statements), r.json()


async def test_board_answer_uses_a_fixed_number_of_queries(
    client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    lbl = await create_label(client, team)
    small = await create_board(client, team, "small")
    await create_task(client, small["columns"][0]["id"], team.member)
    big = await create_board(client, team, "big")
    for i, c in enumerate(big["columns"] * 8):
        t = await create_task(
            client,
            c["id"],
            team.member,
            title=f"t{i}",
            label_ids=[lbl["id"]],
            assignee_id=str(team.other.id),
        )
        await client.post(
            f"/api/v1/tasks/{t['id']}/subtasks", json={"title": "s"}, headers=team.member.headers
        )
    # warm the membership projection for both (the first request may read through to teams)
    await _count_board_queries(client, db_engine, small["id"], team)
    n_small, _ = await _count_board_queries(client, db_engine, small["id"], team)
    n_big, body = await _count_board_queries(client, db_engine, big["id"], team)
    assert n_small == n_big
    # SAVEPOINT + RELEASE (the test's rolled-back transaction), the board, the membership
    # projection (deleted team? role?), the columns, the tasks with subtask counts, their labels
    assert n_big <= 8
    tasks = [t for c in body["columns"] for t in c["tasks"]]
    assert len(tasks) == 24
    assert all(t["labels"][0]["name"] == "bug" for t in tasks)
    assert all(t["subtask_count"] == 1 and t["subtasks_completed"] == 0 for t in tasks)
    assert all(t["assignee_id"] == str(team.other.id) for t in tasks)
    for c in body["columns"]:
        assert [t["position"] for t in c["tasks"]] == list(range(8))
