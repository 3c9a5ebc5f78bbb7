"""The room socket against one real uvicorn process (in-process fan-out and presence)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
import pytest
from teams_client.testing import Team
from vc_common.testing.plugin import TestUser
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .conftest import ChatServer, close_code, create_room, no_frame, post, recv


@pytest.mark.parametrize("case", ["no token", "bad token", "outsider", "unknown room", "bad since"])
async def test_handshake_is_refused_before_accept(
    server: ChatServer, team: Team, case: str
) -> None:
    room = await create_room(server.http, team)
    url, status = {
        "no token": (server.ws(room, None), 401),
        "bad token": (server.ws(room, "not-a-jwt"), 401),
        "outsider": (server.ws(room, team.outsider.token), 404),
        "unknown room": (server.ws(uuid.uuid4(), team.member.token), 404),
        "bad since": (server.ws(room, team.member.token, since=str(uuid.uuid4())), 422),
    }[case]
    with pytest.raises(InvalidStatus) as err:
        async with connect(url):
            pass
    assert err.value.response.status_code == status
    assert orjson.loads(err.value.response.body)["status"] == status


async def test_messages_reach_every_socket_in_order(server: ChatServer, team: Team) -> None:
    room = await create_room(server.http, team)
    async with (
        connect(server.ws(room, team.member.token)) as a,
        connect(server.ws(room, team.admin.token)) as b,
    ):
        sent = [await post(server.http, room, team.owner, f"n{i}") for i in range(10)]
        for ws in (a, b):
            got = [await recv(ws) for _ in range(10)]
            assert [f["message"]["id"] for f in got] == [m["id"] for m in sent]
            assert got[0]["message"] == sent[0]
        # a client posts over the socket; everyone gets it, the sender also an ack
        await a.send(
            orjson.dumps({"type": "message", "content": "from ws", "client_id": "c1"}).decode()
        )
        # (the ack and the pushed message may come in either order)
        first = await recv(a, kind=("ack", "message"))
        second = await recv(a, kind=("ack", "message"))
        ack = first if first["type"] == "ack" else second
        pushed = second if ack is first else first
        assert ack["client_id"] == "c1"
        assert ack["message"]["content"] == "from ws"
        assert pushed["type"] == "message"
        assert pushed["message"] == ack["message"]
        assert (await recv(b))["message"] == ack["message"]
        # bad frames get an error frame, the socket stays open
        await a.send(orjson.dumps({"type": "message", "content": ""}).decode())
        assert (await recv(a, kind="error"))["status"] == 422
        await a.send("not json")
        assert (await recv(a, kind="error"))["status"] == 400
        await a.send('{"type": "message", "content": "a\\u0000b"}')  # PostgreSQL cannot store it
        assert (await recv(a, kind="error"))["status"] == 422
        await a.send(orjson.dumps({"type": "ping"}).decode())
        await recv(a, kind="pong")
    async with httpx.AsyncClient(base_url=server.http) as c:
        history = (
            await c.get(f"/api/v1/rooms/{room}/messages", headers=team.member.headers)
        ).json()["items"]
    assert history[0]["content"] == "from ws"


async def test_edits_and_deletes_are_pushed(server: ChatServer, team: Team) -> None:
    room = await create_room(server.http, team)
    async with connect(server.ws(room, team.admin.token)) as ws:
        m = await post(server.http, room, team.member, "draft")
        await recv(ws)
        async with httpx.AsyncClient(base_url=server.http) as c:
            r = await c.patch(
                f"/api/v1/messages/{m['id']}",
                json={"content": "final"},
                headers=team.member.headers,
            )
            assert r.status_code == 200
            edited = await recv(ws, kind="message.edited")
            assert edited["message"]["content"] == "final"
            assert edited["message"]["edited_at"]
            assert (
                await c.delete(f"/api/v1/messages/{m['id']}", headers=team.member.headers)
            ).status_code == 204
            deleted = await recv(ws, kind="message.deleted")
            assert deleted["message"]["id"] == m["id"]
            assert deleted["message"]["content"] == ""
            assert deleted["message"]["deleted_at"]


async def test_rate_limit_over_the_socket(server: ChatServer, team: Team) -> None:
    room = await create_room(server.http, team)
    async with connect(server.ws(room, team.member.token)) as ws:
        for i in range(20):
            await ws.send(orjson.dumps({"type": "message", "content": f"{i}"}).decode())
        await ws.send(
            orjson.dumps({"type": "message", "content": "one too many", "client_id": "x"}).decode()
        )
        err = await recv(ws, kind="error", within=10)
        assert err["status"] == 429
        assert err["retry_after"] >= 1
        assert err["client_id"] == "x"


async def test_resume_replays_missed_messages_without_gaps_or_duplicates(
    server: ChatServer, team: Team
) -> None:
    room = await create_room(server.http, team)
    first = await post(server.http, room, team.owner, "seen")
    missed = [await post(server.http, room, team.owner, f"missed {i}") for i in range(5)]
    async with connect(server.ws(room, team.member.token, since=first["id"])) as ws:
        # a message posted while the replay runs comes once, after the replayed ones
        live_task = asyncio.create_task(post(server.http, room, team.owner, "live"))
        got = [await recv(ws) for _ in range(6)]
        live = await live_task
        assert [f["message"]["id"] for f in got] == [m["id"] for m in missed] + [live["id"]]
        await no_frame(ws)
        # a resume frame asks again from any message: replayed in order, then live again
        await ws.send(orjson.dumps({"type": "resume", "since": missed[2]["id"]}).decode())
        again = [await recv(ws) for _ in range(3)]
        assert [f["message"]["id"] for f in again] == [missed[3]["id"], missed[4]["id"], live["id"]]
        later = await post(server.http, room, team.owner, "later")
        assert (await recv(ws))["message"]["id"] == later["id"]


async def test_presence_online_offline(server: ChatServer, team: Team) -> None:
    room = await create_room(server.http, team)
    other_room = await create_room(server.http, team)
    async with connect(server.ws(room, team.admin.token)) as watcher:
        own = await recv(watcher, kind="presence")  # the watcher's own arrival
        assert own["user_id"] == str(team.admin.id)
        assert own["status"] == "online"
        async with connect(server.ws(other_room, team.member.token)):
            frame = await recv(watcher, kind="presence")
            assert frame == {
                "type": "presence",
                "team_id": str(team.id),
                "user_id": str(team.member.id),
                "status": "online",
            }
            async with httpx.AsyncClient(base_url=server.http) as c:
                online = (
                    await c.get(f"/api/v1/teams/{team.id}/presence", headers=team.member.headers)
                ).json()["online"]
            assert {e["user_id"] for e in online} == {str(team.admin.id), str(team.member.id)}
            # a second socket of the same user changes nothing: no second "online"
            async with connect(server.ws(room, team.member.token)):
                await no_frame(watcher, kind="presence", wait=0.3)
            await no_frame(watcher, kind="presence", wait=0.3)
        frame = await recv(watcher, kind="presence")
        assert frame["user_id"] == str(team.member.id)
        assert frame["status"] == "offline"


async def test_deleting_the_room_closes_its_sockets(server: ChatServer, team: Team) -> None:
    room = await create_room(server.http, team)
    async with connect(server.ws(room, team.member.token)) as ws:
        async with httpx.AsyncClient(base_url=server.http) as c:
            assert (
                await c.delete(f"/api/v1/rooms/{room}", headers=team.admin.headers)
            ).status_code == 204
        assert await close_code(ws, 5) == 4404


async def test_rolled_back_message_is_never_pushed(
    server: ChatServer, team: Team, make_user: object
) -> None:
    """A post that fails after the change was written (here: the room's team no longer lets the
    author post) is rolled back and never reaches a socket."""
    room = await create_room(server.http, team)
    async with connect(server.ws(room, team.admin.token)) as ws:
        async with httpx.AsyncClient(base_url=server.http) as c:
            bad = await c.post(
                f"/api/v1/rooms/{room}/messages",
                json={"content": "x" * 4001},
                headers=team.member.headers,
            )
            assert bad.status_code == 422
            ok = await post(server.http, room, team.member, "ok")
        assert (await recv(ws))["message"]["id"] == ok["id"]
        await no_frame(ws, wait=0.3)
    del make_user


def _user(u: TestUser) -> str:
    return str(u.id)
