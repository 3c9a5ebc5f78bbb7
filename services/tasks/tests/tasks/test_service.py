"""Tasks: create rules (422s), ETag/If-Match, delete, the team's task list, the history.
(Moves: ``test_moves``; completion: ``test_completion``; concurrency: ``test_positions``.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox

from ..kanban import (
    activity,
    col,
    create_board,
    create_label,
    create_task,
    get_task,
    titles_by_column,
)


async def test_create_task_defaults_location_etag_and_events(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
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
    assert t["description"] == ""
    assert t["due_date"] == "2026-12-01"
    assert t["position"] == 0
    assert t["version"] == 1
    assert t["is_completed"] is False
    assert t["completed_at"] is None
    assert t["created_by_id"] == str(team.member.id)
    assert (t["board_id"], t["team_id"], t["column_id"]) == (
        board["id"],
        str(team.id),
        col(board, 0),
    )
    [created] = await outbox("tasks.task.created", t["id"])
    assert created["data"]["user_id"] == str(team.member.id)
    assert created["data"]["team_id"] == str(team.id)
    assert created["data"]["position"] == 0
    [assigned] = await outbox("tasks.task.assigned", t["id"])
    assert assigned["data"]["assignee_id"] == str(team.other.id)
    assert assigned["data"]["previous_assignee_id"] is None
    got = await client.get(f"/api/v1/tasks/{t['id']}", headers=team.member.headers)
    assert got.headers["etag"] == '"1"'
    assert got.json()["subtasks"] == []
    assert got.json()["attachments"] == []
    # no assignee: no tasks.task.assigned
    plain = await create_task(client, col(board, 0), team.member)
    assert await outbox("tasks.task.assigned", plain["id"]) == []
    assert plain["position"] == 1


async def test_create_task_at_a_position(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    for name in ("a", "b", "c"):
        await create_task(client, col(board, 0), team.member, title=name)
    first = await create_task(client, col(board, 0), team.member, title="first", position=0)
    assert first["position"] == 0
    mid = await create_task(client, col(board, 0), team.member, title="mid", position=2)
    assert mid["position"] == 2
    end = await create_task(client, col(board, 0), team.member, title="end", position=99)
    assert end["position"] == 5
    assert await titles_by_column(client, board["id"], team) == [
        ["first", "a", "mid", "b", "c", "end"],
        [],
        [],
    ]


async def test_create_task_rules(
    client: httpx.AsyncClient, team: Team, make_team: Callable[[], Team], board: dict[str, Any]
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
    foreign = await create_label(client, other, "theirs", "#000000")
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
    # none of the refused creates left a task behind
    assert await titles_by_column(client, board["id"], team) == [[], [], []]


async def test_an_assignee_is_any_member_of_the_team(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    # members the service has not seen yet are found through teams (the read-through)
    for who in (team.owner, team.admin, team.other, team.member):
        t = await create_task(client, col(board, 0), team.member, assignee_id=str(who.id))
        assert t["assignee_id"] == str(who.id)


async def test_patch_honours_if_match(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
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
    assert stale.json()["current_etag"] == '"2"'
    assert (await client.get(url, headers=team.member.headers)).json()["title"] == "Renamed"
    # without If-Match the last writer wins; an unchanged PATCH changes nothing
    r = await client.patch(url, json={"description": "details"}, headers=team.other.headers)
    assert r.headers["etag"] == '"3"'
    r = await client.patch(url, json={"description": "details"}, headers=team.other.headers)
    assert r.headers["etag"] == '"3"'
    [updated, _] = await outbox("tasks.task.updated", t["id"])
    assert updated["data"]["changes"]["title"] == {"from": "A task", "to": "Renamed"}
    assert updated["data"]["user_id"] == str(team.member.id)
    assert updated["data"]["version"] == 2
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
    [assigned] = await outbox("tasks.task.assigned", t["id"])
    assert assigned["data"]["previous_assignee_id"] is None
    assert (
        await client.patch(url, json={"title": "x"}, headers=team.outsider.headers)
    ).status_code == 404


async def test_if_match_forms(client: httpx.AsyncClient, team: Team, board: dict[str, Any]) -> None:
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}"

    async def patch(if_match: str, title: str) -> httpx.Response:
        return await client.patch(
            url, json={"title": title}, headers={**team.member.headers, "If-Match": if_match}
        )

    assert (await patch('"7", "1"', "a")).headers["etag"] == '"2"'  # any tag of a list
    assert (await patch('W/"2"', "b")).headers["etag"] == '"3"'  # a weak tag compares too
    assert (await patch("*", "c")).headers["etag"] == '"4"'
    assert (await patch('"3"', "d")).status_code == 412
    assert (await patch("garbage", "d")).status_code == 412
    # a stale If-Match refuses even a change that would change nothing
    assert (await patch('"1"', "c")).status_code == 412
    assert (await get_task(client, t["id"], team.member))["title"] == "c"


async def test_etag_follows_the_tasks_own_fields_only(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}"
    h = team.member.headers
    await client.post(f"{url}/subtasks", json={"title": "s"}, headers=h)
    await client.post(f"{url}/comments", json={"content": "c"}, headers=h)
    await client.post(
        f"{url}/attachments", json={"file_url": "https://x.example/a", "filename": "a"}, headers=h
    )
    got = await client.get(url, headers=h)
    assert got.headers["etag"] == '"1"'
    assert got.json()["version"] == 1
    patched = await client.patch(url, json={"due_date": "2027-01-01"}, headers=h)
    assert patched.headers["etag"] == '"2"'
    assert (await client.get(url, headers=h)).headers["etag"] == '"2"'


async def test_patch_uses_the_apps_clock(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], clock: MovableClock
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    clock.set("2026-11-25T08:30:00Z")
    r = await client.patch(
        f"/api/v1/tasks/{t['id']}", json={"title": "Later"}, headers=team.member.headers
    )
    assert r.json()["updated_at"] == "2026-11-25T08:30:00Z"


@pytest.mark.usefixtures("clock")  # at 2026-11-24 09:00Z
async def test_delete_task_renumbers_and_emits(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
) -> None:
    a = await create_task(client, col(board, 0), team.member, title="a")
    await create_task(client, col(board, 0), team.member, title="b")
    await create_task(client, col(board, 0), team.member, title="c")
    r = await client.delete(f"/api/v1/tasks/{a['id']}", headers=team.other.headers)
    assert r.status_code == 204
    assert await titles_by_column(client, board["id"], team) == [["b", "c"], [], []]
    assert (
        await client.get(f"/api/v1/tasks/{a['id']}", headers=team.member.headers)
    ).status_code == 404
    [deleted] = await outbox("tasks.task.deleted", a["id"])
    assert deleted["data"]["user_id"] == str(team.other.id)
    assert deleted["data"]["column_id"] == col(board, 0)
    assert deleted["data"]["deleted_at"] == "2026-11-24T09:00:00Z"
    assert (
        await client.delete(f"/api/v1/tasks/{a['id']}", headers=team.other.headers)
    ).status_code == 404


async def test_team_task_list_filters_and_pages(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    bug = await create_label(client, team)
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
    await create_task(client, col(board, 2), team.member, title="Plan Q3", due_date="2026-03-01")
    other_board = await create_board(client, team, "other")
    await create_task(client, col(other_board, 0), team.member, title="Elsewhere")
    url = f"/api/v1/teams/{team.id}/tasks"
    h = team.member.headers

    async def titles(**params: Any) -> list[str]:
        r = await client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        return [t["title"] for t in r.json()["items"]]

    assert await titles() == ["Elsewhere", "Plan Q3", "Write docs", "Fix login crash"]
    assert await titles(board_id=board["id"]) == ["Plan Q3", "Write docs", "Fix login crash"]
    assert await titles(assignee_id=str(team.other.id)) == ["Fix login crash"]
    assert await titles(priority="urgent") == ["Fix login crash"]
    assert await titles(label_id=bug["id"]) == ["Fix login crash"]
    assert await titles(due_before="2026-02-01") == ["Write docs"]
    assert await titles(is_completed="true") == ["Plan Q3"]
    assert await titles(is_completed="false", board_id=board["id"]) == [
        "Write docs",
        "Fix login crash",
    ]
    assert await titles(q="LOGIN") == ["Fix login crash"]
    assert await titles(q="deploy") == ["Write docs"]
    assert await titles(q="100%") == ["Write docs"]
    assert await titles(q="%") == ["Write docs"]
    assert await titles(q="   ") == ["Elsewhere", "Plan Q3", "Write docs", "Fix login crash"]
    assert await titles(q="nothing like it") == []
    assert await titles(priority="medium", due_before="2026-12-31") == ["Plan Q3", "Write docs"]
    first = (await client.get(url, params={"limit": 3}, headers=h)).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = (
        await client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=h)
    ).json()
    assert [t["title"] for t in rest["items"]] == ["Fix login crash"]
    assert rest["items"][0]["labels"][0]["name"] == "bug"
    assert rest["next_cursor"] is None
    assert (await client.get(url, params={"priority": "soon"}, headers=h)).status_code == 422
    assert (await client.get(url, params={"cursor": "garbage"}, headers=h)).status_code == 422
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404


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
    items = await activity(client, t["id"], team.member)
    assert [i["action"] for i in items] == [
        "created",
        "updated",
        "assigned",
        "moved",
        "completed",
        "commented",
    ]
    assert items[0]["user_id"] == str(team.member.id)
    assert items[1]["user_id"] == str(team.other.id)
    assert items[1]["changes"] == {"priority": {"from": "medium", "to": "high"}}
    assert items[2]["changes"] == {"assignee_id": {"from": None, "to": str(team.member.id)}}
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
