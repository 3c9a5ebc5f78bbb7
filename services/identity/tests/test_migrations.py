from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from identity.models import Base
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from vc_common.testing.plugin import alembic, create_database, drop_database

INI = Path(__file__).resolve().parents[1] / "alembic.ini"


async def test_migrations_go_up_down_and_up_and_match_the_models() -> None:
    name = f"test_identity_migrations_{os.getpid()}"
    url = await create_database(name)
    engine = create_async_engine(url)
    try:
        await alembic(INI, url, "upgrade", "head")
        await alembic(INI, url, "downgrade", "base")
        async with engine.connect() as conn:
            tables = (
                (
                    await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                )
                .scalars()
                .all()
            )
        assert set(tables) <= {"alembic_version"}
        await alembic(INI, url, "upgrade", "head")
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()
        await drop_database(name)
