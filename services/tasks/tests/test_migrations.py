"""Every migration goes up and down cleanly, and head matches the models; the ranks' one keeps
the tasks' order both ways."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tasks.ordering import RANK_GAP
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


async def test_ranks_are_backfilled_from_positions_and_positions_restored_on_downgrade() -> None:
    """0004 turns each column's dense positions into ranks a gap apart, in the same order; its
    downgrade gives the dense positions back from the ranks' order."""
    name = f"test_tasks_migration_ranks_{os.getpid()}"
    url = await create_database(name)
    board, team, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cols = [uuid.uuid4(), uuid.uuid4()]
    tasks = {c: [uuid.uuid4() for _ in range(5)] for c in cols}
    engine = create_async_engine(url)
    try:
        await migrate("tasks", url, "upgrade", "0003")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO boards (id, name, team_id, created_by_id) VALUES (:b, 'b', :t, :u)"
                ),
                {"b": board, "t": team, "u": user},
            )
            for i, c in enumerate(cols):
                await conn.execute(
                    text(
                        'INSERT INTO board_columns (id, name, board_id, "order")'
                        " VALUES (:c, :n, :b, :o)"
                    ),
                    {"c": c, "n": f"c{i}", "b": board, "o": i},
                )
                # written out of position order, so the order comes from position, not insertion
                for pos in (3, 0, 4, 1, 2):
                    await conn.execute(
                        text(
                            "INSERT INTO tasks (id, title, column_id, board_id, team_id, position,"
                            " created_by_id) VALUES (:id, :title, :c, :b, :t, :p, :u)"
                        ),
                        {
                            "id": tasks[c][pos],
                            "title": f"t{pos}",
                            "c": c,
                            "b": board,
                            "t": team,
                            "p": pos,
                            "u": user,
                        },
                    )

        async def order_by(key: str) -> dict[uuid.UUID, list[tuple[uuid.UUID, int]]]:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(f"SELECT column_id, id, {key} FROM tasks ORDER BY column_id, {key}")
                )
                out: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {c: [] for c in cols}
                for column_id, task_id, value in rows:
                    out[column_id].append((task_id, value))
            return out

        await migrate("tasks", url, "upgrade", "0004")
        ranked = await order_by("rank")
        for c in cols:
            assert [t for t, _ in ranked[c]] == tasks[c]
            assert [r for _, r in ranked[c]] == [n * RANK_GAP for n in range(5)]
        await migrate("tasks", url, "downgrade", "0003")
        positioned = await order_by("position")
        for c in cols:
            assert positioned[c] == [(t, n) for n, t in enumerate(tasks[c])]
    finally:
        await engine.dispose()
        await drop_database(name)
