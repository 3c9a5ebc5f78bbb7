"""The live socket on two real replicas: who receives what, exactly once, in order; resume;
authentication; bad input that affects no other socket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from vc_common.events.envelope import CloudEvent
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import TestUser
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .conftest import (
    FakePlatform,
    Replica,
    Stream,
    Team,
    close_code,
    events_of,
    member_event,
    no_frame,
    recv,
    task_moved,
)

pytestmark = pytest.mark.usefixtures("live_app")


async def _ready(ws: Any) -> dict[str, Any]:
    return await recv(ws, kind="ready", within=10)


async def test_token_in_the_url_or_in_the_first_frame(
    replicas: tuple[Replica, Replica], team: Team
) -> None:
    a, b = replicas
    async with connect(a.ws(team.member.token)) as ws:
        ready = await _ready(ws)
        assert ready["user_id"] == str(team.member.id)
        assert str(team.id) in ready["teams"]
    async with connect(b.ws()) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": team.other.token}).decode())
        assert (await _ready(ws))["user_id"] == str(team.other.id)


async def test_bad_tokens_are_refused(
    replicas: tuple[Replica, Replica], team: Team, signer: TestSigner
) -> None:
    a, _ = replicas
    with pytest.raises(InvalidStatus) as refused:
        async with connect(a.ws("not.a.token")):
            pass
    assert refused.value.response.status_code == 401
    async with connect(a.ws()) as ws:  # the first frame is not an auth frame
        await ws.send('{"type":"ping"}')
        assert await close_code(ws) == 4401
    async with connect(a.ws()) as ws:  # an auth frame with a bad token
        await ws.send('{"type":"auth","token":"nope"}')
        assert await close_code(ws) == 4401
    expired = signer.token(team.member.id, ttl=-60)
    async with connect(a.ws()) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": expired}).decode())
        assert await close_code(ws) == 4401


async def test_every_member_socket_on_either_replica_gets_each_event_once(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream
) -> None:
    a, b = replicas
    async with (
        connect(a.ws(team.member.token)) as m_a,
        connect(b.ws(team.member.token)) as m_b,  # the same user on the other replica too
        connect(b.ws(team.other.token)) as o_b,
        connect(a.ws(team.outsider.token)) as outsider,
    ):
        for ws in (m_a, m_b, o_b, outsider):
            await _ready(ws)
        moves = [task_moved(team.id, team.owner) for _ in range(5)]
        message = CloudEvent(
            source="chat",
            type="chat.message.posted",
            subject=str(uuid.uuid4()),
            data={"team_id": str(team.id), "user_id": str(team.owner.id), "room_id": "r"},
        )
        await stream(*moves[:3], message, *moves[3:])
        order = [str(e.id) for e in (*moves[:3], message, *moves[3:])]
        for ws in (m_a, m_b, o_b):
            assert await events_of(ws, 6) == order
            await no_frame(ws, wait=0.3)  # and nothing twice
        await no_frame(outsider)


async def test_the_frame_is_the_cloudevent_without_internal_fields(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream
) -> None:
    a, _ = replicas
    async with connect(a.ws(team.member.token)) as ws:
        await _ready(ws)
        move = task_moved(
            team.id, team.owner, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"
        )
        await stream(move)
        frame = await recv(ws)
        assert frame["event"]["id"] == str(move.id)
        assert frame["event"]["data"]["team_id"] == str(team.id)
        assert set(frame["event"]) == {
            "specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"
        }  # fmt: skip


async def test_a_notification_reaches_its_recipient_only(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream
) -> None:
    a, b = replicas
    async with connect(a.ws(team.member.token)) as mine, connect(b.ws(team.other.token)) as other:
        await _ready(mine)
        await _ready(other)
        note = CloudEvent(
            source="notifications",
            type="notifications.notification.delivered",
            subject=str(uuid.uuid4()),
            data={
                "notification_id": str(uuid.uuid4()),
                "recipient_id": str(team.member.id),
                "team_id": str(team.id),
                "kind": "task.assigned",
                "title": "A task for you",
            },
        )
        await stream(note)
        assert await events_of(mine, 1) == [str(note.id)]
        await no_frame(other)


async def test_a_removed_member_stops_receiving_at_the_removal(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream, platform: FakePlatform
) -> None:
    a, b = replicas
    async with connect(a.ws(team.member.token)) as gone, connect(b.ws(team.other.token)) as stays:
        await _ready(gone)
        await _ready(stays)
        before = task_moved(team.id, team.owner)
        removed = member_event(
            "teams.member.removed", team.id, team.member, platform.remove(team.id, team.member)
        )
        after = task_moved(team.id, team.owner)
        await stream(before, removed, after)
        assert await events_of(gone, 2) == [str(before.id), str(removed.id)]
        await no_frame(gone)
        assert await events_of(stays, 3) == [str(before.id), str(removed.id), str(after.id)]


async def test_an_added_member_receives_from_the_addition_on(
    replicas: tuple[Replica, Replica],
    make_team: Callable[..., Team],
    make_user: Callable[..., TestUser],
    stream: Stream,
    platform: FakePlatform,
) -> None:
    a, _ = replicas
    newcomer = make_user()
    team = make_team()
    other = make_team(member=newcomer)  # a team of theirs, so the socket has a team
    async with connect(a.ws(newcomer.token)) as ws:
        assert str(team.id) not in (await _ready(ws))["teams"]
        first = task_moved(team.id, team.owner)
        added = member_event(
            "teams.member.added", team.id, newcomer, platform.add(team.id, newcomer)
        )
        then = task_moved(team.id, team.owner)
        await stream(first, added, then)
        assert await events_of(ws, 2) == [str(added.id), str(then.id)]
    del other


async def test_resume_after_a_disconnect_loses_and_repeats_nothing(
    replicas: tuple[Replica, Replica], team: Team, make_team: Callable[..., Team], stream: Stream
) -> None:
    a, b = replicas
    elsewhere = make_team()
    seen = task_moved(team.id, team.owner)
    async with connect(a.ws(team.member.token)) as ws:
        await _ready(ws)
        await stream(seen)
        assert await events_of(ws, 1) == [str(seen.id)]
    missed = [task_moved(team.id, team.owner) for _ in range(4)]
    await stream(missed[0], task_moved(elsewhere.id, elsewhere.owner), *missed[1:])
    async with connect(b.ws(team.member.token, after=str(seen.id))) as ws:
        await _ready(ws)
        assert await events_of(ws, 4) == [str(e.id) for e in missed]
        resumed = await recv(ws, kind="resumed")
        assert resumed["replayed"] == 4
        live = task_moved(team.id, team.owner)
        await stream(live)
        assert await events_of(ws, 1) == [str(live.id)]
        # a resume frame for what the socket already has sends nothing twice
        await ws.send(orjson.dumps({"type": "resume", "after": str(missed[-1].id)}).decode())
        assert (await recv(ws, kind="resumed"))["replayed"] == 0
        await no_frame(ws)


async def test_resume_with_a_frame_while_events_keep_coming(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream
) -> None:
    a, b = replicas
    seen = task_moved(team.id, team.owner)
    await stream(seen)
    missed = [task_moved(team.id, team.owner) for _ in range(3)]
    await stream(*missed)
    async with connect(b.ws(team.other.token)) as ws:
        await _ready(ws)
        more = [task_moved(team.id, team.owner) for _ in range(3)]
        await asyncio.gather(
            ws.send(orjson.dumps({"type": "resume", "after": str(seen.id)}).decode()),
            stream(*more),
        )
        got = await events_of(ws, 6)
        assert sorted(got) == sorted(str(e.id) for e in (*missed, *more))
        assert len(set(got)) == 6
        await no_frame(ws)
    del a


async def test_resume_after_an_unknown_or_too_old_event_says_reload(
    replicas: tuple[Replica, Replica], team: Team
) -> None:
    a, _ = replicas
    old_ms = int((datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1000)
    too_old = uuid.UUID(int=(old_ms << 80) | (0x7 << 76) | (0x2 << 62) | 12345)
    async with connect(a.ws(team.member.token)) as ws:
        await _ready(ws)
        await ws.send(orjson.dumps({"type": "resume", "after": str(uuid.uuid4())}).decode())
        assert (await recv(ws, kind="reload"))["reason"] == "unknown_event"
        await ws.send(orjson.dumps({"type": "resume", "after": str(too_old)}).decode())
        assert (await recv(ws, kind="reload"))["reason"] == "too_old"
        await ws.send('{"type":"resume","after":"not-an-id"}')
        error = await recv(ws, kind="error")
        assert error["status"] == 422
        await ws.send('{"type":"ping"}')
        await recv(ws, kind="pong")  # still open


async def test_malformed_frames_and_a_flood_affect_no_other_socket(
    replicas: tuple[Replica, Replica], team: Team, stream: Stream
) -> None:
    a, _ = replicas
    async with connect(a.ws(team.member.token)) as flood, connect(a.ws(team.other.token)) as calm:
        await _ready(flood)
        await _ready(calm)
        await flood.send("{not json")
        assert (await recv(flood, kind="error"))["status"] == 400
        await flood.send('{"type":"dance"}')
        assert (await recv(flood, kind="error"))["status"] == 422
        for _ in range(300):
            await flood.send('{"type":"ping"}')
        assert await close_code(flood) == 4429
        move = task_moved(team.id, team.owner)
        await stream(move)
        assert await events_of(calm, 1) == [str(move.id)]


async def test_the_socket_closes_4401_when_its_token_expires_unless_refreshed(
    replicas: tuple[Replica, Replica], team: Team, signer: TestSigner
) -> None:
    a, _ = replicas
    short = signer.token(team.member.id, ttl=2)
    async with connect(a.ws(short)) as ws:
        await _ready(ws)
        assert await close_code(ws, within=8) == 4401
    async with connect(a.ws(signer.token(team.other.id, ttl=2))) as ws:
        await _ready(ws)
        await ws.send(orjson.dumps({"type": "auth", "token": team.other.token}).decode())
        assert (await recv(ws, kind="auth.ok"))["exp"] > 0
        await asyncio.sleep(3)
        await ws.send('{"type":"ping"}')
        await recv(ws, kind="pong")


async def test_a_frame_over_the_limit_closes_1009_even_as_the_first_frame(
    replicas: tuple[Replica, Replica], team: Team
) -> None:
    a, _ = replicas
    big = orjson.dumps({"type": "auth", "token": "x" * (1024 * 1024)}).decode()
    async with connect(a.ws(), max_size=None) as ws:  # no token in the URL: first-frame auth
        await ws.send(big)
        assert await close_code(ws) == 1009
    async with connect(a.ws(team.member.token), max_size=None) as ws:
        await _ready(ws)
        await ws.send(orjson.dumps({"type": "ping", "pad": "x" * 100_000}).decode())
        assert await close_code(ws) == 1009
