"""Moves: within a column and across columns of one board, positions dense in both columns,
``tasks.task.moved`` saying from where to where, a move that changes nothing writing nothing,
and a move writing the moved task's row only (but for the rare rebalance of a column)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox

from ..kanban import (
    activity,
    col,
    create_board,
    create_label,
    create_task,
    get_task,
    titles_by_column,
)


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


async def _rows(conn: AsyncConnection, board_id: str) -> dict[str, tuple[str, Any, int]]:
    """Each task of the board: (its row version's ctid and xmin, updated_at, version)."""
    rows = await conn.execute(
        text(
            "SELECT id, ctid::text, xmin::text, updated_at, version FROM tasks WHERE board_id = :b"
        ),
        {"b": board_id},
    )
    return {str(r[0]): (f"{r[1]}/{r[2]}", r[3], r[4]) for r in rows}


async def test_a_move_rewrites_the_moved_task_only(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    names = [f"t{i}" for i in range(12)]
    ids = await _tasks(client, team, board, *names[:8])
    ids |= await _tasks(client, team, board, *names[8:], column=1)
    model = [names[:8], names[8:], []]
    rng = random.Random(3)
    for _ in range(30):
        name = rng.choice(names)
        to, pos = rng.randrange(3), rng.randint(0, 9)
        before = await _rows(db_connection, board["id"])
        r = await client.post(
            f"/api/v1/tasks/{ids[name]}/move",
            json={"column_id": col(board, to), "position": pos},
            headers=team.member.headers,
        )
        assert r.status_code == 200, r.text
        after = await _rows(db_connection, board["id"])
        # the other tasks' rows are not written at all: same row version, same updated_at
        assert {k: v for k, v in after.items() if k != ids[name]} == {
            k: v for k, v in before.items() if k != ids[name]
        }
        for column in model:
            if name in column:
                column.remove(name)
        model[to].insert(min(pos, len(model[to])), name)
        assert r.json()["position"] == model[to].index(name)
        assert await titles_by_column(client, board["id"], team) == model


async def test_a_column_out_of_gaps_is_rebalanced_once_in_order(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    """Always moving the last task between the first two halves the same gap: 32 moves exhaust
    it, the next one rebalances the column (rewriting its rows, not their updated_at or version)
    and the order is what the moves asked for throughout; the same for creates and for moves
    from another column into that spot."""
    names = ["a", "b", "c", "d", "e"]
    ids = await _tasks(client, team, board, *names)
    model = list(names)
    versions = dict.fromkeys(names, 1)
    rewrote_others = 0
    for _ in range(40):
        name = model[-1]
        versions[name] += 1
        before = await _rows(db_connection, board["id"])
        r = await client.post(
            f"/api/v1/tasks/{ids[name]}/move",
            json={"column_id": col(board, 0), "position": 1},
            headers=team.member.headers,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["position"], r.json()["version"]) == (1, versions[name])
        after = await _rows(db_connection, board["id"])
        others = [k for k in after if k != ids[name]]
        rewrote_others += any(after[k][0] != before[k][0] for k in others)
        assert all(after[k][1:] == before[k][1:] for k in others)  # updated_at, version kept
        model.insert(1, model.pop())
        assert await titles_by_column(client, board["id"], team) == [model, [], []]
    assert rewrote_others == 1
    # creates, and moves from another column, into the same spot go through the same path
    for i in range(40):
        await create_task(client, col(board, 0), team.member, title=f"n{i}", position=1)
        model.insert(1, f"n{i}")
    assert await titles_by_column(client, board["id"], team) == [model, [], []]
    arriving = await _tasks(client, team, board, *[f"x{i}" for i in range(40)], column=1)
    for name, task_id in arriving.items():
        r = await client.post(
            f"/api/v1/tasks/{task_id}/move",
            json={"column_id": col(board, 0), "position": 1},
            headers=team.member.headers,
        )
        assert (r.status_code, r.json()["position"]) == (200, 1)
        model.insert(1, name)
    assert await titles_by_column(client, board["id"], team) == [model, [], []]


async def test_a_move_answers_what_a_read_of_the_task_answers(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    """The move's answer comes from the row it locked (labels and subtask counts included),
    not from a read after it: it must be what ``GET /tasks/{id}`` says right after."""
    bug, chore = await create_label(client, team, "bug"), await create_label(client, team, "chore")
    await _tasks(client, team, board, "x", "y", column=2)
    t = await create_task(
        client, col(board, 0), team.member, title="t", label_ids=[chore["id"], bug["id"]]
    )
    for title, done in (("one", False), ("two", True)):
        r = await client.post(
            f"/api/v1/tasks/{t['id']}/subtasks", json={"title": title}, headers=team.member.headers
        )
        assert r.status_code == 201, r.text
        if done:
            r = await client.patch(
                f"/api/v1/subtasks/{r.json()['id']}",
                json={"is_completed": True},
                headers=team.member.headers,
            )
            assert r.status_code == 200, r.text
    for column, position in ((2, 1), (2, 1), (1, 0)):  # into Done, the same place, out of it
        r = await client.post(
            f"/api/v1/tasks/{t['id']}/move",
            json={"column_id": col(board, column), "position": position},
            headers=team.member.headers,
        )
        assert r.status_code == 200, r.text
        read = await get_task(client, t["id"], team.member)
        answer = r.json()
        assert [label["name"] for label in answer["labels"]] == ["bug", "chore"]
        assert (answer["subtask_count"], answer["subtasks_completed"]) == (2, 1)
        assert answer == {k: read[k] for k in answer}
        assert r.headers["etag"] == f'"{read["version"]}"'
