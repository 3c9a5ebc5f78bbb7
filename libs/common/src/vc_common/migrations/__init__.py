"""Alembic for every service, configured in one place.

A service's migrations live in its package, ``src/<name>/migrations/`` (``env.py`` and
``versions/``), so they ship inside its wheel and image; there is no ``alembic.ini`` and no
``script.py.mako`` per service. ``python -m vc_common.migrations <name> upgrade head`` (or
``downgrade -1``, ``current``, ``revision -m "…" --autogenerate``) runs Alembic against the
service's own database: ``<SERVICE>_DATABASE_URL``, or ``DATABASE_URL`` with the database named
after the service.

A service's ``migrations/env.py`` is two lines::

    from vc_common.migrations import run_migrations
    from vc_calendar.models import Base
    run_migrations("calendar", Base.metadata)

The tables every service has (idempotency keys, outbox, inbox) are created by the steps of
:mod:`vc_common.migrations.shared`, each called from one revision of each service. The columns,
constraints and indexes every table has the same way (the UUID key, the timestamps, the
conventionally named keys) come from :mod:`vc_common.migrations.ddl`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from vc_common.settings import database_url_for, package_name, to_async_url

TEMPLATE = Path(__file__).with_name("script.py.mako")
# alembic announces each of its plugins at INFO when first imported: 7 lines in every service's
# start-up log (49 under make run). Every alembic import below comes after this line.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def migrations_dir(service: str) -> Path:
    """``<service>``'s migrations folder (its ``<package>.migrations`` package)."""
    try:
        spec = importlib.util.find_spec(f"{package_of(service)}.migrations")
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{service} has no migrations package ({package_of(service)}.migrations)")
    return Path(next(iter(spec.submodule_search_locations)))


def package_of(service: str) -> str:
    """The import name of a service's package (see :func:`vc_common.settings.package_name`)."""
    return package_name(service)


def alembic_config(service: str, url: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["service"] = service
    if url is not None:
        cfg.attributes["database_url"] = url
    return cfg


def heads(service: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(service)).get_heads())


def revisions(service: str) -> list[str]:
    """The revisions from base to head, in order (a linear history is required)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(service))
    found = script.get_heads()
    if len(found) != 1:
        raise ValueError(f"{service}: several heads {found}; merge them")
    return [r.revision for r in reversed(list(script.walk_revisions("base", found[0])))]


def run_migrations(service: str, metadata: MetaData) -> None:
    """What every service's ``env.py`` does: online with asyncpg, or offline as SQL."""
    from alembic import context

    from vc_common.migrations.render import render_item

    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    url = to_async_url(url) if url else database_url_for(service)

    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=metadata,
            literal_binds=True,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        do_run(connection)
        return

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    asyncio.run(main())


async def migrate(service: str, url: str, command: str = "upgrade", revision: str = "head") -> None:
    """``alembic <command> <revision>`` on ``url`` (in a thread: Alembic is synchronous and its
    env runs its own event loop)."""
    from alembic import command as cmd

    cfg = alembic_config(service, url)
    await asyncio.to_thread(getattr(cmd, command), cfg, revision)
