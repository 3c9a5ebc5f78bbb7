"""``python -m integrations rotate-keys``: re-encrypt every stored token under the first key of
``INTEGRATIONS_ENCRYPTION_KEYS`` (after putting a new key first; then drop the old one)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from vc_common.db import Database
from vc_common.jobs import Job, run_job


async def _rotate() -> int:
    from integrations.app import create_app
    from integrations.connections.service import rotate_keys

    app = create_app()
    app.state.db = Database(app.state.settings.async_database_url)
    from integrations import runtime

    app.state.runtime = runtime.build(app.state.settings)
    try:
        n = await run_job(app, Job("rotate-keys", rotate_keys))
    finally:
        await app.state.runtime.aclose()
        await app.state.db.dispose()
    print(f"re-encrypted {n} secrets under the first key")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rotate-keys")
    parser.parse_args(argv)
    return asyncio.run(_rotate())


if __name__ == "__main__":
    sys.exit(main())
