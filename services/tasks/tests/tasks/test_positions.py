"""Concurrent moves, creates and deletes through the real app with real commits: positions stay
dense and unique, no task is lost or duplicated, and no request fails (no deadlock, no
constraint violation)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox

from ..kanban import create_board, create_task, get_task, titles_by_column

pytestmark = pytest.mark.slow


async def test_concurrent_moves_never_duplicate_or_lose_positions(
    live_client: httpx.AsyncClient, team: Team
) -> None:
    client = live_client
    board = await create_board(client, team)
    cols = [c["id"] for c in board["columns"]]
    tasks = [await create_task(client, cols[i % 2], team.member, title=f"t{i}") for i in range(12)]
    rng = random.Random(7)
    users = [team.member, team.other, team.admin]

    async def move(task: dict[str, Any], column: str, pos: int, who: Any) -> httpx.Response:
        return await client.post(
            f"/api/v1/tasks/{task['id']}/move",
            json={"column_id": column, "position": pos},
            headers=who.headers,
        )

    for _round in range(4):
        batch = [
            move(rng.choice(tasks), rng.choice(cols), rng.randint(0, 8), users[i % 3])
            for i in range(24)
        ]
        # the same task moved by two users at once, to two different columns
        batch += [move(tasks[0], cols[0], 0, team.member), move(tasks[0], cols[2], 0, team.other)]
        answers = await asyncio.gather(*batch)
        assert [r.status_code for r in answers] == [200] * len(answers), [
            r.text for r in answers if r.status_code != 200
        ]
        # dense positions, each task in the column it says (checked by the helper), none lost
        seen = [t for column in await titles_by_column(client, board["id"], team) for t in column]
        assert sorted(seen) == sorted(t["title"] for t in tasks)


async def test_concurrent_creates_and_deletes_keep_positions_dense(
    live_client: httpx.AsyncClient, team: Team
) -> None:
    client = live_client
    board = await create_board(client, team)
    todo = board["columns"][0]["id"]
    first = await asyncio.gather(
        *[
            client.post(
                f"/api/v1/columns/{todo}/tasks",
                json={"title": f"n{i}", "position": 0},
                headers=team.member.headers,
            )
            for i in range(10)
        ]
    )
    assert {r.status_code for r in first} == {201}
    doomed = [r.json()["id"] for r in first[:5]]
    answers = await asyncio.gather(
        *[client.delete(f"/api/v1/tasks/{i}", headers=team.other.headers) for i in doomed],
        *[
            client.post(
                f"/api/v1/columns/{todo}/tasks",
                json={"title": f"m{i}"},
                headers=team.member.headers,
            )
            for i in range(5)
        ],
    )
    assert sorted(r.status_code for r in answers) == [201] * 5 + [204] * 5
    full = (await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)).json()
    tasks = full["columns"][0]["tasks"]
    assert [t["position"] for t in tasks] == list(range(10))
    # gather answers in request order: n0..n4 were deleted
    survivors = {f"n{i}" for i in range(5, 10)} | {f"m{i}" for i in range(5)}
    assert {t["title"] for t in tasks} == survivors


async def test_eight_parallel_movers_keep_one_dense_order(
    live_client: httpx.AsyncClient, team: Team
) -> None:
    """Eight clients moving tasks of one board at once, as the bench does: every move lands,
    and after each round the board reads as one dense order holding every task once."""
    client = live_client
    board = await create_board(client, team)
    cols = [c["id"] for c in board["columns"]]
    tasks = [await create_task(client, cols[i % 3], team.member, title=f"p{i}") for i in range(24)]
    users = [team.member, team.other, team.admin]

    async def mover(n: int) -> list[int]:
        rng = random.Random(n)
        codes = []
        for _ in range(8):
            r = await client.post(
                f"/api/v1/tasks/{rng.choice(tasks)['id']}/move",
                json={"column_id": rng.choice(cols), "position": rng.randint(0, 12)},
                headers=users[n % 3].headers,
            )
            codes.append(r.status_code)
        return codes

    for round_ in range(3):
        codes = await asyncio.gather(*[mover(8 * round_ + n) for n in range(8)])
        assert [c for worker in codes for c in worker] == [200] * 64
        seen = [t for column in await titles_by_column(client, board["id"], team) for t in column]
        assert sorted(seen) == sorted(t["title"] for t in tasks)


async def test_concurrent_moves_into_one_place_all_land_latest_first(
    live_client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    """Eight tasks moved to the top of one column at once: all land there, each answer saying
    position 0, in the order the moves took the column (the later one on top, as if one after
    the other), and the tasks already there come after them in their order."""
    client = live_client
    board = await create_board(client, team)
    todo, done = board["columns"][0]["id"], board["columns"][2]["id"]
    movers = [await create_task(client, todo, team.member, title=f"m{i}") for i in range(8)]
    stay = [await create_task(client, done, team.member, title=f"s{i}") for i in range(3)]
    answers = await asyncio.gather(
        *[
            client.post(
                f"/api/v1/tasks/{t['id']}/move",
                json={"column_id": done, "position": 0},
                headers=team.member.headers,
            )
            for t in movers
        ]
    )
    assert [(r.status_code, r.json()["position"]) for r in answers] == [(200, 0)] * 8
    # the moves' events were written under the column's lock: their order is the moves' order
    events = [e for e in await outbox("tasks.task.moved") if e["data"]["board_id"] == board["id"]]
    order = [e["data"]["title"] for e in events]
    assert sorted(order) == sorted(t["title"] for t in movers)
    assert all(e["data"]["position"] == 0 for e in events)
    assert await titles_by_column(client, board["id"], team) == [
        [],
        [],
        [*reversed(order), *(t["title"] for t in stay)],
    ]


async def test_the_moved_events_replay_to_the_board_under_concurrent_moves(
    live_client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    """A client that keeps a board from ``tasks.task.moved`` alone (take the card out of
    ``from_position`` of ``from_column_id``, put it at ``position`` of ``to_column_id``) ends with
    the board the service has, while eight movers move cards in and out of the same columns at
    once. A move out of a column once took no lock of it, so a move into that column counted its
    index before the other's commit and announced it after: one too many."""
    client = live_client
    board = await create_board(client, team)
    cols = [c["id"] for c in board["columns"]]
    tasks = [await create_task(client, cols[i % 3], team.member, title=f"r{i}") for i in range(18)]
    by_title = {t["title"]: t["id"] for t in tasks}
    replayed = {
        col: [by_title[title] for title in titles]
        for col, titles in zip(cols, await titles_by_column(client, board["id"], team), strict=True)
    }
    already = len(await outbox("tasks.task.moved"))
    users = [team.member, team.other, team.admin]

    async def mover(n: int) -> None:
        rng = random.Random(100 + n)
        for _ in range(10):
            r = await client.post(
                f"/api/v1/tasks/{rng.choice(tasks)['id']}/move",
                json={"column_id": rng.choice(cols), "position": rng.randint(0, 7)},
                headers=users[n % 3].headers,
            )
            assert r.status_code == 200, r.text

    await asyncio.gather(*[mover(n) for n in range(8)])
    moved = [
        e["data"]
        for e in (await outbox("tasks.task.moved"))[already:]
        if e["data"]["board_id"] == board["id"]
    ]
    assert moved
    for i, e in enumerate(moved):
        src, dst = replayed[e["from_column_id"]], replayed[e["to_column_id"]]
        assert src.index(e["task_id"]) == e["from_position"], (i, e)
        src.remove(e["task_id"])
        assert 0 <= e["position"] <= len(dst), (i, e)
        dst.insert(e["position"], e["task_id"])
    now = await titles_by_column(client, board["id"], team)
    assert [[by_title[t] for t in titles] for titles in now] == [replayed[c] for c in cols]


