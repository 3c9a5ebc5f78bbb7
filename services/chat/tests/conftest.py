"""Chat tests: the ASGI app for HTTP rules, real uvicorn processes for sockets and replicas.

Membership comes the way it does in production when the projection has no row yet: a read-through
to the teams service, here :class:`FakePlatform`, a real HTTP server speaking teams' internal
route (and serving the JWKS of the test signer, for the uvicorn processes).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from chat.app import create_app
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import ServiceUnderTest, TestUser

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"
NATS_URL = os.environ.get("NATS_URL") or (
    os.environ.get("EVENT_BUS_URL", "nats://127.0.0.1:4222")
    if os.environ.get("EVENT_BUS_URL", "nats://").startswith("nats://")
    else "nats://127.0.0.1:4222"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class FakePlatform:
    """JWKS (identity) and ``GET /internal/v1/teams/{team}/members/{user}`` (teams)."""

    signer: TestSigner
    members: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)
    url: str = ""
    seq: int = 0

    def add(self, team_id: uuid.UUID, user: TestUser, role: str = "member") -> None:
        self.members[(team_id, user.id)] = role

    def remove(self, team_id: uuid.UUID, user: TestUser) -> None:
        self.members.pop((team_id, user.id), None)

    def app(self) -> web.Application:
        async def jwks(request: web.Request) -> web.Response:
            del request
            return web.json_response(self.signer.jwks)

        async def member(request: web.Request) -> web.Response:
            team_id = uuid.UUID(request.match_info["team_id"])
            user_id = uuid.UUID(request.match_info["user_id"])
            role = self.members.get((team_id, user_id))
            if role is None:
                return web.json_response({"status": 404}, status=404)
            self.seq += 1
            return web.json_response(
                {"team_id": str(team_id), "user_id": str(user_id), "role": role, "seq": self.seq}
            )

        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", jwks)
        app.router.add_get("/internal/v1/teams/{team_id}/members/{user_id}", member)
        return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(scope="session")
async def platform(signer: TestSigner) -> AsyncIterator[FakePlatform]:
    fake = FakePlatform(signer)
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


@pytest.fixture(scope="session")
def vc_service(platform: FakePlatform) -> ServiceUnderTest:
    return ServiceUnderTest(
        name="chat",
        app_factory=create_app,
        alembic_ini=ALEMBIC_INI,
        settings_env={
            "CHAT_FANOUT": "local",
            "TEAMS_URL": platform.url,
            "CHAT_EVENTS_ENABLED": "false",
        },
    )


@dataclass
class Team:
    id: uuid.UUID
    owner: TestUser
    admin: TestUser
    member: TestUser
    outsider: TestUser


@pytest.fixture
def team(platform: FakePlatform, make_user: Callable[..., TestUser]) -> Team:
    t = Team(uuid.uuid4(), make_user(), make_user(), make_user(), make_user())
    platform.add(t.id, t.owner, "owner")
    platform.add(t.id, t.admin, "admin")
    platform.add(t.id, t.member, "member")
    return t


# ---- real servers ------------------------------------------------------------------------------


@dataclass
class ChatServer:
    port: int
    proc: asyncio.subprocess.Process

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, room_id: uuid.UUID | str, token: str | None, **query: str) -> str:
        params = dict(query)
        if token is not None:
            params["token"] = token
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}/api/v1/rooms/{room_id}/ws" + (f"?{qs}" if qs else "")


async def start_server(database_url: str, platform: FakePlatform, **env: str) -> ChatServer:
    port = free_port()
    full_env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "CHAT_DATABASE_URL": database_url,
        "JWKS_URL": f"{platform.url}/.well-known/jwks.json",
        "TEAMS_URL": platform.url,
        "CHAT_EVENTS_ENABLED": "false",
        "LOG_LEVEL": os.environ.get("CHAT_TEST_LOG_LEVEL", "WARNING"),
        "NATS_URL": NATS_URL,
        "CHAT_GAP_WAIT": "0.2",
    }
    full_env.pop("REDIS_URL", None)
    full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "uvicorn",
            "chat.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=full_env,
    )
    server = ChatServer(port, proc)
    async with httpx.AsyncClient() as client:
        # a deadline, not a count: on a loaded 2-core machine starting the app alone can take
        # more than ten seconds
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"chat server exited with {proc.returncode}")
            try:
                if (await client.get(server.http + "/livez")).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("chat server did not start")


async def stop_server(server: ChatServer) -> None:
    server.proc.terminate()
    try:
        await asyncio.wait_for(server.proc.wait(), 10)
    except TimeoutError:
        server.proc.kill()
        await server.proc.wait()


@pytest_asyncio.fixture(scope="session")
async def server(database_url: str, platform: FakePlatform) -> AsyncIterator[ChatServer]:
    """One replica, in-process fan-out and presence."""
    s = await start_server(database_url, platform, CHAT_FANOUT="local")
    yield s
    await stop_server(s)


@pytest_asyncio.fixture(scope="session")
async def nats_replicas(
    database_url: str, platform: FakePlatform
) -> AsyncIterator[tuple[ChatServer, ChatServer]]:
    """Two replicas on one database, fan-out over NATS core, presence in Redis."""
    a = await start_server(database_url, platform, CHAT_FANOUT="nats", REDIS_URL=REDIS_URL)
    b = await start_server(database_url, platform, CHAT_FANOUT="nats", REDIS_URL=REDIS_URL)
    yield a, b
    await stop_server(a)
    await stop_server(b)


@pytest_asyncio.fixture(scope="session")
async def redis_replicas(
    database_url: str, platform: FakePlatform
) -> AsyncIterator[tuple[ChatServer, ChatServer]]:
    """Two replicas, fan-out over Redis pub/sub, presence in Redis, short heartbeats."""
    env = {
        "CHAT_FANOUT": "redis",
        "REDIS_URL": REDIS_URL,
        "CHAT_HEARTBEAT_TIMEOUT": "1.5",
        "CHAT_PRESENCE_TTL": "3",
    }
    a = await start_server(database_url, platform, **env)
    b = await start_server(database_url, platform, **env)
    yield a, b
    await stop_server(a)
    await stop_server(b)


# ---- helpers -----------------------------------------------------------------------------------


async def create_room(base: str | httpx.AsyncClient, team: Team, name: str | None = None) -> str:
    body = {"name": name or f"room-{uuid.uuid4().hex[:8]}"}
    url = f"/api/v1/teams/{team.id}/rooms"
    if isinstance(base, httpx.AsyncClient):
        resp = await base.post(url, json=body, headers=team.admin.headers)
    else:
        async with httpx.AsyncClient(base_url=base) as c:
            resp = await c.post(url, json=body, headers=team.admin.headers)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def post(base: str, room_id: str, user: TestUser, content: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as c:
        resp = await c.post(
            f"/api/v1/rooms/{room_id}/messages", json={"content": content}, headers=user.headers
        )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def recv(
    ws: Any, *, kind: str | tuple[str, ...] = "message", within: float = 5.0
) -> dict[str, Any]:
    """The next frame of ``kind`` (other frames are skipped)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        frame: dict[str, Any] = orjson.loads(raw)
        if frame.get("type") in kinds:
            return frame


async def close_code(ws: Any, within: float = 5.0) -> int:
    """Read until the server closes the socket; its close code."""
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except ConnectionClosed as closed:
        return int(closed.rcvd.code) if closed.rcvd is not None else -1


async def no_frame(ws: Any, kind: str = "message", wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await recv(ws, kind=kind, within=wait)
