"""GitHub issues ↔ tasks of a chosen board: the sync creates and moves tasks through the tasks
API as the connecting user (service credential exchanged at identity), webhooks verified by
X-Hub-Signature-256 and deduplicated by X-GitHub-Delivery, completed tasks close issues."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from integrations.github.webhooks import signature_of
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, TestUser

from .conftest import WEBHOOK_SECRET, Connect, TasksStub


async def _setup(
    client: httpx.AsyncClient, user: TestUser, connect: Connect, tasks_api: TasksStub
) -> tuple[dict[str, Any], str, Any]:
    repo = f"octo/repo-{uuid.uuid4().hex[:8]}"
    board = tasks_api.board(user.id)
    got = await connect(user, "github")
    r = await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"repository": repo, "board_id": str(board.id)}},
        headers=user.headers,
    )
    assert r.status_code == 200, r.text
    return got, repo, board


async def _sync(app: Any, client: httpx.AsyncClient, user: TestUser, iid: str) -> Any:
    r = await client.post(f"/api/v1/integrations/{iid}/sync", headers=user.headers)
    assert r.status_code == 202, r.text
    await run_job(app, "syncs")
    return (await client.get(f"/api/v1/integrations/{iid}/sync-logs", headers=user.headers)).json()[
        "items"
    ][0]


def _hook(body: dict[str, Any], delivery: str, secret: str = WEBHOOK_SECRET) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {
        "content": raw,
        "headers": {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature_of(secret, raw),
            "Content-Type": "application/json",
        },
    }


async def test_issues_become_tasks_and_stay_in_step(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    tasks_api: TasksStub,
    sandbox_http: httpx.AsyncClient,
    deliver: Deliver,
) -> None:
    got, repo, board = await _setup(client, user, connect, tasks_api)
    todo, done = board.columns[0]["id"], board.columns[2]["id"]
    for title, state in (("Crash on login", "open"), ("Old bug", "closed")):
        await sandbox_http.post(
            f"/_sandbox/github/repos/{repo}/issues", json={"title": title, "state": state}
        )
    await sandbox_http.post(
        f"/_sandbox/github/repos/{repo}/issues", json={"title": "A PR", "is_pull": True}
    )
    log = await _sync(app, client, user, got["id"])
    assert (log["status"], log["records_synced"]) == ("completed", 2), log
    tasks = {t["title"]: t for t in board.tasks.values()}
    assert set(tasks) == {"Crash on login", "Old bug"}  # the pull request is not a task
    assert tasks["Crash on login"]["column_id"] == todo
    assert tasks["Old bug"]["column_id"] == done
    assert tasks["Crash on login"]["created_by"] == str(user.id)  # acting as the user
    assert "https://github.com/" in tasks["Crash on login"]["description"]

    # closed and renamed on GitHub: the task follows
    await sandbox_http.post(
        f"/_sandbox/github/repos/{repo}/issues",
        json={"number": 1, "state": "closed", "title": "Crash on login (fixed)"},
    )
    log = await _sync(app, client, user, got["id"])
    assert log["records_synced"] == 1
    task = next(t for t in board.tasks.values() if t["title"].startswith("Crash"))
    assert (task["title"], task["column_id"]) == ("Crash on login (fixed)", done)
    assert len(board.tasks) == 2  # no duplicate

    # the other way: the task is reopened on the board → the issue reopens on GitHub
    deliver_data = {
        "task_id": task["id"],
        "board_id": str(board.id),
        "team_id": str(board.team_id),
        "column_id": todo,
        "title": task["title"],
        "assignee_id": None,
        "priority": "medium",
        "user_id": str(user.id),
        "reopened_at": "2026-11-24T10:00:00Z",
        "previous_completed_at": "2026-11-24T09:00:00Z",
    }
    assert await deliver("tasks.task.reopened", deliver_data)
    issue = (await sandbox_http.get(f"/_sandbox/github/repos/{repo}/issues/1")).json()
    assert issue["state"] == "open"
    # its echo (the sync sees the issue reopened) moves nothing back and forth
    task["column_id"] = todo
    log = await _sync(app, client, user, got["id"])
    assert task["column_id"] == todo


async def test_a_completed_task_closes_its_issue(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    tasks_api: TasksStub,
    sandbox_http: httpx.AsyncClient,
    deliver: Deliver,
) -> None:
    got, repo, board = await _setup(client, user, connect, tasks_api)
    await sandbox_http.post(f"/_sandbox/github/repos/{repo}/issues", json={"title": "Do it"})
    await _sync(app, client, user, got["id"])
    [task] = board.tasks.values()
    data = {
        "task_id": task["id"],
        "board_id": str(board.id),
        "team_id": str(board.team_id),
        "column_id": board.columns[2]["id"],
        "title": "Do it",
        "assignee_id": None,
        "priority": "medium",
        "user_id": str(user.id),
        "completed_at": "2026-11-24T10:00:00Z",
    }
    assert await deliver("tasks.task.completed", data)
    issue = (await sandbox_http.get(f"/_sandbox/github/repos/{repo}/issues/1")).json()
    assert issue["state"] == "closed"
    patched_at = issue["updated_at"]
    # the same completion again (an echo): nothing more is sent
    assert await deliver("tasks.task.completed", data)
    again = (await sandbox_http.get(f"/_sandbox/github/repos/{repo}/issues/1")).json()
    assert again["updated_at"] == patched_at


async def test_webhooks_are_verified_deduplicated_and_start_a_sync(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    tasks_api: TasksStub,
    sandbox_http: httpx.AsyncClient,
) -> None:
    got, repo, board = await _setup(client, user, connect, tasks_api)
    await sandbox_http.post(f"/_sandbox/github/repos/{repo}/issues", json={"title": "From hook"})
    body = {"action": "opened", "issue": {"number": 1}, "repository": {"full_name": repo}}
    url = "/api/v1/integrations/webhooks/github"
    forged = await client.post(url, **_hook(body, "d-1", secret="not-the-secret"))
    assert forged.status_code == 401
    unsigned = _hook(body, "d-1")
    del unsigned["headers"]["X-Hub-Signature-256"]
    assert (await client.post(url, **unsigned)).status_code == 401
    latin = _hook(body, "d-1")  # a header byte above 127 arrives as a non-ASCII character
    latin["headers"]["X-Hub-Signature-256"] = "sha256=\xe9".encode("latin-1")
    assert (await client.post(url, **latin)).status_code == 401
    logs = await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    assert logs.json()["items"] == []

    delivery = str(uuid.uuid4())
    ok = await client.post(url, **_hook(body, delivery))
    assert ok.status_code == 202
    assert ok.json() == {"status": "accepted", "syncs_started": 1}
    dup = await client.post(url, **_hook(body, delivery))
    assert dup.status_code == 202
    assert dup.json()["status"] == "duplicate"
    # a second delivery while that sync is pending: one more sync right after it
    later = await client.post(url, **_hook(body, str(uuid.uuid4())))
    assert later.json()["syncs_started"] == 1
    await run_job(app, "syncs")
    await run_job(app, "syncs")
    logs = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert [(x["trigger"], x["status"]) for x in logs] == [
        ("webhook", "completed"),
        ("webhook", "completed"),
    ]
    assert [t["title"] for t in board.tasks.values()] == ["From hook"]


async def test_a_board_the_user_cannot_see_fails_the_sync(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    make_user: Any,
    connect: Connect,
    tasks_api: TasksStub,
) -> None:
    someone = make_user()
    board = tasks_api.board(someone.id)
    got = await connect(user, "github")
    await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"repository": "octo/x", "board_id": str(board.id)}},
        headers=user.headers,
    )
    log = await _sync(app, client, user, got["id"])
    assert log["status"] == "failed"
    assert log["error_message"] == "tasks answered 404: Board not found."
