"""``python -m identity rotate-keys`` | ``python -m identity make-staff USERNAME``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy import func, select
from vc_common.db import Database

from identity.keys.keyring import rotate_keys
from identity.models import User
from identity.settings import Settings


async def _rotate(settings: Settings) -> int:
    if settings.jwt_private_keys:
        sys.stderr.write("JWT_PRIVATE_KEYS is set: rotate by changing it (append the new key)\n")
        return 2
    db = Database(settings.async_database_url, pool_size=1, max_overflow=0)
    try:
        async with db.unit_of_work() as session:
            kid, retired = await rotate_keys(
                session, access_ttl_seconds=settings.access_token_ttl_seconds
            )
    finally:
        await db.dispose()
    sys.stdout.write(f"new signing key {kid}; retired {', '.join(retired) or 'none'}\n")
    sys.stdout.write(f"replicas pick it up within {settings.key_reload_seconds:g} s\n")
    return 0


async def _make_staff(settings: Settings, username: str) -> int:
    db = Database(settings.async_database_url, pool_size=1, max_overflow=0)
    try:
        async with db.unit_of_work() as session:
            user = (
                (
                    await session.execute(
                        select(User).where(func.lower(User.username) == username.lower())
                    )
                )
                .scalars()
                .first()
            )
            if user is None:
                sys.stderr.write(f"no user {username!r}\n")
                return 1
            user.is_staff = True
    finally:
        await db.dispose()
    sys.stdout.write(f"{username} is staff now (effective at their next login)\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rotate-keys", help="add a new signing key and retire keys no token needs")
    staff = sub.add_parser("make-staff", help="give a user staff rights")
    staff.add_argument("username")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "rotate-keys":
        return asyncio.run(_rotate(settings))
    return asyncio.run(_make_staff(settings, args.username))


if __name__ == "__main__":
    raise SystemExit(main())
