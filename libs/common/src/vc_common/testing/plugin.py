"""pytest plugin (entry point ``vc_common``): real PostgreSQL fixtures for every service.

A service's ``tests/conftest.py`` overrides one fixture, ``vc_service``, returning a
:class:`ServiceUnderTest`. Then:

- ``database_url``: a fresh database for this test session (and xdist worker) on the server of
  ``DATABASE_URL``, migrated with ``alembic upgrade head``; dropped at the end.
- ``db_connection``: a connection inside a transaction that is rolled back after the test.
- ``app``: the service app, lifespan run, whose request sessions join that transaction with
  ``join_transaction_mode="create_savepoint"`` (each request's commit is a savepoint).
- ``client``: ``httpx.AsyncClient`` over ``ASGITransport(app)``.
- ``live_app`` / ``live_client``: the same with a real pool and real commits, for tests of
  concurrency and of what happens after commit (relay, consumers). Use unique data there.
- ``signer`` / ``auth_headers``: tokens the app's verifier accepts.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from vc_common.auth import StaticKeySource, TokenVerifier
from vc_common.db import Database
from vc_common.settings import DEFAULT_DATABASE_URL, to_async_url
from vc_common.testing.keys import TestSigner

os.environ.setdefault("ENVIRONMENT", "test")


@dataclass
class ServiceUnderTest:
    name: str
    app_factory: Callable[[], Any]
    alembic_ini: Path | None = None
    settings_env: dict[str, str] = field(default_factory=dict)


def server_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def create_database(name: str) -> str:
    admin = create_async_engine(to_async_url(server_url()), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return to_async_url(_with_db(server_url(), name))


async def drop_database(name: str) -> None:
    admin = create_async_engine(to_async_url(server_url()), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def alembic_config(alembic_ini: Path, url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(alembic_ini))
    cfg.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


async def alembic(alembic_ini: Path, url: str, command: str, revision: str) -> None:
    from alembic import command as cmd

    cfg = alembic_config(alembic_ini, url)
    await asyncio.to_thread(getattr(cmd, command), cfg, revision)


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    raise pytest.UsageError("override the `vc_service` fixture in the service's conftest.py")


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()


@pytest_asyncio.fixture(scope="session")
async def database_url(vc_service: ServiceUnderTest) -> AsyncIterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"test_{vc_service.name}_{worker}_{os.getpid()}"
    url = await create_database(name)
    if vc_service.alembic_ini is not None:
        await alembic(vc_service.alembic_ini, url, "upgrade", "head")
    try:
        yield url
    finally:
        await drop_database(name)


@pytest_asyncio.fixture(scope="session")
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def db_connection(db_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with db_engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                await trans.rollback()


@pytest.fixture
def service_env(
    vc_service: ServiceUnderTest, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "ENVIRONMENT": "test",
        f"{vc_service.name.upper()}_DATABASE_URL": database_url,
        "SERVICE_NAME": vc_service.name,
        **vc_service.settings_env,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@asynccontextmanager
async def running(app: Any, db: Database | None, signer: TestSigner) -> AsyncIterator[Any]:
    if db is not None:
        app.state.db = db
    if getattr(app.state, "verifier_factory", None) is None:
        app.state.verifier = TokenVerifier(
            StaticKeySource(signer.jwks), issuer=signer.issuer, audience=signer.audience
        )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def app(
    vc_service: ServiceUnderTest,
    service_env: dict[str, str],
    db_connection: AsyncConnection,
    signer: TestSigner,
) -> AsyncIterator[Any]:
    del service_env
    application = vc_service.app_factory()
    db = Database.from_engine(
        db_connection,
        join_transaction_mode="create_savepoint",
    )
    async with running(application, db, signer):
        yield application


@pytest_asyncio.fixture
async def live_app(
    vc_service: ServiceUnderTest, service_env: dict[str, str], signer: TestSigner
) -> AsyncIterator[Any]:
    del service_env
    application = vc_service.app_factory()
    async with running(application, None, signer):
        yield application


def _client(application: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test")


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest_asyncio.fixture
async def live_client(live_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(live_app) as c:
        yield c


@dataclass
class TestUser:
    __test__ = False

    id: uuid.UUID
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(signer: TestSigner) -> Callable[..., TestUser]:
    def make(username: str | None = None, *, is_staff: bool = False) -> TestUser:
        uid = uuid.uuid4()
        name = username or f"user-{uid.hex[:8]}"
        return TestUser(uid, name, signer.token(uid, username=name, is_staff=is_staff))

    return make


@pytest.fixture
def user(make_user: Callable[..., TestUser]) -> TestUser:
    return make_user()


@pytest.fixture
def auth_headers(user: TestUser) -> dict[str, str]:
    return user.headers


@pytest.fixture(scope="session")
def unique() -> Callable[[str], str]:
    def make(prefix: str = "x") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make
