"""Tasks: create rules (422s), ETag/If-Match, moves and dense positions, completion events,
labels, filters, subtasks, attachments, activity history."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from .conftest import Team, create_board, create_task, outbox


def col(board: dict[str, Any], i: int) -> str:
    return str(board["columns"][i]["id"])


async def positions(client: httpx.AsyncClient, board_id: str, team: Team) -> list[list[str]]:
    full = (await client.get(f"/api/v1/boards/{board_id}", headers=team.member.headers)).json()
    out = []
    for c in full["columns"]:
        assert [t["position"] for t in c["tasks"]] == list(range(len(c["tasks"])))
        out.append([t["title"] for t in c["tasks"]])
    return out


async def test_create_task_defaults_location_etag_and_events(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    r = await client.post(
        f"/api/v1/columns/{col(board, 0)}/tasks",
        json={"title": "Write spec", "due_date": "2026-12-01", "assignee_id": str(team.other.id)},
        headers=team.member.headers,
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert r.headers["location"] == f"/api/v1/tasks/{t['id']}"
    assert r.headers["etag"] == '"1"'
    assert t["priority"] == "medium"
    assert t["due_date"] == "2026-12-01"
    assert t["position"] == 0
    assert t["version"] == 1
    assert t["is_completed"] is False
    assert t["created_by_id"] == str(team.member.id)
    [created] = await outbox(db_connection, "tasks.task.created", t["id"])
    assert created["data"]["user_id"] == str(team.member.id)
    assert created["data"]["team_id"] == str(team.id)
    [assigned] = await outbox(db_connection, "tasks.task.assigned", t["id"])
    assert assigned["data"]["assignee_id"] == str(team.other.id)
    got = await client.get(f"/api/v1/tasks/{t['id']}", headers=team.member.headers)
    assert got.headers["etag"] == '"1"'
    assert got.json()["subtasks"] == []
    assert got.json()["attachments"] == []


async def test_create_task_rules(
    client: httpx.AsyncClient, team: Team, make_team: Any, board: dict[str, Any]
) -> None:
    url = f"/api/v1/columns/{col(board, 0)}/tasks"
    r = await client.post(
        url, json={"title": "x", "assignee_id": str(team.outsider.id)}, headers=team.member.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "assignee_id"]
    r = await client.post(
        url, json={"title": "x", "priority": "someday"}, headers=team.member.headers
    )
    assert r.status_code == 422
    r = await client.post(url, json={"title": "  "}, headers=team.member.headers)
    assert r.status_code == 422
    other = make_team()
    foreign = (
        await client.post(
            f"/api/v1/teams/{other.id}/labels",
            json={"name": "theirs", "color": "#000000"},
            headers=other.admin.headers,
        )
    ).json()
    r = await client.post(
        url, json={"title": "x", "label_ids": [foreign["id"]]}, headers=team.member.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "label_ids"]
    assert (
        await client.post(url, json={"title": "x"}, headers=team.outsider.headers)
    ).status_code == 404
    assert (
        await client.post(url, json={"title": "x"}, headers=other.admin.headers)
    ).status_code == 404


async def test_patch_honours_if_match(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}"
    r = await client.patch(
        url,
        json={"title": "Renamed", "priority": "urgent"},
        headers={**team.member.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    assert r.json()["title"] == "Renamed"
    assert r.json()["priority"] == "urgent"
    stale = await client.patch(
        url, json={"title": "Lost update"}, headers={**team.other.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await client.get(url, headers=team.member.headers)).json()["title"] == "Renamed"
    # without If-Match the last writer wins; an unchanged PATCH changes nothing
    r = await client.patch(url, json={"description": "details"}, headers=team.other.headers)
    assert r.headers["etag"] == '"3"'
    r = await client.patch(url, json={"description": "details"}, headers=team.other.headers)
    assert r.headers["etag"] == '"3"'
    [updated, _] = await outbox(db_connection, "tasks.task.updated", t["id"])
    assert updated["data"]["changes"]["title"] == {"from": "A task", "to": "Renamed"}
    assert updated["data"]["user_id"] == str(team.member.id)
    r = await client.patch(url, json={"title": None}, headers=team.member.headers)
    assert r.status_code == 422
    r = await client.patch(
        url, json={"assignee_id": str(team.outsider.id)}, headers=team.member.headers
    )
    assert r.status_code == 422
    r = await client.patch(
        url, json={"assignee_id": str(team.admin.id)}, headers=team.member.headers
    )
    assert r.status_code == 200
    assert r.json()["assignee_id"] == str(team.admin.id)
    [assigned] = await outbox(db_connection, "tasks.task.assigned", t["id"])
    assert assigned["data"]["previous_assignee_id"] is None
    assert (
        await client.patch(url, json={"title": "x"}, headers=team.outsider.headers)
    ).status_code == 404


async def test_moves_keep_positions_dense(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    for name in ("a", "b", "c", "d"):
        await create_task(client, col(board, 0), team.member, title=name)
    ids = {
        t["title"]: t["id"]
        for t in (
            await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)
        ).json()["columns"][0]["tasks"]
    }
    assert await positions(client, board["id"], team) == [["a", "b", "c", "d"], [], []]

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
    assert await positions(client, board["id"], team) == [["d", "a", "b", "c"], [], []]
    await move("a", col(board, 1), 0)
    await move("b", col(board, 1), 99)  # past the end: last
    assert await positions(client, board["id"], team) == [["d", "c"], ["a", "b"], []]
    await move("c", col(board, 1), 1)
    assert await positions(client, board["id"], team) == [["d"], ["a", "c", "b"], []]
    await move("a", col(board, 1), 2)
    assert await positions(client, board["id"], team) == [["d"], ["c", "b", "a"], []]
    # a column of another board is not a destination
    other = await create_board(client, team, "other")
    r = await move("a", col(other, 0), 0)
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


async def test_completion_and_reopen_events(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
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

    done = await move(col(board, 2))
    assert done["is_completed"] is True
    assert done["completed_at"] is not None
    [completed] = await outbox(db_connection, "tasks.task.completed", t["id"])
    data = completed["data"]
    assert data["task_id"] == t["id"]
    assert data["board_id"] == board["id"]
    assert data["team_id"] == str(team.id)
    assert data["user_id"] == str(team.other.id)
    assert data["assignee_id"] == str(team.member.id)
    assert data["completed_at"] == done["completed_at"].replace("+00:00", "Z")
    # between done columns, and inside one: no completion events
    await move(extra_done)
    await move(extra_done)
    assert len(await outbox(db_connection, "tasks.task.completed", t["id"])) == 1
    assert await outbox(db_connection, "tasks.task.reopened", t["id"]) == []
    reopened = await move(col(board, 1))
    assert reopened["is_completed"] is False
    assert reopened["completed_at"] is None
    [ev] = await outbox(db_connection, "tasks.task.reopened", t["id"])
    assert ev["data"]["previous_completed_at"] is not None
    await move(col(board, 2))
    assert len(await outbox(db_connection, "tasks.task.completed", t["id"])) == 2
    moved = await outbox(db_connection, "tasks.task.moved", t["id"])
    assert len(moved) == 4  # the no-op move inside Shipped emitted nothing
    # a task created straight into a done column is complete from the start
    born_done = await create_task(client, col(board, 2), team.member)
    assert born_done["is_completed"] is True
    assert len(await outbox(db_connection, "tasks.task.completed", born_done["id"])) == 1


async def test_delete_task_renumbers_and_emits(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    a = await create_task(client, col(board, 0), team.member, title="a")
    await create_task(client, col(board, 0), team.member, title="b")
    r = await client.delete(f"/api/v1/tasks/{a['id']}", headers=team.other.headers)
    assert r.status_code == 204
    assert await positions(client, board["id"], team) == [["b"], [], []]
    assert (
        await client.get(f"/api/v1/tasks/{a['id']}", headers=team.member.headers)
    ).status_code == 404
    [deleted] = await outbox(db_connection, "tasks.task.deleted", a["id"])
    assert deleted["data"]["user_id"] == str(team.other.id)


async def test_labels_on_tasks(
    client: httpx.AsyncClient, team: Team, make_team: Any, board: dict[str, Any]
) -> None:
    labels_url = f"/api/v1/teams/{team.id}/labels"
    bug = await client.post(
        labels_url, json={"name": "bug", "color": "#ff0000"}, headers=team.admin.headers
    )
    assert bug.status_code == 201
    assert bug.headers["location"].endswith(bug.json()["id"])
    assert (
        await client.post(
            labels_url, json={"name": "bug", "color": "#00ff00"}, headers=team.admin.headers
        )
    ).status_code == 409
    assert (
        await client.post(
            labels_url, json={"name": "x", "color": "red"}, headers=team.admin.headers
        )
    ).status_code == 422
    assert (
        await client.post(
            labels_url, json={"name": "x", "color": "#123456"}, headers=team.member.headers
        )
    ).status_code == 403
    ui = (
        await client.post(
            labels_url, json={"name": "ui", "color": "#00ff00"}, headers=team.admin.headers
        )
    ).json()
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}/labels"
    r = await client.put(
        url, json={"label_ids": [bug.json()["id"], ui["id"]]}, headers=team.member.headers
    )
    assert r.status_code == 200
    assert [x["name"] for x in r.json()["labels"]] == ["bug", "ui"]
    assert r.headers["etag"] == '"2"'
    other = make_team()
    foreign = (
        await client.post(
            f"/api/v1/teams/{other.id}/labels",
            json={"name": "bug", "color": "#000000"},
            headers=other.admin.headers,
        )
    ).json()
    r = await client.put(url, json={"label_ids": [foreign["id"]]}, headers=team.member.headers)
    assert r.status_code == 422
    r = await client.put(url, json={"label_ids": [ui["id"]]}, headers=team.member.headers)
    assert [x["name"] for x in r.json()["labels"]] == ["ui"]
    listed = (await client.get(labels_url, headers=team.member.headers)).json()
    assert [x["name"] for x in listed["items"]] == ["bug", "ui"]
    assert (await client.get(labels_url, headers=other.member.headers)).status_code == 404
    assert (
        await client.patch(
            f"/api/v1/labels/{ui['id']}", json={"name": "bug"}, headers=team.admin.headers
        )
    ).status_code == 409
    assert (
        await client.delete(f"/api/v1/labels/{ui['id']}", headers=team.member.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/labels/{ui['id']}", headers=team.admin.headers)
    ).status_code == 204
    got = (await client.get(f"/api/v1/tasks/{t['id']}", headers=team.member.headers)).json()
    assert got["labels"] == []


async def test_team_task_list_filters_and_pages(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    bug = (
        await client.post(
            f"/api/v1/teams/{team.id}/labels",
            json={"name": "bug", "color": "#ff0000"},
            headers=team.admin.headers,
        )
    ).json()
    await create_task(
        client,
        col(board, 0),
        team.member,
        title="Fix login crash",
        priority="urgent",
        label_ids=[bug["id"]],
        assignee_id=str(team.other.id),
    )
    await create_task(
        client,
        col(board, 1),
        team.member,
        title="Write docs",
        description="The deployment guide, 100% complete",
        due_date="2026-01-10",
    )
    await create_task(client, col(board, 1), team.member, title="Plan Q3", due_date="2026-03-01")
    url = f"/api/v1/teams/{team.id}/tasks"
    h = team.member.headers

    async def titles(**params: Any) -> list[str]:
        r = await client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        return [t["title"] for t in r.json()["items"]]

    assert await titles() == ["Plan Q3", "Write docs", "Fix login crash"]
    assert await titles(assignee_id=str(team.other.id)) == ["Fix login crash"]
    assert await titles(priority="urgent") == ["Fix login crash"]
    assert await titles(label_id=bug["id"]) == ["Fix login crash"]
    assert await titles(due_before="2026-02-01") == ["Write docs"]
    assert await titles(q="LOGIN") == ["Fix login crash"]
    assert await titles(q="deploy") == ["Write docs"]
    assert await titles(q="100%") == ["Write docs"]
    assert await titles(q="%") == ["Write docs"]
    assert await titles(q="nothing like it") == []
    assert await titles(priority="medium", due_before="2026-12-31") == ["Plan Q3", "Write docs"]
    first = (await client.get(url, params={"limit": 2}, headers=h)).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = (
        await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=h)
    ).json()
    assert [t["title"] for t in rest["items"]] == ["Fix login crash"]
    assert rest["next_cursor"] is None
    assert (await client.get(url, params={"priority": "soon"}, headers=h)).status_code == 422
    assert (await client.get(url, params={"cursor": "garbage"}, headers=h)).status_code == 422
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404


async def test_subtasks_attachments_comments(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], db_connection: AsyncConnection
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    s = await client.post(
        f"/api/v1/tasks/{t['id']}/subtasks", json={"title": "step 1"}, headers=team.member.headers
    )
    assert s.status_code == 201
    assert s.headers["location"] == f"/api/v1/subtasks/{s.json()['id']}"
    await client.post(
        f"/api/v1/tasks/{t['id']}/subtasks", json={"title": "step 2"}, headers=team.member.headers
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
    assert (card["subtask_count"], card["subtasks_completed"]) == (2, 1)

    a = await client.post(
        f"/api/v1/tasks/{t['id']}/attachments",
        json={"file_url": "https://files.example/spec.pdf", "filename": "spec.pdf"},
        headers=team.member.headers,
    )
    assert a.status_code == 201
    assert a.json()["uploaded_by_id"] == str(team.member.id)
    assert (
        await client.post(
            f"/api/v1/tasks/{t['id']}/attachments",
            json={"file_url": "javascript:alert(1)", "filename": "x"},
            headers=team.member.headers,
        )
    ).status_code == 422
    detail = (await client.get(f"/api/v1/tasks/{t['id']}", headers=team.member.headers)).json()
    assert [x["filename"] for x in detail["attachments"]] == ["spec.pdf"]
    assert [x["title"] for x in detail["subtasks"]] == ["step 1", "step 2"]
    att = f"/api/v1/tasks/{t['id']}/attachments/{a.json()['id']}"
    assert (await client.delete(att, headers=team.other.headers)).status_code == 403
    assert (await client.delete(att, headers=team.admin.headers)).status_code == 204

    c = await client.post(
        f"/api/v1/tasks/{t['id']}/comments", json={"content": "LGTM"}, headers=team.member.headers
    )
    assert c.status_code == 201
    assert c.headers["location"] == f"/api/v1/comments/{c.json()['id']}"
    [added] = await outbox(db_connection, "tasks.comment.added", c.json()["id"])
    assert added["data"]["task_id"] == t["id"]
    assert added["data"]["team_id"] == str(team.id)
    cu = f"/api/v1/comments/{c.json()['id']}"
    assert (
        await client.patch(cu, json={"content": "hijack"}, headers=team.admin.headers)
    ).status_code == 403
    assert (
        await client.patch(cu, json={"content": "x"}, headers=team.outsider.headers)
    ).status_code == 404
    r = await client.patch(cu, json={"content": "LGTM!"}, headers=team.member.headers)
    assert r.status_code == 200
    assert r.json()["content"] == "LGTM!"
    assert (await client.delete(cu, headers=team.other.headers)).status_code == 403
    listed = (
        await client.get(f"/api/v1/tasks/{t['id']}/comments", headers=team.other.headers)
    ).json()
    assert [x["content"] for x in listed["items"]] == ["LGTM!"]
    assert (await client.delete(cu, headers=team.admin.headers)).status_code == 204
    own = (
        await client.post(
            f"/api/v1/tasks/{t['id']}/comments",
            json={"content": "mine"},
            headers=team.other.headers,
        )
    ).json()
    assert (
        await client.delete(f"/api/v1/comments/{own['id']}", headers=team.other.headers)
    ).status_code == 204
    assert (
        await client.post(
            f"/api/v1/tasks/{t['id']}/comments", json={"content": ""}, headers=team.member.headers
        )
    ).status_code == 422
    assert (
        await client.delete(f"/api/v1/subtasks/{s.json()['id']}", headers=team.member.headers)
    ).status_code == 204


async def test_activity_history(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    await client.patch(
        f"/api/v1/tasks/{t['id']}", json={"priority": "high"}, headers=team.other.headers
    )
    await client.patch(
        f"/api/v1/tasks/{t['id']}",
        json={"assignee_id": str(team.member.id)},
        headers=team.other.headers,
    )
    await client.post(
        f"/api/v1/tasks/{t['id']}/move",
        json={"column_id": col(board, 2), "position": 0},
        headers=team.member.headers,
    )
    await client.post(
        f"/api/v1/tasks/{t['id']}/comments", json={"content": "done"}, headers=team.member.headers
    )
    url = f"/api/v1/tasks/{t['id']}/activity"
    r = await client.get(url, headers=team.member.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["action"] for i in items] == [
        "created",
        "updated",
        "assigned",
        "moved",
        "completed",
        "commented",
    ]
    assert items[1]["user_id"] == str(team.other.id)
    assert items[1]["changes"] == {"priority": {"from": "medium", "to": "high"}}
    assert items[3]["changes"]["column_id"] == {"from": col(board, 0), "to": col(board, 2)}
    assert all(i["created_at"].endswith("Z") for i in items)
    page = (await client.get(url, params={"limit": 4}, headers=team.member.headers)).json()
    more = (
        await client.get(
            url, params={"limit": 4, "cursor": page["next_cursor"]}, headers=team.member.headers
        )
    ).json()
    assert [i["action"] for i in page["items"] + more["items"]] == [i["action"] for i in items]
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404
