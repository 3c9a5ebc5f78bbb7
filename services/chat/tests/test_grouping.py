"""Group commit of a room's posts (``chat.messages.grouping``): concurrent posts to one room are
written several to a transaction, and each caller still gets its own message, its own seq, its
own event; a refused post fails nobody else; two processes posting into one room still give
dense seqs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from chat.messages.grouping import GroupCommit
from chat.models import Message
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from teams_client.testing import Team
from vc_common.errors import NotFound
from vc_common.events.contracts import validate_event
from vc_common.ids import uuid7
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import ServiceUnderTest, running

from .conftest import create_room


async def _room_log(engine: AsyncEngine, room: str) -> dict[str, Any]:
    """What the database holds of the room: its last seq, its messages' (seq, id, content) in
    seq order, its change log's seqs and its posted events' message ids in outbox order."""
    async with engine.connect() as c:
        last = (
            await c.execute(text("SELECT last_seq FROM rooms WHERE id = :r"), {"r": room})
        ).scalar_one()
        messages = (
            await c.execute(
                text("SELECT seq, id::text, content FROM messages WHERE room_id = :r ORDER BY seq"),
                {"r": room},
            )
        ).all()
        log = (
            await c.execute(
                text(
                    "SELECT seq, message_id::text FROM room_events WHERE room_id = :r ORDER BY seq"
                ),
                {"r": room},
            )
        ).all()
        events = (
            await c.execute(
                text(
                    "SELECT payload FROM outbox WHERE type = 'chat.message.posted'"
                    " AND subject = :r ORDER BY seq"
                ),
                {"r": room},
            )
        ).all()
    for (payload,) in events:
        validate_event(dict(payload))
    return {
        "last_seq": last,
        "messages": [tuple(m) for m in messages],
        "log": [tuple(r) for r in log],
        "events": [p["data"]["message_id"] for (p,) in events],
    }


def _posters(team: Team) -> list[Any]:
    return [team.owner, team.admin, team.member, team.other]


async def test_concurrent_posts_share_transactions_and_keep_their_own_answers(
    live_client: httpx.AsyncClient, live_app: Any, team: Team, db_engine: AsyncEngine
) -> None:
    room = await create_room(live_client, team)
    url = f"/api/v1/rooms/{room}/messages"
    users = _posters(team)
    n = 32
    posts: GroupCommit = live_app.state.posts
    before = posts.batches

    resps = await asyncio.gather(
        *(
            live_client.post(url, json={"content": f"c{i}"}, headers=users[i % 4].headers)
            for i in range(n)
        )
    )
    assert [r.status_code for r in resps] == [201] * n, [r.text for r in resps]
    bodies = [r.json() for r in resps]
    # each answer is its caller's own message
    for i, body in enumerate(bodies):
        assert body["content"] == f"c{i}"
        assert body["user_id"] == str(users[i % 4].id)
        assert body["room_id"] == room
        assert resps[i].headers["Location"] == f"/api/v1/messages/{body['id']}"
    assert len({b["id"] for b in bodies}) == n
    # several posts went into one transaction (one per post would be n batches)
    assert posts.batches - before < n

    db = await _room_log(db_engine, room)
    assert db["last_seq"] == n
    assert [m[0] for m in db["messages"]] == list(range(1, n + 1))  # dense, no duplicates
    assert {m[1] for m in db["messages"]} == {b["id"] for b in bodies}
    # the change log and the events follow the seqs, one each
    assert db["log"] == [(seq, mid) for seq, mid, _ in db["messages"]]
    assert db["events"] == [mid for _, mid, _ in db["messages"]]
    # history (newest first) is the reverse of the seq order
    items = (await live_client.get(f"{url}?limit=100", headers=team.member.headers)).json()
    assert [m["id"] for m in reversed(items["items"])] == [mid for _, mid, _ in db["messages"]]


async def test_a_refused_post_fails_nobody_else(
    live_client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    room = await create_room(live_client, team)
    url = f"/api/v1/rooms/{room}/messages"
    users = _posters(team)
    # valid posts mixed with a non-member's (404) and blank ones (422), all at once
    calls: list[tuple[str, dict[str, str], int]] = []
    for i in range(24):
        if i % 6 == 1:
            calls.append((f"x{i}", team.outsider.headers, 404))
        elif i % 6 == 4:
            calls.append(("   ", users[i % 4].headers, 422))
        else:
            calls.append((f"ok{i}", users[i % 4].headers, 201))
    resps = await asyncio.gather(
        *(live_client.post(url, json={"content": c}, headers=h) for c, h, _ in calls)
    )
    assert [r.status_code for r in resps] == [want for _, _, want in calls]
    posted = [r.json()["id"] for r in resps if r.status_code == 201]
    db = await _room_log(db_engine, room)
    assert db["last_seq"] == len(posted) == 16
    assert [m[0] for m in db["messages"]] == list(range(1, 17))
    assert {m[1] for m in db["messages"]} == set(posted)
    assert all(m[2].startswith("ok") for m in db["messages"])


async def test_idempotency_key_still_replays_and_mixes_with_batches(
    live_client: httpx.AsyncClient, team: Team, db_engine: AsyncEngine
) -> None:
    room = await create_room(live_client, team)
    url = f"/api/v1/rooms/{room}/messages"
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}", **team.member.headers}
    keyed = live_client.post(url, json={"content": "once"}, headers=key)
    others = [
        live_client.post(url, json={"content": f"o{i}"}, headers=team.admin.headers)
        for i in range(10)
    ]
    first, *rest = await asyncio.gather(keyed, *others)
    assert first.status_code == 201
    assert [r.status_code for r in rest] == [201] * 10
    again = await live_client.post(url, json={"content": "once"}, headers=key)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    db = await _room_log(db_engine, room)
    assert [m[0] for m in db["messages"]] == list(range(1, 12))
    assert [m[2] for m in db["messages"]].count("once") == 1


@pytest_asyncio.fixture
async def second_app(
    vc_service: ServiceUnderTest, service_env: dict[str, str], signer: TestSigner
) -> AsyncIterator[Any]:
    """Another chat process on the same database (its own pools, its own group commit)."""
    del service_env
    application = vc_service.create_app()
    async with running(application, None, signer):
        yield application


async def test_two_instances_posting_into_one_room_keep_dense_seqs(
    live_client: httpx.AsyncClient, second_app: Any, team: Team, db_engine: AsyncEngine
) -> None:
    room = await create_room(live_client, team)
    url = f"/api/v1/rooms/{room}/messages"
    users = _posters(team)
    transport = httpx.ASGITransport(app=second_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        clients = [live_client, other]
        resps = await asyncio.gather(
            *(
                clients[i % 2].post(url, json={"content": f"p{i}"}, headers=users[i % 4].headers)
                for i in range(40)
            )
        )
    assert [r.status_code for r in resps] == [201] * 40
    db = await _room_log(db_engine, room)
    assert db["last_seq"] == 40
    assert [m[0] for m in db["messages"]] == list(range(1, 41))
    assert {m[1] for m in db["messages"]} == {r.json()["id"] for r in resps}
    assert db["log"] == [(seq, mid) for seq, mid, _ in db["messages"]]
    assert db["events"] == [mid for _, mid, _ in db["messages"]]
    assert second_app.state.posts.posts >= 1  # both processes wrote some


def _message(room: uuid.UUID, team: Team, content: str, mid: uuid.UUID | None = None) -> Message:
    from datetime import UTC, datetime

    return Message(
        id=mid or uuid7(),
        room_id=room,
        team_id=team.id,
        user_id=team.member.id,
        content=content,
        timestamp=datetime.now(UTC),
        edited_at=None,
        deleted_at=None,
    )


async def test_a_failed_batch_fails_every_post_in_it(
    live_client: httpx.AsyncClient, live_app: Any, team: Team, db_engine: AsyncEngine
) -> None:
    room = uuid.UUID(await create_room(live_client, team))
    posts: GroupCommit = live_app.state.posts
    hub = live_app.state.hub
    # a first post holds the room's write in flight; the three queued behind it form one batch,
    # two of which carry the same id: that batch's transaction fails as a whole
    dup = uuid7()
    first = asyncio.ensure_future(posts.post(hub, _message(room, team, "first")))
    for _ in range(3):  # the first post queued, its write started (and waiting on the database)
        await asyncio.sleep(0)
    queued = [
        asyncio.ensure_future(posts.post(hub, _message(room, team, c, mid)))
        for c, mid in (("a", dup), ("b", None), ("c", dup))
    ]
    assert await first == 1
    results = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(r, IntegrityError) for r in results), results
    db = await _room_log(db_engine, str(room))
    assert db["last_seq"] == 1
    assert [m[2] for m in db["messages"]] == ["first"]
    assert len(db["events"]) == 1
    # the room goes on: the next post gets the next seq
    assert await posts.post(hub, _message(room, team, "after")) == 2
    db = await _room_log(db_engine, str(room))
    assert [(m[0], m[2]) for m in db["messages"]] == [(1, "first"), (2, "after")]
    assert db["events"] == [m[1] for m in db["messages"]]


async def test_posts_to_a_deleted_room_all_get_404(live_app: Any, team: Team) -> None:
    posts: GroupCommit = live_app.state.posts
    gone = uuid.uuid4()
    results = await asyncio.gather(
        *(posts.post(live_app.state.hub, _message(gone, team, f"m{i}")) for i in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, NotFound) for r in results), results


async def test_group_commit_off_writes_in_the_request(
    vc_service: ServiceUnderTest,
    service_env: dict[str, str],
    signer: TestSigner,
    team: Team,
    db_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    del service_env
    monkeypatch.setenv("CHAT_POST_BATCH", "0")
    application = vc_service.create_app()
    async with (
        running(application, None, signer),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as c,
    ):
        assert application.state.posts is None
        room = await create_room(c, team)
        resps = await asyncio.gather(
            *(
                c.post(
                    f"/api/v1/rooms/{room}/messages",
                    json={"content": f"m{i}"},
                    headers=team.member.headers,
                )
                for i in range(5)
            )
        )
        assert [r.status_code for r in resps] == [201] * 5
    db = await _room_log(db_engine, room)
    assert [m[0] for m in db["messages"]] == [1, 2, 3, 4, 5]
    assert db["events"] == [m[1] for m in db["messages"]]


async def test_each_caller_gets_its_own_seq_in_queue_order(
    live_client: httpx.AsyncClient, live_app: Any, team: Team, db_engine: AsyncEngine
) -> None:
    room = uuid.UUID(await create_room(live_client, team))
    posts: GroupCommit = live_app.state.posts
    messages = [_message(room, team, f"q{i}") for i in range(12)]
    seqs = await asyncio.gather(*(posts.post(live_app.state.hub, m) for m in messages))
    assert seqs == list(range(1, 13))  # in the order they queued
    assert [m.seq for m in messages] == seqs  # the answers (and their frames) carry it
    db = await _room_log(db_engine, str(room))
    assert [(seq, mid) for seq, mid, _ in db["messages"]] == [(m.seq, str(m.id)) for m in messages]
