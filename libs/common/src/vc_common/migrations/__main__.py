"""``python -m vc_common.migrations <service> <command> [args]``: Alembic for one service.

    python -m vc_common.migrations tasks upgrade head   # creates the database if missing
    python -m vc_common.migrations tasks downgrade -1
    python -m vc_common.migrations tasks current
    python -m vc_common.migrations tasks revision -m "add due reminders" --autogenerate

The database is the service's own (``<SERVICE>_DATABASE_URL``, or ``DATABASE_URL`` with the
database named after the service); ``upgrade`` creates it first when it is missing, which is what
containers and the Kubernetes migration Job run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys

from vc_common.migrations import TEMPLATE, alembic_config, migrations_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vc_common.migrations")
    parser.add_argument("service")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--no-create", action="store_true", help="do not create the database")
    down = sub.add_parser("downgrade")
    down.add_argument("revision")
    sub.add_parser("current")
    sub.add_parser("heads")
    rev = sub.add_parser("revision")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)

    from alembic import command

    cfg = alembic_config(args.service)
    if args.command == "upgrade":
        if not args.no_create:
            from vc_common.createdb import ensure_database

            asyncio.run(ensure_database(args.service))
        command.upgrade(cfg, args.revision)
    elif args.command == "downgrade":
        command.downgrade(cfg, args.revision)
    elif args.command == "current":
        command.current(cfg)
    elif args.command == "heads":
        command.heads(cfg)
    else:
        # Alembic renders new revisions from script.py.mako in the migrations folder: the one
        # template of the platform is put there for the command only
        target = migrations_dir(args.service) / "script.py.mako"
        shutil.copyfile(TEMPLATE, target)
        try:
            command.revision(cfg, message=args.message, autogenerate=args.autogenerate)
        finally:
            target.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
