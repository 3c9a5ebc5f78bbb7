"""``python -m vc_devrun [run|migrate|infra]``: the dev runner behind ``make run``.

- ``run`` (default): embedded PostgreSQL / NATS / SMTP sink when the environment names none,
  databases and migrations, every service of platform.toml and the gateway.
- ``migrate``: create the databases and apply every service's migrations, then exit.
- ``infra``: only the infrastructure (with databases and migrations); prints the env to export
  to run one service by hand.
- ``new-service NAME``: a new service in the house shape, registered everywhere
  (``make service NAME=...``; see ``vc_devrun.scaffold``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from vc_devrun.config import ConfigError, find_config, load_config
from vc_devrun.procs import Output
from vc_devrun.runner import READY_TIMEOUT, Platform, bytecode_dir, keep_bytecode, supervise


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
    new = sub.add_parser("new-service", help="create a service in the house shape")
    new.add_argument("name")
    new.add_argument("--description", default="(what this service owns, in one line)")
    new.add_argument("--uv", help="the uv binary (make passes its own)")
    return parser


def _new_service(args: argparse.Namespace, output: Output) -> int:
    from pathlib import Path

    from vc_devrun.scaffold import ScaffoldError, new_service

    root = Path(find_config(args.config)).parent
    try:
        written = new_service(root, args.name, args.description, uv=args.uv)
    except ScaffoldError as exc:
        output.error(str(exc))
        return 2
    output.info(f"created services/{args.name} ({len(written)} files), registered in")
    output.info("platform.toml, pyproject.toml, uv.lock and the deployment files")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    output = Output(color=False if args.no_color else None)
    if args.command == "new-service":
        return _new_service(args, output)
    try:
        config = load_config(find_config(args.config))
    except ConfigError as exc:
        output.error(str(exc))
        return 2
    keep_bytecode(bytecode_dir(config))
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
