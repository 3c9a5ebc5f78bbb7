"""Realtime tests: the ASGI app for rules and state, real uvicorn replicas for sockets.

The socket tests run two replicas (two uvicorn processes on the test database) with the fan-out
on the machine's NATS (core subjects under a prefix of this session), and make the test process
the stream's leader: ``leader`` is the in-process ``live_app`` with the same fan-out, its
consumer handed events directly (``stream``), as the bus would hand them; ``pump`` then plays
the relay for what the service itself put in its outbox (presence changes). Identity and teams
are :class:`FakePlatform`, a real HTTP server (the JWKS of the test signer, teams' internal
membership route and the caller's teams).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from realtime.app import create_app
from sqlalchemy import select, update
from vc_common.events.envelope import CloudEvent
from vc_common.ports import free_port
from vc_common.testing import sockets
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import ServiceUnderTest, TestUser, make_event
from vc_common.testing.servers import start_uvicorn, stop_process
from vc_common.testing.sockets import close_code as close_code
from vc_common.testing.sockets import next_frame

NATS_URL = os.environ.get("NATS_URL") or (
    os.environ.get("EVENT_BUS_URL", "nats://127.0.0.1:4222")
    if os.environ.get("EVENT_BUS_URL", "nats://").startswith("nats://")
    else "nats://127.0.0.1:4222"
)
PREFIX = f"fanout.realtime.test{uuid.uuid4().hex[:8]}"


@dataclass
class FakePlatform:
    """JWKS (identity); teams' internal membership route and ``GET /api/v1/teams``."""

    signer: TestSigner
    members: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)
    seqs: dict[uuid.UUID, int] = field(default_factory=dict)
    url: str = ""

    def add(self, team_id: uuid.UUID, user: TestUser, role: str = "member") -> int:
        self.members[(team_id, user.id)] = role
        self.seqs[team_id] = self.seqs.get(team_id, 0) + 1
        return self.seqs[team_id]

    def remove(self, team_id: uuid.UUID, user: TestUser) -> int:
        self.members.pop((team_id, user.id), None)
        self.seqs[team_id] = self.seqs.get(team_id, 0) + 1
        return self.seqs[team_id]

    def app(self) -> web.Application:
        async def jwks(request: web.Request) -> web.Response:
            del request
            return web.json_response(self.signer.jwks)

        def caller(request: web.Request) -> uuid.UUID | None:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            import jwt

            try:
                return uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])
            except Exception:
                return None

        async def member(request: web.Request) -> web.Response:
            team_id = uuid.UUID(request.match_info["team_id"])
            user_id = uuid.UUID(request.match_info["user_id"])
            role = self.members.get((team_id, user_id))
            if role is None or caller(request) is None:
                return web.json_response({"status": 404}, status=404)
            return web.json_response(
                {
                    "team_id": str(team_id),
                    "user_id": str(user_id),
                    "role": role,
                    "seq": self.seqs[team_id],
                }
            )

        async def my_teams(request: web.Request) -> web.Response:
            me = caller(request)
            if me is None:
                return web.json_response({"status": 401}, status=401)
            items = [{"id": str(t), "my_role": r} for (t, u), r in self.members.items() if u == me]
            return web.json_response({"items": items, "next_cursor": None})

        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", jwks)
        app.router.add_get("/internal/v1/teams/{team_id}/members/{user_id}", member)
        app.router.add_get("/api/v1/teams", my_teams)
        return app


@pytest_asyncio.fixture(scope="session")
async def platform(signer: TestSigner) -> AsyncIterator[FakePlatform]:
    fake = FakePlatform(signer)
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


SETTINGS_ENV = {
    "EVENTS_ENABLED": "false",
    "REALTIME_FANOUT": "nats",
    "NATS_URL": NATS_URL,
    "REALTIME_FANOUT_PREFIX": PREFIX,
    "REALTIME_OFFLINE_GRACE": "0",
}


@pytest.fixture(scope="session")
def vc_service(platform: FakePlatform) -> ServiceUnderTest:
    return ServiceUnderTest(
        name="realtime",
        app_factory=create_app,
        settings_env={**SETTINGS_ENV, "TEAMS_URL": platform.url},
    )


@dataclass
class Team:
    id: uuid.UUID
    owner: TestUser
    member: TestUser
    other: TestUser
    outsider: TestUser

    @property
    def members(self) -> list[TestUser]:
        return [self.owner, self.member, self.other]


@pytest.fixture
def make_team(platform: FakePlatform, make_user: Callable[..., TestUser]) -> Callable[..., Team]:
    def make(**users: TestUser) -> Team:
        t = Team(
            uuid.uuid4(),
            users.get("owner") or make_user(),
            users.get("member") or make_user(),
            users.get("other") or make_user(),
            users.get("outsider") or make_user(),
        )
        platform.add(t.id, t.owner, "owner")
        platform.add(t.id, t.member)
        platform.add(t.id, t.other)
        return t

    return make