async def _until_a_lock_wait(engine: AsyncEngine, like: str) -> None:
    """Until a backend of the database waits for a lock in a statement matching ``like``."""
    for _ in range(200):
        async with engine.connect() as conn:  # a new transaction: pg_stat_activity afresh
            waiting = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE :like"
                    ),
                    {"like": like},
                )
            ).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no statement like {like!r} waited for a lock")


def _move(
    client: httpx.AsyncClient, task_id: str, column: str, pos: int, team: Team
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        client.post(
            f"/api/v1/tasks/{task_id}/move",
            json={"column_id": column, "position": pos},
            headers=team.member.headers,
        )
    )


async def test_a_move_waiting_for_an_edit_of_the_task_answers_the_edited_task(
    live_client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    """A move locks the task's row in the statement that reads its place, under its columns'
    locks: an edit holding the row makes it wait, and it then lands on the row's newest version
    (its title, its version), not on its snapshot's."""
    board = await create_board(live_client, team)
    cols = [c["id"] for c in board["columns"]]
    a = await create_task(live_client, cols[0], team.member, title="a")
    t = await create_task(live_client, cols[0], team.member, title="t")
    async with db_engine.connect() as edit:
        await edit.execute(
            text("UPDATE tasks SET title = 'edited', version = version + 1 WHERE id = :id"),
            {"id": t["id"]},
        )
        moving = _move(live_client, t["id"], cols[1], 0, team)
        await _until_a_lock_wait(db_engine, "SELECT tasks.title, %")  # slot_locked
        await edit.commit()
    r = await moving
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["version"], body["column_id"], body["position"]) == (
        "edited",
        3,
        cols[1],
        0,
    )
    read = await get_task(live_client, t["id"], team.member)
    assert body == {k: read[k] for k in body}
    assert await titles_by_column(live_client, board["id"], team) == [[a["title"]], ["edited"], []]


