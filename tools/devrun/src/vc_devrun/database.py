"""Each database service gets its own database on the PostgreSQL server, migrated to head."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vc_devrun.config import (
    Entry,
    PlatformConfig,
    has_own_database_url,
    libpq_url,
    redact,
    service_database_url,
    with_database,
)
from vc_devrun.procs import Output, run_to_end


class MigrationError(Exception):
    """A database could not be created or a migration failed."""


async def _connect(base_url: str) -> Any:
    """An autocommit psycopg connection to the server of ``base_url``."""
    import psycopg

    try:
        return await psycopg.AsyncConnection.connect(
            libpq_url(base_url), autocommit=True, connect_timeout=10
        )
    except psycopg.Error as exc:
        raise MigrationError(f"cannot connect to {redact(base_url)}: {exc}") from exc


async def ensure_databases(
    services: Sequence[Entry], base_url: str, env: Mapping[str, str], output: Output
) -> list[str]:
    """CREATE DATABASE <service> on the server of ``base_url`` for each service that lacks one
    (skipped for a service with its own ``<SERVICE>_DATABASE_URL``). Returns the names created."""
    import psycopg
    from psycopg import sql

    wanted = [s.name for s in services if s.database and not has_own_database_url(s.name, env)]
    if not wanted:
        return []
    created: list[str] = []
    async with await _connect(base_url) as conn:
        for name in wanted:
            cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if await cur.fetchone() is not None:
                continue
            try:
                await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                continue  # created concurrently
            except psycopg.Error as exc:
                raise MigrationError(f"CREATE DATABASE {name} failed: {exc}") from exc
            created.append(name)
            output.info(f"created database {name!r}")
    return created


#: connections of the server left for what is not the platform: migrations, psql, a test run, a
#: bench's own processes
TOOLS_RESERVE = 20
#: what a service process holds beside its pool: the outbox relay's LISTEN connection
EXTRA_PER_PROCESS = 1
#: the pool a process gets when the server has room (vc_common.settings.db_pool_size's default)
POOL_CEILING = 30
#: and the least it gets however many processes share the server
POOL_FLOOR = 3


def pool_size_for(max_connections: int, taken: int, processes: int) -> int:
    """Each process's pool when ``processes`` share a server of ``max_connections`` of which
    ``taken`` are not ours to use (reserved for superusers, or held by clients already there: an
    earlier ``make run``, a bench's platform beside it). A pool keeps the connections it opened,
    so after a burst on every service the platform holds the sum of its pools: sized 30 each, 14
    processes on a server of 100 ran out ("sorry, too many clients already" in mid-bench)."""
    if processes <= 0:
        return POOL_CEILING
    share = (max_connections - taken - TOOLS_RESERVE) // processes - EXTRA_PER_PROCESS
    return max(POOL_FLOOR, min(POOL_CEILING, share))


def overflow_for(max_connections: int, taken: int, processes: int, size: int) -> int:
    """What each process may open beyond its pool of ``size`` in a burst: only what the pools
    leave of the share, so that every process bursting at once still fits (an overflow of twice
    the pool filled the server: realtime's two replicas opened 90 each for 1,000 sockets)."""
    if processes <= 0:
        return 0
    left = max_connections - taken - TOOLS_RESERVE - processes * (size + EXTRA_PER_PROCESS)
    return max(0, left // processes)


async def server_connection_limit(base_url: str) -> tuple[int, int]:
    """The server's ``max_connections``, and how many of them are not for the platform about to
    start: ``superuser_reserved_connections`` and the client connections open now (this one
    left out)."""
    async with await _connect(base_url) as conn:
        cur = await conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " (SELECT count(*) FROM pg_stat_activity"
            "  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())::int"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]) + int(row[2])


def servers_of(processes: Sequence[Entry], base_url: str, env: Mapping[str, str]) -> dict[str, int]:
    """The PostgreSQL servers the processes' databases are on (a libpq URL of each, to ask it
    its limits), and how many of the processes use each: a service's own
    ``<SERVICE>_DATABASE_URL`` may point to another server than ``DATABASE_URL``."""
    from urllib.parse import urlsplit

    found: dict[tuple[str | None, int], str] = {}
    count: dict[str, int] = {}
    for p in processes:
        if not p.database:
            continue
        url = service_database_url(p.name, base_url, env)
        parts = urlsplit(url)
        server = found.setdefault(
            (parts.hostname, parts.port or 5432), with_database(url, "postgres")
        )
        count[server] = count.get(server, 0) + 1
    return count


def versions_dir(service: Entry) -> Path:
    """``<package>/migrations/versions`` of a service, found without importing anything."""
    package = service.app.split(":", 1)[0].split(".", 1)[0]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{service.name}: no package {package}")
    return Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"


def _literal(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            return ast.literal_eval(node.value)
    raise LookupError(name)


def script_heads(directory: Path) -> set[str]:
    """The head revisions of a versions folder, read from each file's ``revision`` and
    ``down_revision`` literals as Alembic writes them, without importing Alembic and SQLAlchemy
    (1-2 s of CPU in this process, on the critical path of every start). A file that does not
    say them as literals raises LookupError (the caller then asks Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            revision = _literal(tree, "revision")
            down = _literal(tree, "down_revision")
        except (OSError, SyntaxError, ValueError) as exc:
            raise LookupError(f"{path}: {exc}") from exc
        if not isinstance(revision, str):
            raise LookupError(f"{path}: revision is not a string")
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, (tuple, list)):
            parents.update(str(d) for d in down)
        elif down is not None:
            raise LookupError(f"{path}: down_revision is {down!r}")
    if not revisions:
        raise LookupError(f"no revisions in {directory}")
    return revisions - parents


def _heads(service: Entry) -> set[str]:
    try:
        return script_heads(versions_dir(service))
    except LookupError:
        from vc_common.migrations import heads

        return heads(service.name)


async def at_head(services: Sequence[Entry], env: Mapping[str, str]) -> set[str]:
    """The services whose database is at its migrations' head already (read from the database's
    ``alembic_version`` against the revision files, in this process, all at once): a warm start
    skips their migration subprocess, which costs a Python start and the service's imports."""
    if not services:
        return set()
    import psycopg

    async def current(service: Entry) -> bool:
        try:
            wanted = _heads(service)
            url = libpq_url(service_database_url(service.name, env["DATABASE_URL"], env))
            async with await psycopg.AsyncConnection.connect(url, connect_timeout=10) as conn:
                # asked first, so a fresh database logs no "relation does not exist" error
                cur = await conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
                row = await cur.fetchone()
                if row is None or not row[0]:
                    return False
                cur = await conn.execute("SELECT version_num FROM alembic_version")
                found = {row[0] for row in await cur.fetchall()}
        except (LookupError, ValueError, psycopg.Error):
            return False  # no migrations, no database or no version table yet: migrate it
        return found == wanted

    results = await asyncio.gather(*(current(s) for s in services))
    return {s.name for s, ok in zip(services, results, strict=True) if ok}


async def run_migrations(
    config: PlatformConfig,
    env: Mapping[str, str],
    output: Output,
    only: Sequence[str] = (),
) -> None:
    """``python -m vc_common.migrations <name> upgrade head`` for each database service, with
    the server's ``DATABASE_URL`` in the environment (the service derives its own database)."""
    services = [s for s in config.database_services if not only or s.name in only]
    current = await at_head(services, env)
    if current:
        output.info(f"at head already, not migrated: {', '.join(sorted(current))}")
    services = [s for s in services if s.name not in current]
    jobs = []
    for service in services:
        child_env = {**env, "SERVICE_NAME": service.name, "PYTHONUNBUFFERED": "1"}
        argv = [
            sys.executable,
            "-m",
            "vc_common.migrations",
            service.name,
            "upgrade",
            "head",
            "--no-create",
        ]
        url = service_database_url(service.name, env["DATABASE_URL"], env)
        output.info(f"migrating {service.name} ({redact(url)})")
        jobs.append(run_to_end(service.name, argv, output=output, env=child_env, cwd=config.root))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    failures = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        code, proc = result
        if code != 0:
            failures.append(
                f"{proc.name}: alembic upgrade exited with {code}; its last lines:\n{proc.tail(10)}"
            )
    if failures:
        raise MigrationError("migrations failed:\n" + "\n".join(failures))
