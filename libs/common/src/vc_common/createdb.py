"""``python -m vc_common.createdb <service>``: create the service's database on the server of
``DATABASE_URL`` if it is missing (containers run it before ``alembic upgrade head``)."""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

import asyncpg

from vc_common.settings import database_url_for, to_plain_url


async def ensure_database(service: str) -> bool:
    url = to_plain_url(database_url_for(service))
    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await conn.close()


def main() -> None:
    created = asyncio.run(ensure_database(sys.argv[1]))
    print(f"database for {sys.argv[1]}: {'created' if created else 'present'}")


if __name__ == "__main__":
    main()
