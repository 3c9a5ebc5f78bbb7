"""Two chat replicas (two uvicorn processes, one database) behind no gateway: a socket on each."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from teams_client.testing import FakeTeams, Team
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .conftest import (
    NATS_URL,
    ChatServer,
    close_code,
    create_room,
    post,
    recv,
)


async def _history_ids(server: ChatServer, room: str, team: Team) -> list[str]:
    async with httpx.AsyncClient(base_url=server.http) as c:
        items = (
            await c.get(f"/api/v1/rooms/{room}/messages?limit=200", headers=team.member.headers)
        ).json()["items"]
    return [m["id"] for m in reversed(items)]


async def _every_message_everywhere(a: ChatServer, b: ChatServer, team: Team) -> None:
    room = await create_room(a.http, team)
    async with (
        connect(a.ws(room, team.member.token)) as on_a,
        connect(b.ws(room, team.admin.token)) as on_b,
    ):
        m1 = await post(a.http, room, team.owner, "posted on A")
        m2 = await post(b.http, room, team.owner, "posted on B")
        for ws in (on_a, on_b):
            assert [(await recv(ws))["message"]["id"] for _ in range(2)] == [m1["id"], m2["id"]]
        # concurrent posts on both replicas: every socket sees the one committed order
        posters = [
            post((a if i % 2 else b).http, room, u, f"c{i}")
            for i, u in enumerate([team.owner, team.admin, team.member] * 6)
        ]
        await asyncio.gather(*posters)
        order = (await _history_ids(a, room, team))[2:]
        for ws in (on_a, on_b):
            got = [(await recv(ws))["message"]["id"] for _ in range(len(order))]
            assert got == order


async def test_nats_fanout_reaches_both_replicas(
    nats_replicas: tuple[ChatServer, ChatServer], team: Team
) -> None:
    await _every_message_everywhere(*nats_replicas, team)


async def test_redis_fanout_reaches_both_replicas(
    redis_replicas: tuple[ChatServer, ChatServer], team: Team
) -> None:
    a, b = redis_replicas
    room = await create_room(a.http, team)
    async with (
        connect(a.ws(room, team.member.token)) as on_a,
        connect(b.ws(room, team.admin.token)) as on_b,
        _keepalive(on_a, on_b),
    ):
        m1 = await post(a.http, room, team.owner, "posted on A")
        m2 = await post(b.http, room, team.owner, "posted on B")
        for ws in (on_a, on_b):
            assert [(await recv(ws))["message"]["id"] for _ in range(2)] == [m1["id"], m2["id"]]


async def test_resume_on_the_other_replica(
    nats_replicas: tuple[ChatServer, ChatServer], team: Team
) -> None:
    a, b = nats_replicas
    room = await create_room(a.http, team)
    seen = await post(a.http, room, team.owner, "seen on A")
    missed = [await post(a.http, room, team.owner, f"missed {i}") for i in range(3)]
    async with connect(b.ws(room, team.member.token, since=seen["id"])) as ws:
        assert [(await recv(ws))["message"]["id"] for _ in range(3)] == [m["id"] for m in missed]
        live = await post(a.http, room, team.owner, "live")
        assert (await recv(ws))["message"]["id"] == live["id"]


@contextlib.asynccontextmanager
async def _keepalive(*sockets: ClientConnection) -> Any:
    async def ping() -> None:
        while True:
            for ws in sockets:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send('{"type":"ping"}')
            await asyncio.sleep(0.3)

    task = asyncio.create_task(ping())
    try:
        yield
    finally:
        task.cancel()


async def _presence_of(ws: ClientConnection, user_id: uuid.UUID, within: float = 8) -> str:
    while True:
        frame = await recv(ws, kind="presence", within=within)
        if frame["user_id"] == str(user_id):
            return str(frame["status"])


async def test_presence_across_replicas_and_heartbeat_timeout(
    redis_replicas: tuple[ChatServer, ChatServer], team: Team
) -> None:
    a, b = redis_replicas
    room = await create_room(a.http, team)
    async with connect(a.ws(room, team.admin.token)) as watcher, _keepalive(watcher):
        async with connect(b.ws(room, team.member.token)) as member, _keepalive(member):
            assert await _presence_of(watcher, team.member.id) == "online"
            async with httpx.AsyncClient(base_url=a.http) as c:
                online = (
                    await c.get(f"/api/v1/teams/{team.id}/presence", headers=team.admin.headers)
                ).json()["online"]
            assert str(team.member.id) in {e["user_id"] for e in online}
        assert await _presence_of(watcher, team.member.id) == "offline"

        # a client that stops sending heartbeats is closed (4408) and goes offline
        async with connect(b.ws(room, team.member.token)) as silent:
            assert await _presence_of(watcher, team.member.id) == "online"
            assert await close_code(silent, 10) == 4408
            assert await _presence_of(watcher, team.member.id) == "offline"


async def test_removed_member_is_disconnected_on_every_replica(
    nats_replicas: tuple[ChatServer, ChatServer],
    team: Team,
    fake_teams: FakeTeams,
    database_url: str,
) -> None:
    from chat.consumers import consumer
    from chat.presence.store import MemoryPresence
    from chat.realtime.hub import Hub
    from vc_common.db import Database
    from vc_common.events.envelope import CloudEvent
    from vc_common.sockets.fanout import NatsFanout

    a, b = nats_replicas
    room = await create_room(a.http, team)
    async with (
        connect(a.ws(room, team.member.token)) as on_a,
        connect(b.ws(room, team.member.token)) as on_b,
        connect(b.ws(room, team.admin.token)) as admin,
    ):
        # this test process plays the replica whose consumer receives the event
        async def nothing(*_: Any) -> Any:
            return None

        hub = Hub(NatsFanout(NATS_URL), MemoryPresence(), load=nothing, last_seq=nothing)
        await hub.fanout.start()
        db = Database(database_url)
        bound = consumer._context
        consumer.bind(SimpleNamespace(state=SimpleNamespace(hub=hub)))
        try:
            seq = fake_teams.remove(team.id, team.member.id)
            event = CloudEvent(
                source="teams",
                type="teams.member.removed",
                subject=str(team.id),
                data={
                    "team_id": str(team.id),
                    "user_id": str(team.admin.id),  # the actor; the member is member_id
                    "member_id": str(team.member.id),
                    "role": "member",
                    "seq": seq,
                    "actor_id": str(team.admin.id),
                },
            )
            assert await consumer.handle(db, event)
            for ws in (on_a, on_b):
                assert await close_code(ws, 5) == 4403
            # the admin's socket stays, and the former member cannot come back
            await admin.send(orjson.dumps({"type": "ping"}).decode())
            await recv(admin, kind="pong")
            with pytest.raises(Exception, match="404"):
                async with connect(a.ws(room, team.member.token)):
                    pass
        finally:
            consumer._context = bound
            await hub.fanout.close()
            await db.dispose()
