"""End to end: `make run`'s own runner starts every real process (embedded PostgreSQL and NATS in a
fresh folder, every service, the gateway), and a team's day goes through the gateway only:
register, log in, a team, a board, a task completed, a focus session, chat messages over
WebSockets on both chat replicas (platform.toml runs two; the gateway balances them), and the
team's analytics showing the work."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.e2e.conftest import RUN_DIRS, new_user

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


async def _joined(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Wait until the socket has joined its room: the replica answers a ping only then (and
    its fan-out subscription is active by then)."""
    await ws.send_json({"type": "ping"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (await ws.receive_json(timeout=10)).get("type") == "pong":
            return
    pytest.fail("no pong")


async def _messages(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[tuple[Any, int]]:
    """The next ``n`` new-message frames of the socket: (message, seq)."""
    got: list[tuple[Any, int]] = []
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        msg = await ws.receive_json(timeout=10)
        if msg.get("type") == "message":
            got.append((msg["message"], msg["seq"]))
    return got


async def test_health_and_merged_openapi(api: httpx.AsyncClient) -> None:
    r = await api.get("/health")
    assert r.status_code == 200
    services = r.json()["services"]
    assert set(services) >= {"identity", "teams", "tasks", "focus", "chat", "analytics"}
    assert set(services.values()) == {"ok"}
    # chat runs two replicas (platform.toml), and the gateway checks each one
    assert r.json()["replicas"]["chat"] == {"chat#1": "ok", "chat#2": "ok"}
    doc = (await api.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/teams",
        "/api/v1/boards/{board_id}",
        "/api/v1/focus/sessions",
        "/api/v1/rooms/{room_id}/messages",
        "/api/v1/teams/{team_id}/analytics",
    ):
        assert path in paths, path
    # what a generated client needs: every $ref defined, one security scheme, clean type names
    text = (await api.get("/openapi.json")).text
    schemas = doc["components"]["schemas"]
    refs = set(re.findall(r'"\$ref":\s*"#/components/schemas/([^"]+)"', text))
    assert refs <= set(schemas), refs - set(schemas)
    assert {"Problem", "ValidationProblem"} <= set(schemas)
    assert all(re.fullmatch(r"[A-Za-z0-9]+", name) for name in schemas), sorted(schemas)
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth"}
    assert (await api.get("/docs")).status_code == 200


async def test_auth_is_checked_at_the_gateway(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/users/me", headers={"X-Request-ID": "e2e-req-1"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-request-id"] == "e2e-req-1"
    r = await api.get("/api/v1/users/me", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401


async def test_a_team_day_through_the_gateway(api: httpx.AsyncClient, platform: str) -> None:
    alice, bob = await new_user(api, "alice"), await new_user(api, "bob")
    me = await api.get("/api/v1/users/me", headers=alice["headers"])
    assert me.status_code == 200
    assert me.json()["username"] == alice["username"]
    assert me.json()["profile"]["timezone"] == "UTC"

    # a team, and bob in it (the very next request may use it: no eventual-consistency 403)
    r = await api.post("/api/v1/teams", json={"name": "Apollo"}, headers=alice["headers"])
    assert r.status_code == 201, r.text
    team = r.json()
    r = await api.post(
        f"/api/v1/teams/{team['id']}/members",
        json={"user_id": bob["id"], "role": "member"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    r = await api.get("/api/v1/teams", headers=bob["headers"])
    assert [t["my_role"] for t in r.json()["items"] if t["id"] == team["id"]] == ["member"]

    # a board with the default columns; a task for bob; bob finishes it
    r = await api.post(
        f"/api/v1/teams/{team['id']}/boards", json={"name": "Launch"}, headers=alice["headers"]
    )
    assert r.status_code == 201, r.text
    board = (await api.get(f"/api/v1/boards/{r.json()['id']}", headers=bob["headers"])).json()
    columns = {c["name"]: c for c in board["columns"]}
    assert list(columns) == ["To do", "In progress", "Done"]
    assert columns["Done"]["is_done"]
    r = await api.post(
        f"/api/v1/columns/{columns['To do']['id']}/tasks",
        json={"title": "Write the launch post", "assignee_id": bob["id"], "priority": "high"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    task = r.json()
    r = await api.post(
        f"/api/v1/tasks/{task['id']}/move",
        json={"column_id": columns["Done"]["id"], "position": 0},
        headers=bob["headers"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["completed_at"] is not None
    moved_at = time.monotonic()

    # the completion reaches the team's analytics through outbox, broker and consumer quickly
    # (the issue asks for a second; 5 s leaves room for a loaded CI machine)
    today = datetime.now(UTC).date().isoformat()
    seen_after = None
    while time.monotonic() - moved_at < 5:
        r = await api.get(
            f"/api/v1/teams/{team['id']}/analytics",
            params={"from": today, "to": today},
            headers=alice["headers"],
        )
        if r.status_code == 200 and r.json()["items"][0]["completed_tasks"] == 1:
            seen_after = time.monotonic() - moved_at
            break
        await asyncio.sleep(0.05)
    assert seen_after is not None, "the completed task did not reach analytics within 5 s"
    logging.getLogger("e2e").warning(
        "task completion visible in team analytics after %.0f ms", seen_after * 1000
    )

    # a focus session, visible to the team while it runs
    r = await api.post(
        "/api/v1/focus/sessions",
        json={"focus_type": "pomodoro", "team_id": team["id"]},
        headers=bob["headers"],
    )
    assert r.status_code == 201, r.text
    session = r.json()
    now = await api.get(f"/api/v1/teams/{team['id']}/focus/now", headers=alice["headers"])
    assert now.status_code == 200
    assert bob["id"] in json.dumps(now.json())
    r = await api.post(
        f"/api/v1/focus/sessions/{session['id']}/stop", json={}, headers=bob["headers"]
    )
    assert r.status_code == 200
    assert r.json()["end_time"] is not None

    # chat, with two replicas behind the gateway: sockets on both, messages posted through
    # either; every socket gets every message (across replicas: over the NATS fan-out)
    r = await api.post(
        f"/api/v1/teams/{team['id']}/rooms", json={"name": "general"}, headers=alice["headers"]
    )
    assert r.status_code == 201, r.text
    room = r.json()
    ws_base = platform.replace("http", "ws") + f"/api/v1/rooms/{room['id']}/ws?token="
    async with aiohttp.ClientSession() as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        served: list[str] = []
        try:
            # WebSockets go round-robin over the replicas (a rotation of their own): two
            # consecutive sockets land on different ones; the gateway says which.
            for who in (bob, alice, bob, alice):
                ws = await http.ws_connect(ws_base + who["token"])
                sockets.append(ws)
                served.append(ws._response.headers["X-Served-By"])
                await _joined(ws)
                if len(sockets) >= 2 and len(set(served)) == 2:
                    break
            assert set(served) == {"chat#1", "chat#2"}, served
            posted = []
            for content in ("we shipped", "and it works"):
                r = await api.post(
                    f"/api/v1/rooms/{room['id']}/messages",
                    json={"content": content},
                    headers=alice["headers"],
                )
                assert r.status_code == 201, r.text
                posted.append((content, r.headers["X-Served-By"]))
            # HTTP requests go round-robin too: one message committed on each replica
            assert {by for _, by in posted} == {"chat#1", "chat#2"}, posted
            for ws, by in zip(sockets, served, strict=True):
                got = await _messages(ws, 2)
                assert [m["content"] for m, _ in got] == ["we shipped", "and it works"], by
                assert {m["user_id"] for m, _ in got} == {alice["id"]}
                assert got[1][1] == got[0][1] + 1  # in seq order, no gap
        finally:
            for ws in sockets:
                await ws.close()
    outsider = await new_user(api, "eve")
    r = await api.get(f"/api/v1/rooms/{room['id']}/messages", headers=outsider["headers"])
    assert r.status_code == 404

    # analytics, built from the events, shows the day's work within seconds, each event once
    row: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = await api.get(
            f"/api/v1/teams/{team['id']}/analytics",
            params={"from": today, "to": today},
            headers=alice["headers"],
        )
        assert r.status_code == 200, r.text
        row = r.json()["items"][0]
        if row["completed_tasks"] >= 1 and row["active_members"] >= 2:
            break
        await asyncio.sleep(0.3)
    assert row["date"] == today
    assert row["completed_tasks"] == 1
    assert row["active_members"] >= 2
    r = await api.get(
        "/api/v1/users/me/analytics", params={"from": today, "to": today}, headers=bob["headers"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["completed_tasks"] == 1
    r = await api.get(
        f"/api/v1/teams/{team['id']}/analytics",
        params={"from": today, "to": today},
        headers=outsider["headers"],
    )
    assert r.status_code == 404


async def test_identitys_events_arrive_a_users_local_day(api: httpx.AsyncClient) -> None:
    """identity publishes through its outbox like every service: a timezone set on the profile
    reaches analytics, so a completed task counts on the user's local day, not the UTC one."""
    now = datetime.now(UTC)
    # one of these two zones is on another calendar day than UTC at any hour
    zone, offset = ("Pacific/Kiritimati", 14) if now.hour >= 10 else ("Etc/GMT+12", -12)
    local_day = (now + timedelta(hours=offset)).date().isoformat()
    utc_day = now.date().isoformat()
    assert local_day != utc_day
    carol = await new_user(api, "carol")
    r = await api.patch(
        "/api/v1/users/me", json={"profile": {"timezone": zone}}, headers=carol["headers"]
    )
    assert r.status_code == 200, r.text
    team = (await api.post("/api/v1/teams", json={"name": "Tz"}, headers=carol["headers"])).json()
    board_id = (
        await api.post(
            f"/api/v1/teams/{team['id']}/boards", json={"name": "B"}, headers=carol["headers"]
        )
    ).json()["id"]
    board = (await api.get(f"/api/v1/boards/{board_id}", headers=carol["headers"])).json()
    todo, done = board["columns"][0]["id"], board["columns"][-1]["id"]
    task = (
        await api.post(
            f"/api/v1/columns/{todo}/tasks",
            json={"title": "t", "assignee_id": carol["id"]},
            headers=carol["headers"],
        )
    ).json()
    # the timezone event must be applied before the completion is counted; give it time first
    await asyncio.sleep(1.0)
    r = await api.post(
        f"/api/v1/tasks/{task['id']}/move",
        json={"column_id": done, "position": 0},
        headers=carol["headers"],
    )
    assert r.status_code == 200, r.text
    days: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = await api.get(
            "/api/v1/users/me/analytics",
            params={"from": min(local_day, utc_day), "to": max(local_day, utc_day)},
            headers=carol["headers"],
        )
        days = {d["date"]: d["completed_tasks"] for d in r.json()["items"]}
        if sum(days.values()):
            break
        await asyncio.sleep(0.3)
    assert days == {local_day: 1, utc_day: 0}


async def test_the_verification_mail_links_to_a_page_that_verifies(
    api: httpx.AsyncClient, platform: str
) -> None:
    """The mail (from make run's SMTP sink) links to this platform's gateway, whatever its
    port, and the page there verifies the address."""
    dana = await new_user(api, "dana")
    mails = RUN_DIRS[platform] / "mail"
    link = None
    deadline = time.monotonic() + 15
    while link is None and time.monotonic() < deadline:
        for eml in sorted(mails.glob("*.eml")):
            message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            if dana["username"] in text:
                found = re.search(r"(http://[^\s\"<>]+/verify-email\?token=[\w.~%-]+)", text)
                link = found[1] if found else None
        await asyncio.sleep(0.3)
    assert link is not None, "no verification mail"
    assert link.startswith(platform + "/verify-email?token=")
    page = await api.get(link.removeprefix(platform))
    assert page.status_code == 200
    assert "/api/v1/auth/verify" in page.text
    token = link.split("token=", 1)[1]
    r = await api.post("/api/v1/auth/verify", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["is_verified"] is True
