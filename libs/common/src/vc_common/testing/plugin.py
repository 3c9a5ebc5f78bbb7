"""pytest plugin (entry point ``vc_common``): real PostgreSQL fixtures for every service.

A service's suite needs no set-up of its own: the service under test is found from the suite's
path (``services/<name>/tests``; override the ``vc_service`` fixture to change anything). Then:

- ``database_url``: a fresh database for this test session (and xdist worker) on the server of
  ``DATABASE_URL``, migrated to head by the service's own migrations; dropped at the end.
- ``db_connection``: a connection inside a transaction that is rolled back after the test.
- ``app``: the service app, lifespan run, whose request sessions join that transaction with
  ``join_transaction_mode="create_savepoint"`` (each request's commit is a savepoint).
- ``client``: ``httpx.AsyncClient`` over ``ASGITransport(app)``.
- ``live_app`` / ``live_client``: the same with a real pool and real commits, for tests of
  concurrency and of what happens after commit (relay, consumers, jobs). Use unique data there.
- ``signer``, ``make_user`` / ``user``: tokens the app's verifier accepts.
- ``clock``: a clock the test moves (``app.state.clock``), instead of sleeping.
- ``deliver``: hands an event to the service's consumer (inbox and handlers, as the bus would);
  ``outbox``: the events the test's changes wrote, each validated against its contract.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from vc_common.auth import StaticKeySource, TokenVerifier
from vc_common.db import Database
from vc_common.events.contracts import complete_data, contracts_dir, validate_event
from vc_common.events.envelope import CloudEvent
from vc_common.settings import DEFAULT_DATABASE_URL, package_name, to_async_url
from vc_common.testing.keys import TestSigner

os.environ.setdefault("ENVIRONMENT", "test")


@dataclass
class ServiceUnderTest:
    name: str
    app_factory: Callable[[], Any] | None = None
    migrations: bool = True
    settings_env: dict[str, str] = field(default_factory=dict)

    def create_app(self) -> Any:
        if self.app_factory is not None:
            return self.app_factory()
        module = importlib.import_module(f"{package_name(self.name)}.app")
        return module.create_app()


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


def _service_of(paths: list[Path]) -> str | None:
    for path in paths:
        parts = path.resolve().parts
        for i, part in enumerate(parts[:-1]):
            if part == "services" and i + 2 < len(parts) and parts[i + 2] == "tests":
                return parts[i + 1]
    return None


@pytest.fixture(scope="session")
def vc_service(request: pytest.FixtureRequest) -> ServiceUnderTest:
    """The service whose suite this is (``services/<name>/tests``)."""
    name = _service_of([item.path for item in request.session.items])
    if name is None:
        raise pytest.UsageError(
            "not a service's suite: override the `vc_service` fixture in conftest.py"
        )
    return ServiceUnderTest(name=name)


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()


@pytest_asyncio.fixture(scope="session")
async def database_url(vc_service: ServiceUnderTest) -> AsyncIterator[str]:
    from vc_common.migrations import migrate

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"test_{vc_service.name}_{worker}_{os.getpid()}"
    url = await create_database(name)
    if vc_service.migrations:
        await migrate(vc_service.name, url)
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
    application = vc_service.create_app()
    db = Database.from_engine(db_connection, join_transaction_mode="create_savepoint")
    async with running(application, db, signer):
        yield application


@pytest_asyncio.fixture
async def live_app(
    vc_service: ServiceUnderTest, service_env: dict[str, str], signer: TestSigner
) -> AsyncIterator[Any]:
    del service_env
    application = vc_service.create_app()
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


# -------------------------------------------------------------------------------- the clock


@dataclass
class MovableClock:
    """``app.state.clock`` for tests: ``set`` and ``advance`` instead of sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def set(self, instant: datetime | str) -> datetime:
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self.now = instant
        return instant

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _the_app(request: pytest.FixtureRequest) -> Any:
    name = "live_app" if "live_app" in request.fixturenames else "app"
    return request.getfixturevalue(name)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> MovableClock:
    """The app's clock (``app``, or ``live_app`` when the test uses it), at 2026-11-24 09:00Z."""
    c = MovableClock()
    _the_app(request).state.clock = c
    return c


