"""Migrations: up to head matches the models exactly, down to base drops everything, up again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from teams.models import Base
from vc_common.testing.plugin import alembic, create_database, drop_database

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"


async def test_migrations_up_down_up() -> None:
    name = f"test_teams_migrations_{os.getpid()}"
    url = await create_database(name)
    engine = create_async_engine(url)
    try:
        await alembic(ALEMBIC_INI, url, "upgrade", "head")
        async with engine.connect() as conn:
            diff: list[Any] = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
            assert diff == []
        await alembic(ALEMBIC_INI, url, "downgrade", "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert set(tables) <= {"alembic_version"}
        await alembic(ALEMBIC_INI, url, "upgrade", "head")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert {
                "teams",
                "team_memberships",
                "known_users",
                "outbox",
                "inbox",
                "idempotency_keys",
            } <= set(tables)
    finally:
        await engine.dispose()
        await drop_database(name)
