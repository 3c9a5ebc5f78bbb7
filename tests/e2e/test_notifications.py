"""End to end through the gateway: a task assigned to bob becomes a notification he reads; the
same while he focuses waits until his session stops, then arrives with the digest, and its mail
reaches `make run`'s SMTP sink. Everything flows as in production: tasks' and focus's outboxes,
the broker, notifications' consumer, its mail job, SMTP.

Reuses the platform of ``test_platform.py`` (``make run``'s runner), on NATS only: the broker
choice is proven there, this proves the notifications flow."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RUN_DIRS, new_user

pytestmark = pytest.mark.e2e


def _mails_to(base: Path, address: str) -> list[EmailMessage]:
    """The mails the platform's SMTP sink kept (``<VC_RUN_DIR>/mail/*.eml``) for ``address``."""
    found = []
    for path in base.glob("mail/*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if isinstance(msg, EmailMessage) and msg["To"] == address:
            found.append(msg)
    return found


async def _inbox(api: httpx.AsyncClient, who: dict[str, Any], **params: Any) -> list[Any]:
    r = await api.get("/api/v1/notifications", params=params, headers=who["headers"])
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


async def _until(check: Any, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = await check()
        if got:
            return got
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {within} s")


@pytest.mark.usefixtures("nats_only")
async def test_an_assignment_notifies_and_waits_while_the_assignee_focuses(
    api: httpx.AsyncClient, platform: str
) -> None:
    alice, bob = await new_user(api, "alice"), await new_user(api, "bob")
    team = (
        await api.post("/api/v1/teams", json={"name": "Hermes"}, headers=alice["headers"])
    ).json()
    r = await api.post(
        f"/api/v1/teams/{team['id']}/members",
        json={"user_id": bob["id"], "role": "member"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    board_id = (
        await api.post(
            f"/api/v1/teams/{team['id']}/boards", json={"name": "B"}, headers=alice["headers"]
        )
    ).json()["id"]
    todo = (await api.get(f"/api/v1/boards/{board_id}", headers=alice["headers"])).json()[
        "columns"
    ][0]["id"]

    async def assign(title: str) -> dict[str, Any]:
        r = await api.post(
            f"/api/v1/columns/{todo}/tasks",
            json={"title": title, "assignee_id": bob["id"]},
            headers=alice["headers"],
        )
        assert r.status_code == 201, r.text
        task: dict[str, Any] = r.json()
        return task

    # 1. an assignment becomes a notification bob reads
    first = await assign("Write the launch post")

    async def assigned() -> list[Any]:
        return await _inbox(api, bob, kind="task.assigned")

    [n] = await _until(assigned)
    assert n["title"] == "Task assigned: Write the launch post"
    assert n["message"].startswith(f"{alice['username']} assigned you")
    assert n["link"] == f"/api/v1/tasks/{first['id']}"
    r = await api.post(f"/api/v1/notifications/{n['id']}/read", headers=bob["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["read_at"] is not None
    r = await api.get(f"/api/v1/notifications/{n['id']}", headers=alice["headers"])
    assert r.status_code == 404  # someone else's

    # 2. the same while bob focuses: held until the session stops, then with the digest
    r = await api.post(
        "/api/v1/focus/sessions", json={"focus_type": "pomodoro"}, headers=bob["headers"]
    )
    assert r.status_code == 201, r.text
    session = r.json()
    await asyncio.sleep(1.5)  # focus.session.started reaches notifications (another stream)
    await assign("Review the launch post")
    await asyncio.sleep(2.0)  # time enough to arrive, if it were not held
    assert [i["title"] for i in await assigned()] == ["Task assigned: Write the launch post"]
    r = await api.get("/api/v1/notifications/unread-count", headers=bob["headers"])
    unread_while_focusing = r.json()["count"]

    r = await api.post(
        f"/api/v1/focus/sessions/{session['id']}/stop", json={}, headers=bob["headers"]
    )
    assert r.status_code == 200, r.text

    async def released() -> list[Any]:
        items = await _inbox(api, bob)
        return items if any(i["kind"] == "digest" for i in items) else []

    items = await _until(released)
    digest = items[0]
    assert digest["kind"] == "digest"
    assert digest["title"] == "While you focused: 1 task assigned"
    assert items[1]["title"] == "Task assigned: Review the launch post"
    assert items[1]["created_at"] < items[1]["delivered_at"]  # made while he focused
    r = await api.get("/api/v1/notifications/unread-count", headers=bob["headers"])
    assert r.json()["count"] == unread_while_focusing + 2

    # 3. the held one, unread, goes by mail (the default for assignments) to make run's sink
    async def mailed() -> list[EmailMessage]:
        return [
            m
            for m in _mails_to(RUN_DIRS[platform], f"{bob['username']}@example.com")
            if m["Subject"] == "Task assigned: Review the launch post"
        ]

    [mail] = await _until(mailed, within=20)
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert f"{alice['username']} assigned you “Review the launch post”" in text.get_content()
