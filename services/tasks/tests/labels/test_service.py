"""Labels: unique names within a team (409), ``#RRGGBB`` colours, a task carries only labels of
its own team (422), and deleting a label takes it off every task."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from teams_client.testing import Team

from ..kanban import col, create_label, create_task, get_task


async def test_label_names_are_unique_within_a_team(
    client: httpx.AsyncClient, team: Team, make_team: Callable[[], Team]
) -> None:
    url = f"/api/v1/teams/{team.id}/labels"
    bug = await client.post(
        url, json={"name": "bug", "color": "#ff0000"}, headers=team.admin.headers
    )
    assert bug.status_code == 201
    assert bug.headers["location"] == f"/api/v1/labels/{bug.json()['id']}"
    assert bug.json() == {
        "id": bug.json()["id"],
        "name": "bug",
        "color": "#FF0000",
        "team_id": str(team.id),
    }
    again = await client.post(
        url, json={"name": "bug", "color": "#00ff00"}, headers=team.admin.headers
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "'bug'" in again.json()["detail"]  # says which name is taken
    # another team may have its own "bug"
    other = make_team()
    assert (await create_label(client, other, "bug"))["team_id"] == str(other.id)
    ui = await create_label(client, team, "ui", "#00ff00")
    rename = f"/api/v1/labels/{ui['id']}"
    assert (
        await client.patch(rename, json={"name": "bug"}, headers=team.admin.headers)
    ).status_code == 409
    # renaming to its own name, or recolouring, is no conflict
    same = await client.patch(
        rename, json={"name": "ui", "color": "#abcdef"}, headers=team.admin.headers
    )
    assert same.status_code == 200
    assert (same.json()["name"], same.json()["color"]) == ("ui", "#ABCDEF")
    listed = (await client.get(url, headers=team.member.headers)).json()
    assert [(x["name"], x["color"]) for x in listed["items"]] == [
        ("bug", "#FF0000"),
        ("ui", "#ABCDEF"),
    ]


async def test_label_fields_are_checked(client: httpx.AsyncClient, team: Team) -> None:
    url = f"/api/v1/teams/{team.id}/labels"
    for body in (
        {"name": "x", "color": "red"},
        {"name": "x", "color": "#12345"},
        {"name": "", "color": "#123456"},
        {"name": "x" * 51, "color": "#123456"},
    ):
        assert (await client.post(url, json=body, headers=team.admin.headers)).status_code == 422
    label = await create_label(client, team, "x")
    for field in ("name", "color"):
        r = await client.patch(
            f"/api/v1/labels/{label['id']}", json={field: None}, headers=team.admin.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", field]


async def test_labels_on_tasks(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    bug = await create_label(client, team, "bug")
    ui = await create_label(client, team, "ui", "#00ff00")
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}/labels"
    r = await client.put(
        url, json={"label_ids": [ui["id"], bug["id"]]}, headers=team.member.headers
    )
    assert r.status_code == 200
    assert [x["name"] for x in r.json()["labels"]] == ["bug", "ui"]  # by name
    assert r.headers["etag"] == '"2"'
    # the same set again is no change: same version
    r = await client.put(
        url, json={"label_ids": [bug["id"], ui["id"], bug["id"]]}, headers=team.member.headers
    )
    assert r.headers["etag"] == '"2"'
    assert [x["name"] for x in r.json()["labels"]] == ["bug", "ui"]
    r = await client.put(url, json={"label_ids": [ui["id"]]}, headers=team.member.headers)
    assert [x["name"] for x in r.json()["labels"]] == ["ui"]
    assert r.headers["etag"] == '"3"'
    r = await client.put(url, json={"label_ids": []}, headers=team.member.headers)
    assert r.json()["labels"] == []
    # PATCH with label_ids does the same
    r = await client.patch(
        f"/api/v1/tasks/{t['id']}", json={"label_ids": [bug["id"]]}, headers=team.member.headers
    )
    assert [x["name"] for x in r.json()["labels"]] == ["bug"]
    board_view = (
        await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)
    ).json()
    assert [x["id"] for x in board_view["columns"][0]["tasks"][0]["labels"]] == [bug["id"]]


async def test_labels_of_another_team_are_refused(
    client: httpx.AsyncClient, team: Team, make_team: Callable[[], Team], board: dict[str, Any]
) -> None:
    mine = await create_label(client, team, "mine")
    other = make_team()
    foreign = await create_label(client, other, "bug", "#000000")
    t = await create_task(client, col(board, 0), team.member, label_ids=[mine["id"]])
    for label_ids in ([foreign["id"]], [mine["id"], foreign["id"]], [str(uuid.uuid4())]):
        put = await client.put(
            f"/api/v1/tasks/{t['id']}/labels",
            json={"label_ids": label_ids},
            headers=team.member.headers,
        )
        assert put.status_code == 422
        assert put.json()["errors"][0]["loc"] == ["body", "label_ids"]
        patch = await client.patch(
            f"/api/v1/tasks/{t['id']}", json={"label_ids": label_ids}, headers=team.member.headers
        )
        assert patch.status_code == 422
        assert patch.json()["errors"][0]["loc"] == ["body", "label_ids"]
    got = await get_task(client, t["id"], team.member)
    assert [x["name"] for x in got["labels"]] == ["mine"]
    assert got["version"] == 1


async def test_deleting_a_label_takes_it_off_its_tasks(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    bug = await create_label(client, team, "bug")
    ui = await create_label(client, team, "ui", "#00ff00")
    t = await create_task(client, col(board, 0), team.member, label_ids=[bug["id"], ui["id"]])
    assert (
        await client.delete(f"/api/v1/labels/{bug['id']}", headers=team.admin.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/labels/{bug['id']}", headers=team.member.headers)
    ).status_code == 404
    got = await get_task(client, t["id"], team.member)
    assert [x["name"] for x in got["labels"]] == ["ui"]
    # and the name is free again
    assert (await create_label(client, team, "bug"))["name"] == "bug"
