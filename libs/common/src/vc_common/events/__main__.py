"""Operations CLI for the event backbone: ``python -m vc_common.events <command>``.

::

    dead list    --service identity            # outbox rows set aside after max attempts
    dead redrive --service identity [--seq N]  # back to pending; the relay publishes them
    dlq list     --consumer teams              # broker dead letters of a consumer
    dlq redrive  --consumer teams              # send them back to that consumer only
    replay       --consumer teams --module teams.consumers [--since 2025-01-01T00:00:00Z]
                 [--reset] [--service teams]   # rebuild a projection from retained history
    outbox stats --service identity            # pending, lag, dead

The database is the service's own (``DATABASE_URL`` / ``<SERVICE>_DATABASE_URL``, or
``--database-url``); the broker is ``EVENT_BUS_URL`` (or ``--bus-url``). Output is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import MetaData

from vc_common.db import Database
from vc_common.events.bus import bus_from_url
from vc_common.events.consumer import Consumer, replay
from vc_common.events.relay import OutboxRelay, dead_rows, redrive_dead
from vc_common.events.tables import install_event_tables
from vc_common.settings import database_url_for, to_async_url


def _out(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


def _db(args: argparse.Namespace, service: str) -> Database:
    url = to_async_url(args.database_url) if args.database_url else database_url_for(service)
    return Database(url, pool_size=2, max_overflow=2)


def _bus_url(args: argparse.Namespace) -> str:
    return (
        args.bus_url
        or os.environ.get("EVENT_BUS_URL")
        or os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    )


async def _run(args: argparse.Namespace) -> int:
    tables = install_event_tables(MetaData())
    if args.group in {"dead", "outbox"}:
        db = _db(args, args.service)
        try:
            if args.group == "outbox":
                relay = OutboxRelay(db, tables, bus_from_url("nats://unused"), service=args.service)
                _out((await relay.stats(refresh_dead=True)).as_dict())
            elif args.action == "list":
                _out(await dead_rows(db, tables, limit=args.limit))
            else:
                _out(
                    {
                        "redriven": await redrive_dead(
                            db, tables, service=args.service, seqs=args.seq
                        )
                    }
                )
        finally:
            await db.dispose()
        return 0
    bus = bus_from_url(_bus_url(args))
    await bus.connect()
    try:
        if args.group == "dlq":
            if args.action == "list":
                _out([d.summary() for d in await bus.dlq_list(args.consumer, limit=args.limit)])
            else:
                _out({"redriven": await bus.dlq_redrive(args.consumer)})
            return 0
        # replay
        if args.module:
            importlib.import_module(args.module)
        consumer = Consumer.registry.get(args.consumer)
        if consumer is None:
            sys.stderr.write(f"no Consumer({args.consumer!r}) registered; pass --module\n")
            return 2
        db = _db(args, args.service or args.consumer)
        try:
            since = datetime.fromisoformat(args.since) if args.since else None
            res = await replay(consumer, db, bus, since=since, reset=args.reset)
            _out({"seen": res.seen, "applied": res.applied, "failed": res.failed})
        finally:
            await db.dispose()
        return 0
    finally:
        await bus.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vc_common.events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database-url", help="the service database (default: from DATABASE_URL)")
    p.add_argument("--bus-url", help="default: EVENT_BUS_URL")
    groups = p.add_subparsers(dest="group", required=True)

    dead = groups.add_parser("dead", help="outbox rows that could not be published")
    dead_sub = dead.add_subparsers(dest="action", required=True)
    for name in ("list", "redrive"):
        sp = dead_sub.add_parser(name)
        sp.add_argument("--service", required=True)
        sp.add_argument("--limit", type=int, default=100)
        sp.add_argument("--seq", type=int, action="append", help="only these rows")

    outbox = groups.add_parser("outbox", help="outbox state")
    outbox.add_argument("action", choices=["stats"])
    outbox.add_argument("--service", required=True)

    dlq = groups.add_parser("dlq", help="a consumer's dead letters on the broker")
    dlq_sub = dlq.add_subparsers(dest="action", required=True)
    for name in ("list", "redrive"):
        sp = dlq_sub.add_parser(name)
        sp.add_argument("--consumer", required=True)
        sp.add_argument("--limit", type=int, default=100)

    rp = groups.add_parser("replay", help="rebuild a consumer's projection from history")
    rp.add_argument("--consumer", required=True)
    rp.add_argument("--module", help="module that defines the Consumer (imported)")
    rp.add_argument("--service", help="whose database (default: the consumer name)")
    rp.add_argument("--since", help="ISO 8601 start time (default: the beginning)")
    rp.add_argument("--reset", action="store_true", help="run the reset hook and clear the inbox")
    return p


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_run(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