@pytest.fixture
def team(make_team: Callable[..., Team]) -> Team:
    return make_team()


# ---- events as their producers write them -------------------------------------------------------


def task_moved(team_id: uuid.UUID, user: TestUser, **kw: Any) -> CloudEvent:
    task_id = uuid.uuid4()
    return CloudEvent(
        source="tasks",
        type="tasks.task.moved",
        subject=str(task_id),
        data={
            "task_id": str(task_id),
            "team_id": str(team_id),
            "user_id": str(user.id),
            "board_id": str(uuid.uuid4()),
            "from_column_id": str(uuid.uuid4()),
            "to_column_id": str(uuid.uuid4()),
            "position": 0,
        },
        **kw,
    )


def member_event(
    type_: str, team_id: uuid.UUID, user: TestUser, seq: int, role: str = "member"
) -> CloudEvent:
    data: dict[str, Any] = {
        "team_id": str(team_id),
        "user_id": str(user.id),
        "actor_id": str(user.id),
        "member_id": str(user.id),
        "role": role,
        "seq": seq,
    }
    if type_.endswith("added"):
        data["joined_at"] = "2026-11-01T00:00:00.000000Z"
    else:
        data["reason"] = "removed"
    return make_event(type_, data, subject=team_id)


# ---- real replicas ------------------------------------------------------------------------------


@dataclass
class Replica:
    port: int
    proc: asyncio.subprocess.Process

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, token: str | None = None, **query: str) -> str:
        params = dict(query)
        if token is not None:
            params["token"] = token
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}/api/v1/ws" + (f"?{qs}" if qs else "")


async def start_replica(database_url: str, platform: FakePlatform, **env: str) -> Replica:
    port = free_port()
    full_env = {
        **os.environ,
        **SETTINGS_ENV,
        "ENVIRONMENT": "test",
        "REALTIME_DATABASE_URL": database_url,
        "JWKS_URL": f"{platform.url}/.well-known/jwks.json",
        "TEAMS_URL": platform.url,
        "LOG_LEVEL": os.environ.get("REALTIME_TEST_LOG_LEVEL", "WARNING"),
        **env,
    }
    full_env.pop("REDIS_URL", None)
    proc = await start_uvicorn(
        "realtime.app:create_app", port, full_env, ready_path="/readyz", poll=0.1
    )
    return Replica(port, proc)


async def stop_replica(replica: Replica) -> None:
    await stop_process(replica.proc, grace=15)


@pytest_asyncio.fixture(scope="session")
async def replicas(
    database_url: str, platform: FakePlatform
) -> AsyncIterator[tuple[Replica, Replica]]:
    a = await start_replica(database_url, platform)
    b = await start_replica(database_url, platform)
    yield a, b
    await stop_replica(a)
    await stop_replica(b)


Stream = Callable[..., Awaitable[None]]


@pytest.fixture
def stream(live_app: Any) -> Stream:
    """``await stream(event, ...)``: the leader's consumer applies the events (inbox, state,
    stream log) and, after the commit, the replicas receive them over the fan-out."""
    consumer = live_app.state.consumers[0]

    async def send(*events: CloudEvent) -> None:
        for e in events:
            await consumer.handle(live_app.state.db, e)

    return send


@pytest.fixture
def pump(live_app: Any, stream: Stream) -> Callable[[], Awaitable[int]]:
    """Play the relay and the bus for the service's own outbox: its unsent events (presence
    changes) go to the consumer, in order. How many."""
    table = live_app.state.event_tables.outbox

    async def run() -> int:
        async with live_app.state.db.unit_of_work() as session:
            rows = (
                await session.execute(
                    select(table.c.seq, table.c.payload)
                    .where(table.c.sent_at.is_(None))
                    .order_by(table.c.seq)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_([r[0] for r in rows]))
                    .values(sent_at=table.c.created_at)
                )
        for _, payload in rows:
            await stream(CloudEvent.model_validate(payload))
        return len(rows)

    return run


# ---- reading sockets ----------------------------------------------------------------------------


async def recv(
    ws: Any, *, kind: str | tuple[str, ...] = "event", within: float = 5.0
) -> dict[str, Any]:
    """The next frame of ``kind`` (other frames are skipped)."""
    return await next_frame(ws, kind=kind, within=within)


async def events_of(ws: Any, n: int, within: float = 5.0) -> list[str]:
    """The ids of the next ``n`` event frames."""
    return [(await recv(ws, within=within))["event"]["id"] for _ in range(n)]


async def no_frame(ws: Any, kind: str | tuple[str, ...] = "event", wait: float = 0.5) -> None:
    await sockets.no_frame(ws, kind=kind, wait=wait)
