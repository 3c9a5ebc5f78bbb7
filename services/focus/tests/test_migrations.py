"""Every migration goes up and down, and head matches the models (no drift)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from focus.models import Base
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from vc_common.testing.plugin import alembic, alembic_config, create_database, drop_database

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def _drift(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()


async def test_migrations_up_and_down() -> None:
    name = f"test_focus_migrations_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = await create_database(name)
    try:
        script = ScriptDirectory.from_config(alembic_config(ALEMBIC_INI, url))
        revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
        assert revisions, "no migrations"
        for rev in revisions:  # one step at a time, each undone and redone
            await alembic(ALEMBIC_INI, url, "upgrade", rev)
            await alembic(ALEMBIC_INI, url, "downgrade", "-1")
            await alembic(ALEMBIC_INI, url, "upgrade", rev)
        assert set(Base.metadata.tables) <= await _tables(url)
        assert await _drift(url) == []
        await alembic(ALEMBIC_INI, url, "downgrade", "base")
        assert await _tables(url) == {"alembic_version"}
        await alembic(ALEMBIC_INI, url, "upgrade", "head")
        assert await _drift(url) == []
    finally:
        await drop_database(name)
