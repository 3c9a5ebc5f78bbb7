"""The migration check every service runs: each revision up and down, one step at a time, on a
fresh database; at head the schema matches the models exactly (Alembic's compare_metadata), at
base nothing is left but ``alembic_version``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vc_common.testing.plugin import alembic, create_database, drop_database


def revisions(alembic_ini: Path) -> list[str]:
    """The revisions from base to head, in order (a linear history is required)."""
    cfg = Config(str(alembic_ini))
    cfg.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    assert len(heads) == 1, f"{alembic_ini}: several heads {heads}; merge them"
    return [r.revision for r in reversed(list(script.walk_revisions("base", heads[0])))]


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
    alembic_ini: Path,
    metadata: MetaData,
    *,
    extra_indexes: frozenset[str] = frozenset(),
) -> None:
    name = f"test_{service}_migrations_{os.getpid()}"
    url = await create_database(name)
    engine = create_async_engine(url)
    try:
        steps = revisions(alembic_ini)
        for rev in steps:  # every revision up, one at a time
            await alembic(alembic_ini, url, "upgrade", rev)
        assert await _diff(engine, metadata, extra_indexes) == [], "migrations differ from models"
        assert set(metadata.tables) <= await _tables(engine)
        for _ in steps:  # and every one down again
            await alembic(alembic_ini, url, "downgrade", "-1")
        assert await _tables(engine) <= {"alembic_version"}, "downgrade to base left tables"
        await alembic(alembic_ini, url, "upgrade", "head")
        assert await _diff(engine, metadata, extra_indexes) == []
    finally:
        await engine.dispose()
        await drop_database(name)