# ------------------------------------------------------------------------------- the events


def make_event(
    type_: str,
    data: dict[str, Any],
    *,
    subject: str | uuid.UUID | None = None,
    time: datetime | None = None,
    event_id: uuid.UUID | None = None,
    source: str | None = None,
) -> CloudEvent:
    """A CloudEvent as its producer writes it, validated against its contract when there is
    one (a consumer test of a producer that does not exist yet tests the contract's shape).

    The test gives the fields its consumer reads; the other fields the schema requires are
    filled with plain valid values (``complete_data``), as the producer always sends them."""
    has_schema = any(contracts_dir().glob(f"{type_}.v*.json"))
    if has_schema:
        data = complete_data(type_, data)
    event = CloudEvent(
        source=source or type_.split(".", 1)[0],
        type=type_,
        subject=str(
            subject
            or next(
                (data[k] for k in ("task_id", "session_id", "user_id", "team_id") if data.get(k)),
                uuid.uuid4(),
            )
        ),
        data=data,
        **({"time": time} if time else {}),
        **({"id": event_id} if event_id else {}),
    )
    if has_schema:
        validate_event(event.to_dict())
    return event


Deliver = Callable[..., Awaitable[bool]]


@pytest.fixture
def deliver(request: pytest.FixtureRequest) -> Deliver:
    """``await deliver(type, data, subject=...)`` (or ``deliver(event)``, the same event again):
    the service's consumer applies it (inbox included) as if the bus delivered it; True when
    applied, False for a duplicate."""
    application = _the_app(request)

    async def send(
        type_or_event: str | CloudEvent, data: dict[str, Any] | None = None, **kw: Any
    ) -> bool:
        event = (
            type_or_event
            if isinstance(type_or_event, CloudEvent)
            else make_event(type_or_event, data or {}, **kw)
        )
        consumers = application.state.consumers
        if not consumers:
            raise RuntimeError("this service has no consumer")
        applied = [await c.handle(application.state.db, event) for c in consumers]
        return any(applied)

    return send


ReadOutbox = Callable[..., Awaitable[list[dict[str, Any]]]]


# Rows the test's own transaction wrote (its requests' savepoints included): their xmin is a
# (sub)transaction still in progress, which pg_xact_status tells from everything committed.
# xmin is a 32-bit xid: its epoch is the current transaction's, one less or one more when it
# lies more than half the xid space below or above it (it wrapped).
_WRITTEN_HERE = text(
    "pg_xact_status(((((pg_current_xact_id()::text::bigint >> 32)"
    " - (xmin::text::bigint - (pg_current_xact_id()::text::bigint & 4294967295)"
    " > 2147483648)::int"
    " + ((pg_current_xact_id()::text::bigint & 4294967295) - xmin::text::bigint"
    " > 2147483648)::int) << 32)"
    " | xmin::text::bigint)::text::xid8) = 'in progress'"
)


@pytest.fixture
def outbox(request: pytest.FixtureRequest) -> ReadOutbox:
    """``await outbox(type=None, subject=None)``: the events written so far (oldest first),
    each validated against its contract. With ``app``, only those of this test's transaction:
    rows another test of the worker committed (a ``live_app`` test, a test that runs a real
    engine) are not this test's; with ``live_app``, every committed row (use unique data)."""
    application = _the_app(request)
    own_only = "live_app" not in request.fixturenames

    async def read(
        type: str | None = None, subject: str | uuid.UUID | None = None
    ) -> list[dict[str, Any]]:
        t = application.state.event_tables.outbox
        stmt = select(t.c.payload).order_by(t.c.seq)
        if type is not None:
            stmt = stmt.where(t.c.type == type)
        if subject is not None:
            stmt = stmt.where(t.c.subject == str(subject))
        if own_only:
            stmt = stmt.where(_WRITTEN_HERE)
        async with application.state.db.sessionmaker() as session:
            rows = [dict(r[0]) for r in (await session.execute(stmt)).all()]
        for payload in rows:
            validate_event(payload)
        return rows

    return read


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, within: float = 10.0, every: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy (for after-commit effects)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within}s")
        await asyncio.sleep(every)
