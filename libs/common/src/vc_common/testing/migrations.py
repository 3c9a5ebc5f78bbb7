"""The migration check every service runs: each revision up and down, one step at a time, on a
fresh database; at head the schema matches the models exactly (Alembic's compare_metadata), at
base nothing is left but ``alembic_version``."""

from __future__ import annotations

import os
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vc_common.migrations import migrate, revisions
from vc_common.testing.plugin import create_database, drop_database


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return set(names)


async def _diff(
    engine: AsyncEngine, metadata: MetaData, extra_indexes: frozenset[str] = frozenset()
) -> list[Any]:
    async with engine.connect() as conn:
        diff: list[Any] = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata
            )
        )
    # indexes a migration creates only where the server can (an extension's), not in the models
    return [d for d in diff if not (d[0] == "remove_index" and d[1].name in extra_indexes)]


async def check_migrations(
    service: str,
    metadata: MetaData,
    *,
    extra_indexes: frozenset[str] = frozenset(),
) -> None:
    name = f"test_{service}_migrations_{os.getpid()}"
    url = await create_database(name)
    engine = create_async_engine(url)
    try:
        steps = revisions(service)
        for rev in steps:  # every revision up, one at a time
            await migrate(service, url, "upgrade", rev)
        assert await _diff(engine, metadata, extra_indexes) == [], "migrations differ from models"
        assert set(metadata.tables) <= await _tables(engine)
        for _ in steps:  # and every one down again
            await migrate(service, url, "downgrade", "-1")
        assert await _tables(engine) <= {"alembic_version"}, "downgrade to base left tables"
        await migrate(service, url, "upgrade", "head")
        assert await _diff(engine, metadata, extra_indexes) == []
    finally:
        await engine.dispose()
        await drop_database(name)
