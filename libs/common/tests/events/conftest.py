"""Fixtures for the event backbone tests: a scratch database and both real brokers."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from vc_common.db import Database
from vc_common.testing.plugin import create_database, drop_database
from vc_events_kit import BROKERS, Buses, metadata


@pytest_asyncio.fixture(scope="session")
async def db() -> AsyncIterator[Database]:
    name = f"test_events_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    url = await create_database(name)
    database = Database(url, pool_size=10, max_overflow=20)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()
        await drop_database(name)


@pytest_asyncio.fixture
async def clean_db(db: Database) -> Database:
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, inbox, effects RESTART IDENTITY"))
    return db


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ctx() -> str:
    """A unique event context per test, so streams, subjects and queues never collide."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture
async def buses(broker: str, ctx: str) -> AsyncIterator[Buses]:
    b = Buses(BROKERS[broker], ctx)
    try:
        yield b
    finally:
        await b.cleanup()
