from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


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
