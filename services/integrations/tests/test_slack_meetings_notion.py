"""Slack messages on task completion and meeting start; Zoom and Teams meeting links for the
meetings service; a board exported to a Notion database (twice without duplicates)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, TestUser

from .conftest import Connect, TasksStub


async def test_slack_hears_of_completed_tasks_and_started_meetings(
    app: Any,
    client: httpx.AsyncClient,
    team: Team,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    deliver: Deliver,
) -> None:
    user = team.member
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    got = await connect(user, "slack")
    assert got["account"]["team_name"] == "Sandbox workspace"
    outsider = await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"team_id": str(team.id), "channel": channel}},
        headers=team.outsider.headers,
    )
    assert outsider.status_code == 404
    r = await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"team_id": str(team.id), "channel": channel}},
        headers=user.headers,
    )
    assert r.status_code == 200, r.text
    task_id = uuid.uuid4()
    await deliver(
        "tasks.task.completed",
        {
            "task_id": str(task_id),
            "board_id": str(uuid.uuid4()),
            "team_id": str(team.id),
            "column_id": str(uuid.uuid4()),
            "title": "Ship the release",
            "assignee_id": None,
            "priority": "high",
            "user_id": str(team.owner.id),
            "completed_at": "2026-11-24T10:00:00Z",
        },
    )
    await deliver(
        "meetings.meeting.started",
        {
            "meeting_id": str(uuid.uuid4()),
            "team_id": str(team.id),
            "user_id": str(team.owner.id),
            "title": "Standup",
            "started_at": "2026-11-24T10:05:00Z",
            "meeting_link": "https://meet.jit.si/vc-abc",
        },
    )
    await deliver(  # another team's task: not for this channel
        "tasks.task.completed",
        {
            "task_id": str(uuid.uuid4()),
            "board_id": str(uuid.uuid4()),
            "team_id": str(uuid.uuid4()),
            "column_id": str(uuid.uuid4()),
            "title": "Elsewhere",
            "assignee_id": None,
            "priority": "low",
            "user_id": str(team.owner.id),
            "completed_at": "2026-11-24T10:00:00Z",
        },
    )
    messages = [
        m
        for m in (await sandbox_http.get("/_sandbox/slack/messages")).json()
        if m["channel"] == channel
    ]
    assert [m["text"] for m in messages] == [
        ":white_check_mark: Task completed: *Ship the release*",
        ":movie_camera: Meeting started: *Standup* — join: https://meet.jit.si/vc-abc",
    ]
    # the Slack "sync" checks the token and the channel
    s = await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    assert s.status_code == 202
    await run_job(app, "syncs")
    [log] = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert (log["status"], log["sync_type"]) == ("completed", "channel_check")


async def test_zoom_and_teams_give_meeting_links(
    client: httpx.AsyncClient, user: TestUser, make_user: Any, connect: Connect
) -> None:
    body = {
        "title": "Design review",
        "start_time": "2026-12-01T15:00:00Z",
        "end_time": "2026-12-01T15:45:00Z",
    }
    nobody = make_user()
    r = await client.post(
        "/internal/v1/integrations/meeting-links",
        json={**body, "provider": "zoom"},
        headers=nobody.headers,
    )
    assert r.status_code == 404
    await connect(user, "zoom")
    await connect(user, "microsoft_teams")
    zoom = await client.post(
        "/internal/v1/integrations/meeting-links",
        json={**body, "provider": "zoom"},
        headers=user.headers,
    )
    assert zoom.status_code == 200, zoom.text
    assert zoom.json()["join_url"].startswith("https://zoom.us/j/")
    teams = await client.post(
        "/internal/v1/integrations/meeting-links",
        json={**body, "provider": "microsoft_teams"},
        headers=user.headers,
    )
    assert teams.status_code == 200, teams.text
    assert teams.json()["join_url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    bad = await client.post(
        "/internal/v1/integrations/meeting-links",
        json={**body, "provider": "zoom", "end_time": "2026-12-01T14:00:00Z"},
        headers=user.headers,
    )
    assert bad.status_code == 422


async def test_a_board_is_exported_to_notion_once_per_task(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    tasks_api: TasksStub,
    sandbox_http: httpx.AsyncClient,
) -> None:
    board = tasks_api.board(user.id)
    for n, col in enumerate((0, 0, 2)):
        tid = uuid.uuid4()
        board.tasks[tid] = {
            "id": str(tid),
            "title": f"Task {n}",
            "description": "",
            "column_id": board.columns[col]["id"],
        }
    database = str(uuid.uuid4())
    got = await connect(user, "notion")
    assert got["account"]["workspace_name"] == "Sandbox workspace"
    await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"database_id": database, "board_id": str(board.id)}},
        headers=user.headers,
    )
    for _ in range(2):
        r = await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
        assert r.status_code == 202, r.text
        await run_job(app, "syncs")
    logs = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert [(x["status"], x["records_synced"]) for x in logs] == [("completed", 3)] * 2
    pages = [
        p
        for p in (await sandbox_http.get("/_sandbox/notion/pages")).json()
        if p["parent"]["database_id"] == database
    ]
    assert len(pages) == 3
    rows = sorted(
        (
            p["properties"]["Name"]["title"][0]["text"]["content"],
            p["properties"]["Status"]["select"]["name"],
        )
        for p in pages
    )
    assert rows == [("Task 0", "To do"), ("Task 1", "To do"), ("Task 2", "Done")]
