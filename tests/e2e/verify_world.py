"""A team with one of every resource of the platform, made through the gateway as a real user
would make them: what the schemathesis run and the cross-team test fill path ids with.

:data:`CREATORS` maps each id parameter of the merged OpenAPI (``team_id``, ``task_id``...) to
the resource it names; a new route whose id parameter is not here makes the cross-team test fail
until someone says how to make one (one line in :func:`build_world`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.conftest import new_user

# id parameter -> what it names (the answer of build_world has one of each)
CREATORS = {
    "team_id": "a team",
    "user_id": "a member of the team (not its owner)",
    "board_id": "a board of the team",
    "column_id": "a column of the board",
    "task_id": "a task in the column",
    "subtask_id": "a subtask of the task",
    "comment_id": "a comment on the task",
    "label_id": "a label of the team",
    "attachment_id": "a file of the team attached to the task",
    "file_id": "a file uploaded to the team",
    "room_id": "a chat room of the team",
    "message_id": "a message in the room",
    "session_id": "a focus session of the owner, in the team",
    "event_id": "a team calendar event",
    "reminder_id": "a reminder of the event",
    "meeting_id": "a meeting of the team",
    "notification_id": "a notification of the member (added to the team)",
    "integration_id": "a GitHub integration of the owner",
}


@dataclass
class World:
    owner: dict[str, Any]
    member: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)
    # the values of path parameters that are not ids (a date, an occurrence, an enum)
    values: dict[str, str] = field(default_factory=dict)
    file_url: str = ""


def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.request.url}: {r.text}"
    body: dict[str, Any] = r.json()
    return body


async def _until(
    api: httpx.AsyncClient, method: str, url: str, ok: int | tuple[int, ...], **kw: Any
) -> httpx.Response:
    """Retry while a projection catches up with an event (at most ~20 s)."""
    oks = ok if isinstance(ok, tuple) else (ok,)
    r = await api.request(method, url, **kw)
    for _ in range(200):
        if r.status_code in oks:
            break
        await asyncio.sleep(0.1)
        r = await api.request(method, url, **kw)
    return r


async def _github(api: httpx.AsyncClient, h: dict[str, str]) -> str:
    """Connect GitHub against the provider sandbox, as test_integrations does."""
    auth = _ok(await api.post("/api/v1/integrations/github/connect", json={}, headers=h))
    url = auth["authorization_url"]
    async with httpx.AsyncClient(timeout=10) as browser:
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        approved = await browser.post(url.split("?")[0], data={**form, "decision": "approve"})
        assert approved.status_code == 302, approved.text
        back = approved.headers["location"]
    return str(_ok(await api.get(back))["id"])


async def build_world(
    api: httpx.AsyncClient, name: str, owner: dict[str, Any] | None = None
) -> World:
    """One of each resource in a new team of ``owner`` (a new user unless given)."""
    owner = owner or await new_user(api, f"{name}o")
    member = await new_user(api, f"{name}m")
    h = owner["headers"]
    w = World(owner=owner, member=member)
    ids = w.ids
    team = _ok(await api.post("/api/v1/teams", json={"name": f"{name} team"}, headers=h))
    ids["team_id"] = team["id"]
    t = f"/api/v1/teams/{team['id']}"
    _ok(await api.post(f"{t}/members", json={"user_id": member["id"], "role": "member"}, headers=h))
    ids["user_id"] = member["id"]
    board = _ok(await api.post(f"{t}/boards", json={"name": "Board"}, headers=h))
    ids["board_id"] = board["id"]
    detail = _ok(await api.get(f"/api/v1/boards/{board['id']}", headers=h))
    ids["column_id"] = detail["columns"][0]["id"]
    label = _ok(await api.post(f"{t}/labels", json={"name": "bug", "color": "#FF0000"}, headers=h))
    ids["label_id"] = label["id"]
    task = _ok(
        await api.post(
            f"/api/v1/columns/{ids['column_id']}/tasks",
            json={"title": "Task", "assignee_id": owner["id"]},
            headers=h,
        )
    )
    ids["task_id"] = task["id"]
    tk = f"/api/v1/tasks/{task['id']}"
    ids["subtask_id"] = _ok(await api.post(f"{tk}/subtasks", json={"title": "S"}, headers=h))["id"]
    ids["comment_id"] = _ok(await api.post(f"{tk}/comments", json={"content": "C"}, headers=h))[
        "id"
    ]
    f = _ok(
        await api.post(
            f"{t}/files",
            params={"filename": "notes.txt"},
            content=b"hello",
            headers={**h, "Content-Type": "text/plain"},
        )
    )
    ids["file_id"] = f["id"]
    w.file_url = f["file_url"]
    room = _ok(await api.post(f"{t}/rooms", json={"name": "general"}, headers=h))
    ids["room_id"] = room["id"]
    ids["message_id"] = _ok(
        await api.post(f"/api/v1/rooms/{room['id']}/messages", json={"content": "hi"}, headers=h)
    )["id"]
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0, minute=0)
    end = start + dt.timedelta(hours=1)
    event = _ok(
        await api.post(
            "/api/v1/calendar/events",
            json={
                "title": "Standup",
                "start_time": start.isoformat(),
                "end_time": end.isoformat(),
                "team_id": team["id"],
                "recurrence": "FREQ=DAILY;COUNT=5",
                "timezone": "UTC",
            },
            headers=h,
        )
    )
    ids["event_id"] = event["id"]
    w.values["occurrence_start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    ids["reminder_id"] = _ok(
        await api.post(
            f"/api/v1/calendar/events/{event['id']}/reminders",
            json={"reminder_type": "notification", "minutes_before": 10},
            headers=h,
        )
    )["id"]
    ids["meeting_id"] = _ok(
        await api.post(
            f"{t}/meetings",
            json={"title": "Sync", "start_time": start.isoformat(), "end_time": end.isoformat()},
            headers=h,
        )
    )["id"]
    ids["integration_id"] = await _github(api, h)
    # projections that follow events: the member's notification, the task's attachment, the
    # focus session's team membership
    notes = await _until(
        api,
        "GET",
        "/api/v1/notifications",
        200,
        headers=member["headers"],
    )
    for _ in range(200):
        items = notes.json()["items"]
        if items:
            break
        await asyncio.sleep(0.1)
        notes = await api.get("/api/v1/notifications", headers=member["headers"])
    assert notes.json()["items"], "the member got no notification of being added"
    ids["notification_id"] = notes.json()["items"][0]["id"]
    a = await _until(api, "POST", f"{tk}/attachments", 201, json={"file_id": f["id"]}, headers=h)
    ids["attachment_id"] = _ok(a, 201)["id"]
    s = await _until(
        api,
        "POST",
        "/api/v1/focus/sessions",
        (201, 409),
        json={"focus_type": "pomodoro", "team_id": team["id"], "notes": "n"},
        headers=h,
    )
    # an owner already focusing (a second team of theirs) keeps their one running session
    ids["session_id"] = s.json()["session_id"] if s.status_code == 409 else _ok(s, 201)["id"]
    w.values.update(
        {
            "date": dt.date.today().isoformat(),
            "integration_type": "github",
            "provider": "jitsi",
        }
    )
    missing = set(CREATORS) - set(ids)
    assert not missing, missing
    return w
