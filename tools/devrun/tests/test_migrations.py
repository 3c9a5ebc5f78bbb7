"""A warm start skips the migration subprocess of every database at head already."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from vc_common.migrations import heads
from vc_devrun.config import load_config
from vc_devrun.database import at_head, run_migrations, script_heads, servers_of, versions_dir
from vc_devrun.procs import Output

ROOT = Path(__file__).resolve().parents[3]
SERVER = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def own_database() -> Iterator[str]:
    name = f"devrun_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def test_a_database_at_head_is_not_migrated_again(own_database: str) -> None:
    config = load_config(ROOT / "platform.toml", env={})
    env = {**os.environ, "DATABASE_URL": SERVER, "ANALYTICS_DATABASE_URL": own_database}
    [analytics] = [s for s in config.database_services if s.name == "analytics"]
    assert await at_head([analytics], env) == set()  # empty database: not at head

    log = io.StringIO()
    await run_migrations(config, env, Output(log, color=False), only=["analytics"])
    assert "migrating analytics" in log.getvalue()
    assert await at_head([analytics], env) == {"analytics"}

    again = io.StringIO()
    await run_migrations(config, env, Output(again, color=False), only=["analytics"])
    assert "at head already, not migrated: analytics" in again.getvalue()
    assert "migrating analytics" not in again.getvalue()


def test_the_heads_read_from_the_files_are_alembics_for_every_service() -> None:
    config = load_config(ROOT / "platform.toml", env={})
    for service in config.database_services:
        assert script_heads(versions_dir(service)) == heads(service.name), service.name


def test_a_new_revision_file_moves_the_head(tmp_path: Path) -> None:
    (tmp_path / "0001_first.py").write_text(
        'revision: str = "0001"\ndown_revision: str | None = None\n'
    )
    (tmp_path / "__init__.py").write_text("")
    assert script_heads(tmp_path) == {"0001"}
    (tmp_path / "0002_second.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    assert script_heads(tmp_path) == {"0002"}  # so a database at 0001 is migrated again
    (tmp_path / "0003_merge.py").write_text(
        'revision = "0003"\ndown_revision = ("0002", "0001b")\n'
    )
    (tmp_path / "0001b_branch.py").write_text('revision = "0001b"\ndown_revision = "0001"\n')
    assert script_heads(tmp_path) == {"0003"}
    (tmp_path / "0004_odd.py").write_text('revision = make()\ndown_revision = "0003"\n')
    with pytest.raises(LookupError):
        script_heads(tmp_path)  # not a literal: the runner asks Alembic instead


def test_the_pools_share_the_servers_connections() -> None:
    from vc_devrun.database import (
        POOL_CEILING,
        POOL_FLOOR,
        TOOLS_RESERVE,
        overflow_for,
        pool_size_for,
    )

    # this machine's server: 100, 3 for superusers; the 14 processes of make run
    assert pool_size_for(100, 3, 14) == (100 - 3 - TOOLS_RESERVE) // 14 - 1 == 4
    # and a bench's platform of 5 beside it: the least a pool gets
    assert pool_size_for(100, 3 + 65, 5) == POOL_FLOOR
    # the embedded server (max_connections=200): within what it has, with room for tools
    size = pool_size_for(200, 3, 14)
    assert size == (200 - 3 - TOOLS_RESERVE) // 14 - 1
    assert 14 * (size + 1) <= 200 - 3 - TOOLS_RESERVE
    # what other clients hold is not shared out again
    assert pool_size_for(200, 3 + 67, 4) < pool_size_for(200, 3, 4)
    assert pool_size_for(2000, 3, 14) == POOL_CEILING
    # what the pools leave, shared out for bursts: nothing on 100, a little on 200 for 5
    assert overflow_for(100, 3, 14, 4) == 0
    assert overflow_for(200, 3, 5, 30) == (200 - 3 - TOOLS_RESERVE - 5 * 31) // 5 == 4
    assert pool_size_for(100, 3, 0) == POOL_CEILING


async def test_make_run_sizes_the_pools_from_the_server_unless_told() -> None:
    from vc_devrun.database import POOL_FLOOR, pool_size_for
    from vc_devrun.runner import Platform

    config = load_config(ROOT / "platform.toml", env={})
    log = io.StringIO()
    platform = Platform(config, Output(log, color=False), env={})
    processes = platform.instances(platform.services)
    sharing = [p for p in processes if p.database]
    env = {"DATABASE_URL": SERVER}
    with psycopg.connect(SERVER, autocommit=True) as conn:  # one more client while it looks
        row = conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int"
        ).fetchone()
        assert row is not None
        await platform.size_pools(env, processes)
    size = int(env["DB_POOL_SIZE"])
    overflow = int(env["DB_MAX_OVERFLOW"])
    if size > POOL_FLOOR:  # every process at its pool and its overflow at once fits the server
        assert len(sharing) * (size + overflow + 1) <= row[0] - row[1] - 1
    assert size <= pool_size_for(row[0], row[1] + 1, len(sharing))
    shown = f"a pool of {size} (+{overflow} in a burst) for each of the {len(sharing)} processes"
    assert shown in log.getvalue()
    # services with databases of their own, here on the same server under other names, share
    # it just the same; one on another server does not
    own = {
        f"{p.name.upper()}_DATABASE_URL": SERVER.rsplit("/", 1)[0] + f"/x_{p.name}" for p in sharing
    }
    assert servers_of(processes, SERVER, own) == {
        SERVER.rsplit("/", 1)[0] + "/postgres": len(sharing)
    }
    elsewhere = {**own, "TASKS_DATABASE_URL": "postgresql://db.example:6543/t"}
    assert sorted(servers_of(processes, SERVER, elsewhere).values()) == [1, len(sharing) - 1]
    told = {"DATABASE_URL": SERVER, "DB_POOL_SIZE": "12"}
    await platform.size_pools(told, processes)
    assert told["DB_POOL_SIZE"] == "12"
