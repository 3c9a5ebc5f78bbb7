"""``python -m vc_devrun [run|migrate|infra]``: the dev runner behind ``make run``.

- ``run`` (default): embedded PostgreSQL / NATS / SMTP sink when the environment names none,
  databases and migrations, every service of platform.toml, then the gateway.
- ``migrate``: create the databases and apply every service's migrations, then exit.
- ``infra``: only the infrastructure (with databases and migrations); prints the env to export
  to run one service by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from vc_devrun.config import ConfigError, find_config, load_config
from vc_devrun.procs import Output
from vc_devrun.runner import READY_TIMEOUT, Platform, supervise


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="platform.toml to use (default: found up from the cwd)")
    common.add_argument(
        "--only",
        metavar="SERVICE[,SERVICE]",
        default="",
        help="only these services (comma separated)",
    )
    common.add_argument("--no-color", action="store_true", help="never color the output")

    parser = argparse.ArgumentParser(
        prog="python -m vc_devrun",
        description="Runs the whole VirtualCoworking platform on one machine.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", parents=[common], help="start everything (default)")
    for p in (parser, run):
        p.add_argument("--no-gateway", action="store_true", help="start the services only")
        p.add_argument(
            "--timeout",
            type=float,
            default=READY_TIMEOUT,
            help=f"seconds to wait for each readiness check (default {READY_TIMEOUT:g})",
        )
    sub.add_parser("migrate", parents=[common], help="create databases, apply migrations, exit")
    infra = sub.add_parser("infra", parents=[common], help="start only the infra, print the env")
    infra.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    output = Output(color=False if args.no_color else None)
    try:
        config = load_config(find_config(args.config))
    except ConfigError as exc:
        output.error(str(exc))
        return 2
    platform = Platform(
        config=config,
        output=output,
        env=dict(os.environ),
        only=[n.strip() for n in args.only.split(",") if n.strip()],
        gateway=not getattr(args, "no_gateway", False),
        timeout=getattr(args, "timeout", READY_TIMEOUT),
    )
    command = args.command or "run"
    if command == "migrate":
        body = platform.run_migrate
    elif command == "infra":
        no_migrate = bool(args.no_migrate)

        async def body() -> int:
            return await platform.run_infra(migrate=not no_migrate)

    else:
        body = platform.run
    try:
        return asyncio.run(supervise(body, platform.kill_now))
    except KeyboardInterrupt:  # a signal before the handlers were installed
        return 130


if __name__ == "__main__":
    sys.exit(main())