async def test_a_move_waiting_for_a_delete_of_the_task_answers_404(
    live_client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    """The task deleted while the move waits for its row: no row, 404, nothing written."""
    board = await create_board(live_client, team)
    cols = [c["id"] for c in board["columns"]]
    t = await create_task(live_client, cols[0], team.member, title="t")
    async with db_engine.connect() as gone:
        await gone.execute(text("DELETE FROM tasks WHERE id = :id"), {"id": t["id"]})
        moving = _move(live_client, t["id"], cols[1], 0, team)
        await _until_a_lock_wait(db_engine, "SELECT tasks.title, %")  # slot_locked
        await gone.commit()
    r = await moving
    assert r.status_code == 404, r.text
    assert await titles_by_column(live_client, board["id"], team) == [[], [], []]


async def test_a_move_that_rebalances_locks_rows_in_id_order(
    live_client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    """A move into a place with no integer rank left spreads the column's ranks with its rows
    and the task's locked in id order, though it locked the task's row first: it lets it go
    (rolls back to its savepoint) before. So a transaction holding a row of that column with a
    smaller id, then locking the task's row (what ``open_of_assignee`` does), gets it at once
    instead of deadlocking with the move."""
    board = await create_board(live_client, team)
    cols = [c["id"] for c in board["columns"]]
    r_ = await create_task(live_client, cols[0], team.member, title="r")
    s_ = await create_task(live_client, cols[0], team.member, title="s")
    t = await create_task(live_client, cols[1], team.member, title="t")  # uuid7: after r's id
    assert r_["id"] < t["id"]
    async with db_engine.begin() as conn:  # no room between r and s
        await conn.execute(text("UPDATE tasks SET rank = 1 WHERE id = :id"), {"id": s_["id"]})
        await conn.execute(text("UPDATE tasks SET rank = 0 WHERE id = :id"), {"id": r_["id"]})
    async with db_engine.connect() as other:
        await other.execute(text("SELECT 1 FROM tasks WHERE id = :id FOR UPDATE"), {"id": r_["id"]})
        moving = _move(live_client, t["id"], cols[0], 1, team)
        await _until_a_lock_wait(db_engine, "%ORDER BY tasks.id%FOR UPDATE%")
        await other.execute(text("SET LOCAL lock_timeout = '5s'"))
        await other.execute(text("SELECT 1 FROM tasks WHERE id = :id FOR UPDATE"), {"id": t["id"]})
        await other.commit()
    r = await moving
    assert r.status_code == 200, r.text
    assert (r.json()["column_id"], r.json()["position"]) == (cols[0], 1)
    assert await titles_by_column(live_client, board["id"], team) == [["r", "t", "s"], [], []]
