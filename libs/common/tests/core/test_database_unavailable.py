"""A database that is down or restarting is a 503 with ``Retry-After``, never a 500: the chaos
run (tests/chaos) saw every service answer 500 "internal-error" with a logged traceback for the
seconds PostgreSQL took to come back."""

from __future__ import annotations

import contextlib

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from vc_common.errors import PROBLEM_JSON, install_error_handlers
from vc_common.ports import free_port
from vc_common.redisclient import redis_client
from vc_common.settings import to_async_url
from vc_common.testing.plugin import server_url

FULL_ROLE = "vc_test_no_connection_left"


async def _role_without_connections() -> None:
    conn = await asyncpg.connect(server_url().replace("postgresql+asyncpg://", "postgresql://"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", FULL_ROLE)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateObjectError):  # made by a parallel run
                await conn.execute(f"CREATE ROLE {FULL_ROLE} LOGIN CONNECTION LIMIT 0")
    finally:
        await conn.close()


async def _select_one(url: str | URL) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def app_with(port: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/down")
    async def down() -> None:
        # nothing listens there: what a service sees while PostgreSQL is dead
        await _select_one(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x")

    @app.get("/starting")
    async def starting() -> None:
        try:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        except asyncpg.PostgresError as exc:
            raise RuntimeError("while loading the board") from exc

    @app.get("/full")
    async def full() -> None:
        # a role allowed no connection: the server answers as when every slot is taken (53300)
        await _select_one(make_url(to_async_url(server_url())).set(username=FULL_ROLE))

    @app.get("/no-redis")
    async def no_redis() -> None:
        client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        try:
            await client.get("k")
        finally:
            await client.aclose()

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a real bug")

    return app


async def test_a_database_that_cannot_be_reached_is_503_with_retry_after() -> None:
    await _role_without_connections()
    transport = httpx.ASGITransport(app=app_with(free_port()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/down", "/starting", "/full", "/no-redis"):
            r = await client.get(path)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["status"] == 503
        r = await client.get("/bug")  # anything else stays a 500
        assert r.status_code == 500
        assert "retry-after" not in r.headers
