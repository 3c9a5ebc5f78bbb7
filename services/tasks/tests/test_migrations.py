"""Every migration goes up and down cleanly, and head matches the models."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from vc_common.migrations import migrate
from vc_common.testing.plugin import create_database, drop_database


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


async def scalar(url: str, sql: str) -> object:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        value = (await conn.execute(text(sql))).scalar()
    await engine.dispose()
    return value


async def test_upgrade_downgrade_upgrade() -> None:
    name = f"test_tasks_migrations_{os.getpid()}"
    url = await create_database(name)
    try:
        await migrate("tasks", url, "upgrade", "head")
        up = await tables(url)
        assert {
            "boards",
            "board_columns",
            "tasks",
            "subtasks",
            "task_comments",
            "task_attachments",
            "labels",
            "task_labels",
            "task_activity",
            "outbox",
            "inbox",
            "idempotency_keys",
            "team_members",
            "deleted_teams",
        } <= up
        if await scalar(url, "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"):
            assert await scalar(
                url, "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_tasks_search_trgm'"
            )
        await migrate("tasks", url, "downgrade", "base")
        assert await tables(url) == {"alembic_version"}
        await migrate("tasks", url, "upgrade", "head")
        assert await tables(url) == up
    finally:
        await drop_database(name)


async def test_every_migration_up_and_down_and_head_matches_the_models() -> None:
    from tasks.models import Base
    from vc_common.testing.migrations import check_migrations

    # the trigram search index exists only where the server has pg_trgm (not in make run's)
    await check_migrations(
        "tasks", Base.metadata, extra_indexes=frozenset({"ix_tasks_search_trgm"})
    )
