"""A socket lives as long as its access token: expiry, refresh with an ``auth`` frame,
revocation. One real uvicorn process with short settings and revocations in Redis (the test
revokes tokens the way identity does, through the shared store)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import orjson
import pytest_asyncio
import redis.asyncio as aioredis
from teams_client.testing import FakeTeams, Team
from vc_common.auth import RedisRevocationStore
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import TestUser
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import (
    REDIS_URL,
    ChatServer,
    Platform,
    close_code,
    create_room,
    no_frame,
    post,
    recv,
    start_server,
    stop_server,
)

WARNING = 1.5  # CHAT_TOKEN_EXPIRY_WARNING of the server below
CHECK = 30.0  # CHAT_REVOCATION_CHECK_INTERVAL: revocations are pushed, the look-up a backstop


@pytest_asyncio.fixture(scope="module")
async def auth_server(database_url: str, platform: Platform) -> AsyncIterator[ChatServer]:
    s = await start_server(
        database_url,
        platform,
        CHAT_FANOUT="local",
        REDIS_URL=REDIS_URL,
        CHAT_TOKEN_EXPIRY_WARNING=str(WARNING),
        CHAT_REVOCATION_CHECK_INTERVAL=str(CHECK),
    )
    yield s
    await stop_server(s)


@pytest_asyncio.fixture
async def revocations() -> AsyncIterator[RedisRevocationStore]:
    client = aioredis.from_url(REDIS_URL)
    yield RedisRevocationStore(client)
    await client.aclose()


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def short_token(signer: TestSigner, user: TestUser, ttl: int) -> str:
    return signer.token(user.id, username=user.username, ttl=ttl)


def auth_frame(token: str) -> str:
    return orjson.dumps({"type": "auth", "token": token}).decode()


async def test_expiring_token_is_announced_then_closed_4401(
    auth_server: ChatServer, team: Team, signer: TestSigner
) -> None:
    room = await create_room(auth_server.http, team)
    # ttl long enough that a loaded machine still posts before the end (3 s flaked under load)
    token = short_token(signer, team.member, ttl=8)
    exp = int(claims(token)["exp"])
    async with connect(auth_server.ws(room, token)) as ws:
        warned = await recv(ws, kind="auth.expiring", within=10)
        assert warned == {"type": "auth.expiring", "exp": exp}
        assert time.time() < exp  # announced before the end, and the socket still works
        m = await post(auth_server.http, room, team.owner, "still here")
        assert (await recv(ws))["message"]["id"] == m["id"]
        assert await close_code(ws, 10) == 4401
        assert time.time() >= exp - 0.5  # not (much) before the token's exp
        assert ws.close_reason == "token expired"


async def test_fresh_token_keeps_the_socket_open(
    auth_server: ChatServer, team: Team, signer: TestSigner
) -> None:
    room = await create_room(auth_server.http, team)
    token = short_token(signer, team.member, ttl=3)
    old_exp = claims(token)["exp"]
    assert isinstance(old_exp, int)
    async with connect(auth_server.ws(room, token)) as ws:
        await recv(ws, kind="auth.expiring", within=5)
        fresh = short_token(signer, team.member, ttl=900)
        await ws.send(auth_frame(fresh))
        ok = await recv(ws, kind="auth.ok")
        assert ok == {"type": "auth.ok", "exp": claims(fresh)["exp"]}
        await asyncio.sleep(max(0.0, old_exp - time.time()) + 1.0)  # past the first token
        m = await post(auth_server.http, room, team.owner, "after the old token")
        assert (await recv(ws))["message"]["id"] == m["id"]
        # and it posts as the same user, on the new token
        await ws.send(orjson.dumps({"type": "message", "content": "me again"}).decode())
        ack = await recv(ws, kind="ack")
        assert ack["message"]["user_id"] == str(team.member.id)
        await no_frame(ws, kind="auth.expiring", wait=0.3)


async def test_invalid_fresh_token_is_an_error_frame(
    auth_server: ChatServer, team: Team, signer: TestSigner
) -> None:
    room = await create_room(auth_server.http, team)
    async with connect(auth_server.ws(room, team.member.token)) as ws:
        await ws.send(auth_frame("not-a-jwt"))
        assert (await recv(ws, kind="error"))["status"] == 401
        await ws.send(orjson.dumps({"type": "auth"}).decode())
        assert (await recv(ws, kind="error"))["status"] == 422
        expired = short_token(signer, team.member, ttl=-60)
        await ws.send(auth_frame(expired))
        assert (await recv(ws, kind="error"))["status"] == 401
        # the socket keeps its current token
        await ws.send(orjson.dumps({"type": "ping"}).decode())
        await recv(ws, kind="pong")


async def test_token_of_another_user_closes_4403(
    auth_server: ChatServer, team: Team, signer: TestSigner
) -> None:
    room = await create_room(auth_server.http, team)
    async with connect(auth_server.ws(room, team.member.token)) as ws:
        await ws.send(auth_frame(short_token(signer, team.admin, ttl=900)))
        assert await close_code(ws, 5) == 4403


async def test_revoked_token_closes_4401(
    auth_server: ChatServer, team: Team, revocations: RedisRevocationStore
) -> None:
    room = await create_room(auth_server.http, team)
    async with connect(auth_server.ws(room, team.member.token)) as ws:
        await recv(ws, kind="presence")
        c = claims(team.member.token)
        await revocations.revoke_token(str(c["jti"]), int(str(c["exp"])))  # logout
        started = time.monotonic()
        assert await close_code(ws, 10) == 4401  # unprompted, pushed through Redis
        assert time.monotonic() - started <= 3  # not the 30 s look-up
        assert ws.close_reason == "token revoked"


async def test_revoked_user_cannot_post_another_frame(
    auth_server: ChatServer,
    team: Team,
    make_user: Callable[..., TestUser],
    fake_teams: FakeTeams,
    revocations: RedisRevocationStore,
) -> None:
    """Deactivation / password change revokes every token of the user issued before: the socket
    is closed (pushed), and a frame that races the push is refused (checked before it is
    handled)."""
    user = make_user()
    fake_teams.add(team.id, user.id)
    room = await create_room(auth_server.http, team)
    async with (
        connect(auth_server.ws(room, user.token)) as ws,
        connect(auth_server.ws(room, team.admin.token)) as watcher,
    ):
        await recv(ws, kind="presence")
        await revocations.revoke_user(user.id, int(time.time()) + 1)
        content = f"after revocation {uuid.uuid4()}"
        with contextlib.suppress(ConnectionClosed):  # already closed by the pushed revocation
            await ws.send(orjson.dumps({"type": "message", "content": content}).decode())
        assert await close_code(ws, 5) == 4401
        await no_frame(watcher, kind="message", wait=0.5)
    async with httpx.AsyncClient(base_url=auth_server.http) as c:
        items = (await c.get(f"/api/v1/rooms/{room}/messages", headers=team.admin.headers)).json()[
            "items"
        ]
    assert content not in [m["content"] for m in items]


async def test_a_frame_over_the_limit_closes_the_socket_1009_and_posts_nothing(
    auth_server: ChatServer, team: Team
) -> None:
    room = await create_room(auth_server.http, team)
    big = orjson.dumps({"type": "message", "content": "x" * (8 * 1024 * 1024)}).decode()
    async with connect(auth_server.ws(room, team.member.token), max_size=None) as ws:
        await ws.send(big)
        assert await close_code(ws, 10) == 1009
    async with httpx.AsyncClient() as http:
        resp = await http.get(
            f"{auth_server.http}/api/v1/rooms/{room}/messages",
            headers={"Authorization": f"Bearer {team.member.token}"},
        )
    assert resp.status_code == 200, resp.text
    assert resp.json()["items"] == []
