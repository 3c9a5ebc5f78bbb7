from __future__ import annotations

import uuid

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from vc_common.testing.plugin import alembic, create_database, drop_database

from .conftest import ALEMBIC_INI


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def test_migrations_up_down_up() -> None:
    name = f"test_chat_migrations_{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    try:
        await alembic(ALEMBIC_INI, url, "upgrade", "head")
        assert {
            "rooms",
            "messages",
            "room_events",
            "outbox",
            "inbox",
            "idempotency_keys",
            "team_members",
            "deleted_teams",
        } <= await _tables(url)
        await alembic(ALEMBIC_INI, url, "downgrade", "base")
        assert await _tables(url) <= {"alembic_version"}
        await alembic(ALEMBIC_INI, url, "upgrade", "head")
        assert "messages" in await _tables(url)
    finally:
        await drop_database(name)
