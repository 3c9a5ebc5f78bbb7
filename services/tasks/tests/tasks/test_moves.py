"""Moves: within a column and across columns of one board, positions dense in both columns,
``tasks.task.moved`` saying from where to where, and a move that changes nothing writing
nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox

from ..kanban import activity, col, create_board, create_task, titles_by_column


async def _tasks(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], *names: str, column: int = 0
) -> dict[str, str]:
    return {
        name: (await create_task(client, col(board, column), team.member, title=name))["id"]
        for name in names
    }


async def test_moves_keep_positions_dense(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    ids = await _tasks(client, team, board, "a", "b", "c", "d")
    assert await titles_by_column(client, board["id"], team) == [["a", "b", "c", "d"], [], []]

    async def move(name: str, column: str, pos: int) -> httpx.Response:
        return await client.post(
            f"/api/v1/tasks/{ids[name]}/move",
            json={"column_id": column, "position": pos},
            headers=team.member.headers,
        )

    r = await move("d", col(board, 0), 0)
    assert r.status_code == 200
    assert r.json()["position"] == 0
    assert r.headers["etag"] == '"2"'
    assert await titles_by_column(client, board["id"], team) == [["d", "a", "b", "c"], [], []]
    await move("a", col(board, 1), 0)
    await move("b", col(board, 1), 99)  # past the end: last
    assert await titles_by_column(client, board["id"], team) == [["d", "c"], ["a", "b"], []]
    await move("c", col(board, 1), 1)
    assert await titles_by_column(client, board["id"], team) == [["d"], ["a", "c", "b"], []]
    await move("a", col(board, 1), 2)
    assert await titles_by_column(client, board["id"], team) == [["d"], ["c", "b", "a"], []]
    # a column of another board is not a destination, nor is an unknown one
    other = await create_board(client, team, "other")
    r = await move("a", col(other, 0), 0)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "column_id"]
    r = await move("a", str(uuid.uuid4()), 0)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "column_id"]
    r = await move("a", col(board, 0), -1)
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/tasks/{ids['a']}/move",
        json={"column_id": col(board, 0), "position": 0},
        headers=team.outsider.headers,
    )
    assert r.status_code == 404
    assert await titles_by_column(client, board["id"], team) == [["d"], ["c", "b", "a"], []]


async def test_moving_down_within_a_column(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    ids = await _tasks(client, team, board, "a", "b", "c", "d")
    r = await client.post(
        f"/api/v1/tasks/{ids['a']}/move",
        json={"column_id": col(board, 0), "position": 2},
        headers=team.member.headers,
    )
    assert r.json()["position"] == 2
    assert await titles_by_column(client, board["id"], team) == [["b", "c", "a", "d"], [], []]


async def test_a_move_to_the_same_place_writes_nothing(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
) -> None:
    ids = await _tasks(client, team, board, "a", "b")
    for position in (1, 5):  # where it is, and past the end of its own column (still last)
        r = await client.post(
            f"/api/v1/tasks/{ids['b']}/move",
            json={"column_id": col(board, 0), "position": position},
            headers=team.member.headers,
        )
        assert r.status_code == 200
        assert r.json()["position"] == 1
        assert r.headers["etag"] == '"1"'
    assert await outbox("tasks.task.moved", ids["b"]) == []
    assert [a["action"] for a in await activity(client, ids["b"], team.member)] == ["created"]


async def test_moved_event_and_history_say_from_where_to_where(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
) -> None:
    ids = await _tasks(client, team, board, "a", "b", "c")
    await _tasks(client, team, board, "x", "y", column=1)
    r = await client.post(
        f"/api/v1/tasks/{ids['b']}/move",
        json={"column_id": col(board, 1), "position": 1},
        headers=team.other.headers,
    )
    assert r.status_code == 200
    moved = r.json()
    assert (moved["column_id"], moved["position"], moved["version"]) == (col(board, 1), 1, 2)
    assert await titles_by_column(client, board["id"], team) == [["a", "c"], ["x", "b", "y"], []]
    [event] = await outbox("tasks.task.moved", ids["b"])
    data = event["data"]
    assert data["user_id"] == str(team.other.id)
    assert (data["from_column_id"], data["from_position"]) == (col(board, 0), 1)
    assert (data["to_column_id"], data["position"]) == (col(board, 1), 1)
    assert data["column_id"] == col(board, 1)
    assert data["is_completed"] is False
    history = await activity(client, ids["b"], team.member)
    assert history[-1]["action"] == "moved"
    assert history[-1]["user_id"] == str(team.other.id)
    assert history[-1]["changes"] == {
        "column_id": {"from": col(board, 0), "to": col(board, 1)},
        "position": {"from": 1, "to": 1},
    }


async def test_moving_into_an_empty_column_and_out_of_a_column(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    ids = await _tasks(client, team, board, "a", "b", "c")
    r = await client.post(
        f"/api/v1/tasks/{ids['a']}/move",
        json={"column_id": col(board, 1), "position": 3},
        headers=team.member.headers,
    )
    assert r.json()["position"] == 0  # the only task there
    assert await titles_by_column(client, board["id"], team) == [["b", "c"], ["a"], []]
    for name in ("b", "c"):
        await client.post(
            f"/api/v1/tasks/{ids[name]}/move",
            json={"column_id": col(board, 1), "position": 0},
            headers=team.member.headers,
        )
    assert await titles_by_column(client, board["id"], team) == [[], ["c", "b", "a"], []]
