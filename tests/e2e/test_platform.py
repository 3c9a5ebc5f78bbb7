"""End to end: `make run`'s own runner starts every real process (embedded PostgreSQL and NATS in a
fresh folder, every service, the gateway), and a team's day goes through the gateway only:
register, log in, a team, a board, a task completed, a focus session, chat messages over
WebSockets on both chat replicas (platform.toml runs two; the gateway balances them), and the
team's analytics showing the work."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["nats", "amqp"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The platform as `make run` starts it: on embedded NATS JetStream, or on RabbitMQ (the
    machine's, `RABBITMQ_URL`) with the very same code, chosen by EVENT_BUS_URL only."""
    import tomllib

    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "EVENT_BUS_URL", "NATS_URL", "REDIS_URL", "ENVIRONMENT"}
        and not k.endswith("_DATABASE_URL")
    }
    if request.param == "amqp":
        env["EVENT_BUS_URL"] = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    gateway_port = _free_port()
    env.update(
        {
            "VC_RUN_DIR": str(tmp_path_factory.mktemp("run")),
            "GATEWAY_PORT": str(gateway_port),
            "PYTHONUNBUFFERED": "1",
            "GATEWAY_RATE_PER_USER": "off",
            "GATEWAY_RATE_PER_IP": "off",
        }
    )
    for name in cfg["services"]:
        env[f"{name.upper()}_PORT"] = str(_free_port())
    log = (tmp_path_factory.mktemp("log") / "platform.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vc_devrun", "run", "--no-color"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{gateway_port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the platform exited with {proc.returncode}:\n{log.read()[-6000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the platform did not become healthy:\n{log.read()[-6000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest_asyncio.fixture
async def api(platform: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform, timeout=15) as client:
        yield client


async def _user(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    username = f"{name}{uuid.uuid4().hex[:6]}"
    password = "correct horse battery staple"
    r = await api.post(
        "/api/v1/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": password},
    )
    assert r.status_code == 201, r.text
    user = r.json()
    r = await api.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "bearer"
    return {
        "id": user["id"],
        "username": username,
        "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
        "token": tokens["access_token"],
    }


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
    assert (await api.get("/docs")).status_code == 200


async def test_auth_is_checked_at_the_gateway(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/users/me", headers={"X-Request-ID": "e2e-req-1"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-request-id"] == "e2e-req-1"
    r = await api.get("/api/v1/users/me", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401


async def test_a_team_day_through_the_gateway(api: httpx.AsyncClient, platform: str) -> None:
    alice, bob = await _user(api, "alice"), await _user(api, "bob")
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
    outsider = await _user(api, "eve")
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
