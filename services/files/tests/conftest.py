"""Fixtures of the files tests, on top of the shared plugins (``vc_common``, ``teams_client``).

The whole suite runs twice, once per storage backend: local disk (a temporary ``FILES_DIR``) and
S3, against moto's S3 server (``moto[server]``, a real HTTP server speaking S3's API) started
here on a free loopback port. The ``vc_service`` fixture is the parametrized one, so each backend
gets its own database too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from files.models import File, TeamUsage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from vc_common.ports import free_port
from vc_common.testing.plugin import ServiceUnderTest


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def vc_service(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> ServiceUnderTest:
    env = {"FILES_SWEEP_EVERY": "3600", "FILES_S3_PART_SIZE": str(5 * 1024 * 1024)}
    if backend == "s3":
        endpoint: str = request.getfixturevalue("moto_s3")
        env.update(
            FILES_STORAGE="s3",
            FILES_S3_ENDPOINT=endpoint,
            FILES_S3_BUCKET=f"files-{uuid.uuid4().hex[:8]}",
            FILES_S3_ACCESS_KEY="testing",
            FILES_S3_SECRET_KEY="testing",
        )
    else:
        env.update(FILES_STORAGE="local", FILES_DIR=str(tmp_path_factory.mktemp("files")))
    return ServiceUnderTest(name="files", settings_env=env)


@pytest.fixture
def storage(app: Any) -> Any:
    return app.state.storage


@pytest.fixture
def settings(app: Any) -> Any:
    """The app's settings (tests lower the limits on them: the app reads them per request)."""
    return app.state.settings


class Look:
    """What the tests look at beyond the API: rows and stored objects (either backend)."""

    def __init__(self, storage: Any, conn: AsyncConnection | AsyncEngine) -> None:
        self.storage = storage
        self.conn = conn

    async def _rows(self, stmt: Any) -> list[Any]:
        if isinstance(self.conn, AsyncEngine):
            async with self.conn.connect() as c:
                return list(await c.execute(stmt))
        return list(await self.conn.execute(stmt))

    async def objects(self, prefix: str) -> list[str]:
        """Every object (and unfinished upload) under ``prefix`` in the store."""
        storage = self.storage
        if storage.kind == "local":
            root = Path(storage.root) / prefix
            return sorted(str(p.relative_to(storage.root)) for p in root.rglob("*") if p.is_file())
        s3 = storage.client
        found = await s3.list_objects_v2(Bucket=storage.bucket, Prefix=prefix)
        names = [o["Key"] for o in found.get("Contents", [])]
        uploads = await s3.list_multipart_uploads(Bucket=storage.bucket, Prefix=prefix)
        names += [f"{u['Key']} (unfinished)" for u in uploads.get("Uploads", [])]
        return sorted(names)

    async def team_objects(self, team_id: uuid.UUID) -> list[str]:
        return await self.objects(f"teams/{team_id}/")

    async def rows(self, team_id: uuid.UUID) -> list[tuple[str, int]]:
        got = await self._rows(select(File.state, File.size).where(File.team_id == team_id))
        return [(r[0], r[1]) for r in got]

    async def used(self, team_id: uuid.UUID) -> int:
        got = await self._rows(select(TeamUsage.used_bytes).where(TeamUsage.team_id == team_id))
        return int(got[0][0]) if got else 0

    async def count(self) -> int:
        return int((await self._rows(select(func.count()).select_from(File)))[0][0])


@pytest.fixture
def look(app: Any, db_connection: AsyncConnection) -> Look:
    return Look(app.state.storage, db_connection)
