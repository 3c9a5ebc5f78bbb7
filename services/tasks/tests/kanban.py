"""Helpers of the tasks tests: what a client does through the API (they take the client, so the
same helpers serve ``client`` and ``live_client``)."""

from __future__ import annotations

from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import TestUser


async def create_board(
    client: httpx.AsyncClient, team: Team, name: str = "Sprint"
) -> dict[str, Any]:
    """A new board of ``team`` (by its admin), as a member reads it: with its columns."""
    r = await client.post(
        f"/api/v1/teams/{team.id}/boards", json={"name": name}, headers=team.admin.headers
    )
    assert r.status_code == 201, r.text
    board = await client.get(f"/api/v1/boards/{r.json()['id']}", headers=team.member.headers)
    assert board.status_code == 200, board.text
    body: dict[str, Any] = board.json()
    return body


def col(board: dict[str, Any], i: int) -> str:
    """The id of the board's ``i``-th column (0 To do, 1 In progress, 2 Done)."""
    return str(board["columns"][i]["id"])


async def create_task(
    client: httpx.AsyncClient, column_id: str, user: TestUser, **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/columns/{column_id}/tasks",
        json={"title": "A task", **fields},
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def create_label(
    client: httpx.AsyncClient, team: Team, name: str = "bug", color: str = "#ff0000"
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/teams/{team.id}/labels",
        json={"name": name, "color": color},
        headers=team.admin.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def get_task(client: httpx.AsyncClient, task_id: str, user: TestUser) -> dict[str, Any]:
    r = await client.get(f"/api/v1/tasks/{task_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def titles_by_column(client: httpx.AsyncClient, board_id: str, team: Team) -> list[list[str]]:
    """The board's task titles column by column, checking that positions are 0..n-1."""
    r = await client.get(f"/api/v1/boards/{board_id}", headers=team.member.headers)
    assert r.status_code == 200, r.text
    out = []
    for c in r.json()["columns"]:
        assert [t["position"] for t in c["tasks"]] == list(range(len(c["tasks"])))
        assert all(t["column_id"] == c["id"] for t in c["tasks"])
        out.append([t["title"] for t in c["tasks"]])
    return out


async def activity(client: httpx.AsyncClient, task_id: str, user: TestUser) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/tasks/{task_id}/activity", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items
