"""Admin commands: ``python -m analytics rebuild --from 2026-11-01 --to 2026-11-30``.

Recomputes the aggregates of a date range from the raw event log, in one transaction, on the
service's own database (``ANALYTICS_DATABASE_URL`` or ``DATABASE_URL``, or ``--database-url``).
Prints the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

import orjson
from vc_common.db import Database
from vc_common.errors import Invalid
from vc_common.settings import database_url_for, to_async_url

from analytics.aggregates.service import check_range, rebuild_days


async def _rebuild(args: argparse.Namespace) -> int:
    try:
        start, end = check_range(args.from_, args.to, where="args")
    except Invalid as exc:
        sys.stderr.write(f"{exc.detail}\n")
        return 2
    url = to_async_url(args.database_url) if args.database_url else database_url_for("analytics")
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.unit_of_work() as session:
            res = await rebuild_days(session, start, end)
    finally:
        await db.dispose()
    out = {
        "from": res.start.isoformat(),
        "to": res.end.isoformat(),
        "events": res.events,
        "team_rows": res.team_rows,
        "user_rows": res.user_rows,
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analytics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database-url", help="the analytics database (default: from DATABASE_URL)")
    sub = p.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rebuild", help="recompute a date range from the raw event log")
    rb.add_argument(
        "--from", dest="from_", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD"
    )
    rb.add_argument("--to", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "rebuild":
        return asyncio.run(_rebuild(args))
    return 2  # pragma: no cover


if __name__ == "__main__":
    raise SystemExit(main())
