from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from vc_common.db import ReadOnlyViolation


async def _count(conn: AsyncConnection | AsyncEngine, name: str) -> int:
    if isinstance(conn, AsyncEngine):
        async with conn.connect() as c:
            return await _count(c, name)
    res = await conn.execute(text("SELECT count(*) FROM widgets WHERE name = :n"), {"n": name})
    return int(res.scalar_one())


async def test_success_is_committed_before_the_response(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    r = await live_client.post("/api/v1/widgets", json={"name": name})
    assert r.status_code == 201
    assert r.headers["location"] == f"/api/v1/widgets/{r.json()['id']}"
    assert await _count(db_engine, name) == 1


async def test_domain_error_after_a_write_rolls_back(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    r = await live_client.post("/api/v1/widgets/conflict", json={"name": name})
    assert r.status_code == 409
    assert await _count(db_engine, name) == 0


async def test_commit_refused_by_constraint_is_409(live_client: httpx.AsyncClient) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    assert (await live_client.post("/api/v1/widgets", json={"name": name})).status_code == 201
    r = await live_client.post("/api/v1/widgets", json={"name": name})
    # a unique violation at flush is a conflict with the current state, never a bare 500
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"


async def test_idempotency_key_replays_the_first_response(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    first = await live_client.post(
        "/api/v1/widgets", json={"name": name}, headers={"Idempotency-Key": key}
    )
    again = await live_client.post(
        "/api/v1/widgets", json={"name": name}, headers={"Idempotency-Key": key}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(db_engine, name) == 1


async def test_idempotency_key_with_another_body_is_refused(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    key = str(uuid.uuid4())
    a, b = f"w-{uuid.uuid4().hex[:8]}", f"w-{uuid.uuid4().hex[:8]}"
    assert (
        await live_client.post(
            "/api/v1/widgets", json={"name": a}, headers={"Idempotency-Key": key}
        )
    ).status_code == 201
    r = await live_client.post(
        "/api/v1/widgets", json={"name": b}, headers={"Idempotency-Key": key}
    )
    assert r.status_code == 422
    assert await _count(db_engine, b) == 0


async def test_concurrent_retries_create_one_row(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    results = await asyncio.gather(
        *[
            live_client.post(
                "/api/v1/widgets", json={"name": name}, headers={"Idempotency-Key": key}
            )
            for _ in range(5)
        ]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    ids = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(ids) == 1
    assert await _count(db_engine, name) == 1


async def test_error_answers_are_not_stored(live_client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    bad = await live_client.post(
        "/api/v1/widgets", json={"name": ""}, headers={"Idempotency-Key": key}
    )
    assert bad.status_code == 422
    good = await live_client.post(
        "/api/v1/widgets", json={"name": ""}, headers={"Idempotency-Key": key}
    )
    assert good.status_code == 422
    assert "idempotent-replayed" not in good.headers


async def test_expired_idempotency_keys_are_purged(
    app: Any, db_connection: AsyncConnection
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select
    from vc_common.uow import purge_idempotency_keys

    t = app.state.tables.idempotency_keys
    now = datetime.now(UTC)
    await db_connection.execute(
        insert(t),
        [
            {
                "principal": "anonymous",
                "key": "old",
                "fingerprint": "f",
                "created_at": now - timedelta(hours=25),
            },
            {"principal": "anonymous", "key": "fresh", "fingerprint": "f", "created_at": now},
        ],
    )
    async with app.state.db.unit_of_work() as session:
        assert await purge_idempotency_keys(session, app.state.tables) >= 1
    keys = {r[0] for r in await db_connection.execute(select(t.c.key))}
    assert "old" not in keys
    assert "fresh" in keys


async def test_an_answer_without_a_transaction_streams(app: Any) -> None:
    """The unit of work holds an answer back only to commit first; with nothing to commit the
    first bytes leave before the last ones exist (a download is never buffered whole)."""
    release = app.state.stream_release = asyncio.Event()
    sent: list[dict[str, Any]] = []
    first_body = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_body.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/widgets/stream",
        "raw_path": b"/api/v1/widgets/stream",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first_body.wait(), 5)
    bodies = [m.get("body") for m in sent if m["type"] == "http.response.body"]
    assert bodies == [b"first"]  # the second chunk does not exist yet
    release.set()
    await asyncio.wait_for(task, 5)
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"][-2:] == [
        b"second",
        b"",
    ]


async def test_idempotency_fingerprint_is_the_same_however_the_body_is_cut(
    live_app: Any, db_engine: AsyncEngine
) -> None:
    """The fingerprint is computed as the body passes (never buffered): the same body in other
    chunks is the same request, and a different one is still refused."""
    name = f"w-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    body = orjson.dumps({"name": name})

    async def post(chunks: list[bytes]) -> tuple[int, dict[bytes, bytes], bytes]:
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        out: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/widgets",
            "raw_path": b"/api/v1/widgets",
            "query_string": b"",
            "headers": [
                (b"host", b"test"),
                (b"content-type", b"application/json"),
                (b"content-length", str(sum(map(len, chunks))).encode()),
                (b"idempotency-key", key.encode()),
            ],
            "server": ("test", 80),
            "client": ("127.0.0.1", 1),
            "root_path": "",
        }
        await live_app(scope, receive, send)
        start = next(m for m in out if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        return start["status"], dict(start["headers"]), data

    first = await post([body])
    again = await post([body[:3], body[3:10], body[10:]])
    assert first[0] == again[0] == 201
    assert again[2] == first[2]
    assert again[1][b"idempotent-replayed"] == b"true"
    other = await post([body[:-2], b'x"}'])
    assert other[0] == 422
    assert await _count(db_engine, name) == 1


async def test_a_get_reads_without_a_transaction(live_client: httpx.AsyncClient) -> None:
    # each statement of a GET is a transaction of its own (no BEGIN/COMMIT round trips) ...
    assert (await live_client.get("/api/v1/clock")).json() == {"moves": True}
    # ... a GET that asks for one snapshot, and every POST, run in one transaction
    assert (await live_client.get("/api/v1/clock/snapshot")).json() == {"moves": False}
    assert (await live_client.post("/api/v1/clock")).json() == {"moves": False}


@pytest.mark.parametrize("route", ["sneaky", "sneaky-sql"])
async def test_a_get_that_writes_undeclared_fails_loudly(
    client: httpx.AsyncClient, live_client: httpx.AsyncClient, db_engine: AsyncEngine, route: str
) -> None:
    for c in (client, live_client):
        name = f"w-{uuid.uuid4().hex[:8]}"
        with pytest.raises(ReadOnlyViolation):
            await c.get(f"/api/v1/widgets/{route}", params={"name": name})
        assert await _count(db_engine, name) == 0


async def test_a_get_declared_as_writing_commits(
    live_client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    name = f"w-{uuid.uuid4().hex[:8]}"
    r = await live_client.get("/api/v1/widgets/declared", params={"name": name})
    assert r.status_code == 200
    assert await _count(db_engine, name) == 1
