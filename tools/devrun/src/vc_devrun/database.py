"""Each database service gets its own database on the PostgreSQL server, migrated to head."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence

from vc_devrun.config import (
    Entry,
    PlatformConfig,
    has_own_database_url,
    libpq_url,
    redact,
    service_database_url,
)
from vc_devrun.procs import Output, run_to_end


class MigrationError(Exception):
    """A database could not be created or a migration failed."""


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
    try:
        conn = await psycopg.AsyncConnection.connect(
            libpq_url(base_url), autocommit=True, connect_timeout=10
        )
    except psycopg.Error as exc:
        raise MigrationError(f"cannot connect to {redact(base_url)}: {exc}") from exc
    async with conn:
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


async def run_migrations(
    config: PlatformConfig,
    env: Mapping[str, str],
    output: Output,
    only: Sequence[str] = (),
) -> None:
    """``alembic -c services/<name>/alembic.ini upgrade head`` for each database service, with the
    server's ``DATABASE_URL`` in the environment (the service derives its own database)."""
    services = [s for s in config.database_services if not only or s.name in only]
    jobs = []
    for service in services:
        directory = config.service_dir(service)
        ini = directory / "alembic.ini"
        if not ini.is_file():
            where = ini.relative_to(config.root) if ini.is_relative_to(config.root) else ini
            output.info(f"warning: {service.name} has no {where}: skipping its migrations")
            continue
        child_env = {**env, "SERVICE_NAME": service.name, "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"]
        url = service_database_url(service.name, env["DATABASE_URL"], env)
        output.info(f"migrating {service.name} ({redact(url)})")
        jobs.append(run_to_end(service.name, argv, output=output, env=child_env, cwd=directory))
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
