"""Chat tests: the ASGI app for HTTP rules, real uvicorn processes for sockets and replicas.

Membership comes the way it does in production when the projection has no row yet: a read-through
to the teams service, here ``fake_teams`` (``teams_client.testing``: a real HTTP server speaking
teams' internal route; ``team`` and ``Team`` come from there too). The uvicorn processes verify
tokens against the JWKS of the test signer, which :class:`Jwks` serves.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from chat.app import create_app
from teams_client.testing import FakeTeams, Team
from vc_common.ports import free_port
from vc_common.testing import sockets
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import ServiceUnderTest, TestUser
from vc_common.testing.servers import start_uvicorn, stop_process
from vc_common.testing.sockets import close_code as close_code
from vc_common.testing.sockets import next_frame

NATS_URL = os.environ.get("NATS_URL") or (
    os.environ.get("EVENT_BUS_URL", "nats://127.0.0.1:4222")
    if os.environ.get("EVENT_BUS_URL", "nats://").startswith("nats://")
    else "nats://127.0.0.1:4222"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Jwks:
    """Identity's ``/.well-known/jwks.json`` with the test signer's keys, for the processes."""

    url: str


@pytest_asyncio.fixture(scope="session")
async def jwks(signer: TestSigner) -> AsyncIterator[Jwks]:
    async def keys(request: web.Request) -> web.Response:
        del request
        return web.json_response(signer.jwks)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", keys)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Jwks(f"http://127.0.0.1:{port}/.well-known/jwks.json")
    await runner.cleanup()


@pytest.fixture(scope="session")
def vc_service(fake_teams: FakeTeams) -> ServiceUnderTest:
    return ServiceUnderTest(
        name="chat",
        app_factory=create_app,
        settings_env={
            "CHAT_FANOUT": "local",
            "TEAMS_URL": fake_teams.url,
            "EVENTS_ENABLED": "false",
        },
    )


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


@dataclass
class Platform:
    """What a chat process reaches over HTTP: identity's JWKS and teams' internal route."""

    jwks: Jwks
    teams: FakeTeams


@pytest.fixture(scope="session")
def platform(jwks: Jwks, fake_teams: FakeTeams) -> Platform:
    return Platform(jwks, fake_teams)


async def start_server(database_url: str, platform: Platform, **env: str) -> ChatServer:
    port = free_port()
    full_env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "CHAT_DATABASE_URL": database_url,
        "JWKS_URL": platform.jwks.url,
        "TEAMS_URL": platform.teams.url,
        "EVENTS_ENABLED": "false",
        "LOG_LEVEL": os.environ.get("CHAT_TEST_LOG_LEVEL", "WARNING"),
        "NATS_URL": NATS_URL,
        "CHAT_GAP_WAIT": "0.2",
    }
    full_env.pop("REDIS_URL", None)
    full_env.update(env)
    proc = await start_uvicorn("chat.app:create_app", port, full_env, ready_path="/livez")
    return ChatServer(port, proc)


async def stop_server(server: ChatServer) -> None:
    await stop_process(server.proc)


@pytest_asyncio.fixture(scope="session")
async def server(database_url: str, platform: Platform) -> AsyncIterator[ChatServer]:
    """One replica, in-process fan-out and presence."""
    s = await start_server(database_url, platform, CHAT_FANOUT="local")
    yield s
    await stop_server(s)


@pytest_asyncio.fixture(scope="session")
async def nats_replicas(
    database_url: str, platform: Platform
) -> AsyncIterator[tuple[ChatServer, ChatServer]]:
    """Two replicas on one database, fan-out over NATS core, presence in Redis."""
    a = await start_server(database_url, platform, CHAT_FANOUT="nats", REDIS_URL=REDIS_URL)
    b = await start_server(database_url, platform, CHAT_FANOUT="nats", REDIS_URL=REDIS_URL)
    yield a, b
    await stop_server(a)
    await stop_server(b)


@pytest_asyncio.fixture(scope="session")
async def redis_replicas(
    database_url: str, platform: Platform
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
    return await next_frame(ws, kind=kind, within=within)


async def no_frame(ws: Any, kind: str | tuple[str, ...] = "message", wait: float = 0.5) -> None:
    await sockets.no_frame(ws, kind=kind, wait=wait)
