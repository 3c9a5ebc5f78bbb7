"""Consumers: exactly-once *effects* on top of at-least-once delivery.

::

    consumer = Consumer("teams")

    @consumer.on("identity.user.registered", "identity.user.updated")
    async def on_user(ctx: Context, event: CloudEvent) -> None:
        ...  # effects in `ctx.session`, committed together with the inbox row

Handlers receive the app's :class:`~vc_common.context.Context` (``actor`` None: the system acts),
so they call the same service functions as the endpoints.

A handler whose effect is set-based registers with :meth:`Consumer.on_batch` instead and takes
a list: every run of consecutive events of a delivery batch that it alone handles, in delivery
order, so one statement can apply a whole run (one ``INSERT ... SELECT unnest(...)`` or one summed
upsert instead of one round trip per event)::

    @consumer.on_batch("tasks.task.completed")
    async def count(ctx: Context, events: list[CloudEvent]) -> None: ...

A run ends where an event another handler wants begins, so everything still happens in delivery
order; a single delivery (a retry) hands it a list of one. The event runtime binds the consumer to
its app (:meth:`Consumer.bind`); unbound (a test handing it events), the context has the system
clock and no access rules.

Guarantees
----------
- **Idempotent by event id.** :meth:`Consumer.handle` inserts ``(consumer, event id)`` into the
  ``inbox`` table (``ON CONFLICT DO NOTHING``) and runs the handlers in the *same* transaction.
  If the row already existed the event was applied before: nothing runs and the delivery is
  simply acknowledged. A redelivery, a relay re-publish or a replay therefore has one effect.
- **Ack after commit.** A delivery is acknowledged only after that transaction committed. If the
  process dies in between, the broker redelivers and the inbox absorbs the duplicate.
- **A failed handler is never acknowledged.** Its transaction (inbox row included) rolls back and
  the delivery is returned to the broker with the consumer's backoff (``nak(delay)`` on NATS, a
  timed ``nack(requeue)`` on RabbitMQ). On the ``max_deliver``-th failed attempt it goes to the
  consumer's dead-letter queue; ``python -m vc_common.events dlq redrive`` sends it back to this
  consumer only.
- **A database outage charges no attempt.** When a batch or an event fails because the
  database cannot be reached (down, restarting), the deliveries are held (``in_progress``) and
  applied once the database answers again, however long it takes: an outage never spends
  ``max_deliver`` nor dead-letters an event.
- **Batches.** Deliveries arrive in batches; a batch is applied in one transaction (one
  multi-row inbox insert, handlers in delivery order), then acked. If anything in it fails the
  transaction rolls back and the batch is re-applied one event per transaction, so only the
  failing event is retried; the exactly-once argument is unchanged because every effect still
  commits together with its inbox row.
- **Order per subject.** The broker delivers a consumer's events in stream/queue order and one
  process applies a batch sequentially, in delivery order, before fetching the next one. Across
  replicas: RabbitMQ queues are ``x-single-active-consumer`` (one replica consumes, the others
  stand by); on NATS run one replica per durable consumer (a second replica pulls different
  batches of the same durable and may then apply events of one subject concurrently). While an
  event is being retried with backoff, later events of *its* subject may be applied before it
  (retries are not allowed to stall the whole consumer); handlers for which that matters compare
  a version or timestamp carried in ``data``.
- **Only what it handles.** A delivery of a type no handler takes (a NATS server before 2.10
  ignores a durable's several ``filter_subjects`` and delivers the whole context stream) is
  acknowledged without a transaction or an inbox row (outcome ``skipped``).
- **Metrics.** Every batch counts its outcomes, redeliveries, dead letters and the broker's
  pending count for the consumer (:func:`vc_common.metrics.consumer_observed`).
- **Tracing.** Each event is handled in a CONSUMER span whose parent is the envelope's
  ``traceparent``: the consumer continues the trace of the request that caused the event.
- Consumers ignore fields they do not know (``CloudEvent`` allows extra fields; handlers read
  ``event.data`` keys they need).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from opentelemetry.trace import Link, SpanKind, Status, StatusCode, get_current_span
from sqlalchemy import String, Table, TextClause, Uuid, column, delete, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.context import Context, context_for
from vc_common.db import Database
from vc_common.errors import database_unavailable
from vc_common.events.bus import (
    ConsumerSpec,
    Delivery,
    EventBus,
    _check_pattern,
    ack_all,
    matches,
)
from vc_common.events.envelope import CloudEvent
from vc_common.metrics import consumer_observed
from vc_common.telemetry import extract_context, tracer

log = logging.getLogger("vc.events.consumer")

_TRACER: list[Any] = []


def _tracer() -> Any:
    """The events tracer, looked up once: trace.get_tracer per event was 0.21 s of the
    consumer's 1.2 s per-event overhead in the analytics ingestion profile. (A tracer taken
    before the app installs its provider is OpenTelemetry's proxy, which follows it.)"""
    if not _TRACER:
        _TRACER.append(tracer("vc.events"))
    return _TRACER[0]


Handler = Callable[[Context, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[Context, list[CloudEvent]], Awaitable[None]]
#: a registered handler: the function, and whether it takes a list of events
_Route = tuple[Callable[..., Awaitable[None]], bool]
ResetHook = Callable[[AsyncSession], Awaitable[None]]

_INBOX = table(
    "inbox", column("consumer", String), column("event_id", Uuid), column("event_type", String)
)


class Consumer:
    """A durable consumer (a service or one of its projections) and its handlers."""

    registry: ClassVar[dict[str, Consumer]] = {}

    def __init__(
        self,
        name: str,
        *,
        max_deliver: int = 5,
        backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0),
        batch_size: int = 100,
        ack_wait: float = 30.0,
        inbox: Table | None = None,
    ) -> None:
        self.name = name
        self.max_deliver = max_deliver
        self.backoff = backoff
        self.batch_size = batch_size
        self.ack_wait = ack_wait
        self._inbox = inbox if inbox is not None else _INBOX
        # every (pattern, handler, takes a list) in registration order
        self._order: list[tuple[str, Callable[..., Awaitable[None]], bool]] = []
        # every handler of an event type, in registration order, cached per type
        self._routes: dict[str, tuple[_Route, ...]] = {}
        self._inbox_sql: TextClause | None = None
        self._reset_hooks: list[ResetHook] = []
        self._context: Callable[[AsyncSession], Context] = lambda session: Context(session)
        Consumer.registry[name] = self

    def bind(self, app: Any) -> None:
        """Handlers get ``app``'s context (its clock, settings and access rules)."""
        self._context = lambda session: context_for(app, session)

    def context(self, session: AsyncSession) -> Context:
        return self._context(session)

    # -- registration ----------------------------------------------------------------------

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        """Register a handler for event types or patterns (``*`` one token, ``>`` the rest)."""
        if not patterns:
            raise ValueError("on() needs at least one event type")
        for p in patterns:
            _check_pattern(p)

        def register(fn: Handler) -> Handler:
            for p in patterns:
                self._order.append((p, fn, False))
            self._routes.clear()
            return fn

        return register

    def on_batch(self, *patterns: str) -> Callable[[BatchHandler], BatchHandler]:
        """Register a handler that takes a list of events: each run of consecutive events of a
        batch that match ``patterns`` and no other handler, in delivery order (a list of one
        for an event other handlers also take, and for a delivery handled alone)."""
        if not patterns:
            raise ValueError("on_batch() needs at least one event type")
        for p in patterns:
            _check_pattern(p)

        def register(fn: BatchHandler) -> BatchHandler:
            for p in patterns:
                self._order.append((p, fn, True))
            self._routes.clear()
            return fn

        return register

    def on_reset(self, fn: ResetHook) -> ResetHook:
        """Register the hook that empties this consumer's projection (``replay --reset``)."""
        self._reset_hooks.append(fn)
        return fn

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p, _, _ in self._order))

    def handlers_for(self, event_type: str) -> list[Handler]:
        """The per-event handlers of ``event_type`` (see :meth:`routes` for all of them)."""
        return [fn for fn, batch in self.routes(event_type) if not batch]

    def routes(self, event_type: str) -> tuple[_Route, ...]:
        """Every handler of ``event_type`` in registration order, each once, with whether it
        takes a list."""
        found = self._routes.get(event_type)
        if found is None:
            seen: dict[Callable[..., Awaitable[None]], bool] = {}
            for p, fn, batch in self._order:
                if fn not in seen and matches(p, event_type):
                    seen[fn] = batch
            found = self._routes[event_type] = tuple(seen.items())
        return found

    def _batch_inbox_sql(self) -> TextClause:
        """The batch's inbox insert: one statement with three array parameters, so it is
        compiled once and prepared once per connection (a multi-row VALUES of n rows is a new
        statement to compile for every batch size)."""
        if self._inbox_sql is None:
            t = self._inbox
            name = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
            self._inbox_sql = text(
                f"INSERT INTO {name} (consumer, event_id, event_type) "
                "SELECT :consumer, i.event_id, i.event_type "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) "
                "AS i(event_id, event_type) "
                "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
            )
        return self._inbox_sql

    def spec(self) -> ConsumerSpec:
        return ConsumerSpec(
            name=self.name,
            patterns=self.patterns,
            max_deliver=self.max_deliver,
            backoff=self.backoff,
            batch_size=self.batch_size,
            ack_wait=self.ack_wait,
        )

    # -- the exactly-once step -------------------------------------------------------------

    async def _apply(self, ctx: Context, event: CloudEvent) -> None:
        routes = self._routes.get(event.type) or self.routes(event.type)
        parent = extract_context({"traceparent": event.traceparent}) if event.traceparent else None
        with _tracer().start_as_current_span(
            f"{event.type} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.operation": "process",
                "messaging.destination.name": event.type,
                "messaging.message.id": str(event.id),
                "messaging.consumer.group.name": self.name,
                "cloudevents.event_subject": event.subject,
            },
        ) as span:
            try:
                session = ctx.session
                for fn, batch in routes:
                    await (fn(ctx, [event]) if batch else fn(ctx, event))
                    if session.new or session.dirty or session.deleted:
                        await session.flush()  # the next event of the batch sees these effects
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    async def _apply_run(self, ctx: Context, fn: BatchHandler, events: list[CloudEvent]) -> None:
        """A run of consecutive events that one batch handler alone takes: one call, in one
        CONSUMER span linked to every event's trace (the batch-processing convention)."""
        if len(events) == 1:
            await self._apply(ctx, events[0])
            return
        links = []
        for e in events:
            if e.traceparent:
                sc = get_current_span(extract_context({"traceparent": e.traceparent}))
                links.append(Link(sc.get_span_context()))
        first = events[0]
        with _tracer().start_as_current_span(
            f"{first.type} process",
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.operation": "process",
                "messaging.destination.name": first.type,
                "messaging.batch.message_count": len(events),
                "messaging.consumer.group.name": self.name,
            },
        ) as span:
            try:
                session = ctx.session
                await fn(ctx, events)
                if session.new or session.dirty or session.deleted:
                    await session.flush()
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    async def _apply_all(self, ctx: Context, events: list[CloudEvent]) -> None:
        """Apply fresh events in delivery order: runs of a lone batch handler together."""
        run: list[CloudEvent] = []
        run_fn: BatchHandler | None = None
        for event in events:
            routes = self._routes.get(event.type) or self.routes(event.type)
            if len(routes) == 1 and routes[0][1]:
                fn = routes[0][0]
                if fn is run_fn:
                    run.append(event)
                    continue
                if run_fn is not None:
                    await self._apply_run(ctx, run_fn, run)
                run_fn, run = fn, [event]
                continue
            if run_fn is not None:
                await self._apply_run(ctx, run_fn, run)
                run_fn, run = None, []
            await self._apply(ctx, event)
        if run_fn is not None:
            await self._apply_run(ctx, run_fn, run)

    async def handle(self, db: Database, event: CloudEvent) -> bool:
        """Apply ``event`` exactly once: inbox insert + handlers + commit in one transaction.

        Returns True if it was applied now, False if the inbox already had it (a duplicate).
        Raises whatever a handler raised (after rolling everything back).
        """
        async with db.unit_of_work() as session:
            # the batch's inbox statement with one id: built once, prepared once per connection
            # (an insert built per event was looked up in the compile cache each time; this is
            # the most common path: at a low rate most batches hold one event)
            inserted = (
                await session.execute(
                    self._batch_inbox_sql(),
                    {"consumer": self.name, "ids": [event.id], "types": [event.type]},
                )
            ).first()
            if inserted is None:
                return False
            await self._apply(self.context(session), event)
        return True

    async def handle_batch(self, db: Database, events: list[CloudEvent]) -> list[bool]:
        """Apply several events in one transaction (in order); all or nothing.

        Same result as calling :meth:`handle` for each, in one round trip for the inbox.
        """
        if not events:
            return []
        async with db.unit_of_work() as session:
            types = {e.id: e.type for e in events}  # a second copy in the batch: one row
            result = await session.execute(
                self._batch_inbox_sql(),
                {"consumer": self.name, "ids": list(types), "types": list(types.values())},
            )
            fresh = {r[0] for r in result}
            applied: list[bool] = []
            todo: list[CloudEvent] = []
            for event in events:
                if event.id in fresh:
                    fresh.discard(event.id)  # a second copy in the same batch is a duplicate
                    todo.append(event)
                    applied.append(True)
                else:
                    applied.append(False)
            await self._apply_all(self.context(session), todo)
        return applied

    async def reset(self, db: Database) -> None:
        """Run the reset hooks and forget the inbox rows, in one transaction."""
        async with db.unit_of_work() as session:
            for hook in self._reset_hooks:
                await hook(session)
            await session.execute(delete(self._inbox).where(self._inbox.c.consumer == self.name))

    # -- running on a bus ------------------------------------------------------------------

    async def process(self, db: Database, deliveries: list[Delivery]) -> None:
        """Handle a batch from the broker and settle every delivery (see module docstring)."""
        started = time.perf_counter()
        outcomes = dict.fromkeys(_OUTCOMES, 0)
        try:
            await self._process(db, deliveries, outcomes)
        finally:
            last = deliveries[-1] if deliveries else None
            consumer_observed(
                self.name,
                outcomes=outcomes,
                redeliveries=sum(1 for d in deliveries if _redelivered(d)),
                # one metadata read per batch: the broker's count after its last delivery
                pending=getattr(last, "pending", None),
                seconds=time.perf_counter() - started,
            )

    async def _process(
        self, db: Database, deliveries: list[Delivery], outcomes: dict[str, int]
    ) -> None:
        parsed: list[tuple[Delivery, CloudEvent]] = []
        unrouted: list[Delivery] = []
        for d in deliveries:
            try:
                event = CloudEvent.from_json(d.body)
            except Exception as exc:
                outcomes["malformed"] += 1
                await _settle(d.dead_letter(f"malformed event: {exc}"), d, 60.0)
                continue
            if self._routes.get(event.type) or self.routes(event.type):
                parsed.append((d, event))
            else:
                unrouted.append(d)
        if unrouted:
            # a type no handler takes (a NATS server before 2.10 ignores a durable's several
            # filter subjects and delivers its whole stream): nothing to apply, so no
            # transaction and no inbox row, just the acks
            outcomes["skipped"] += len(unrouted)
            await ack_all(unrouted)
        while parsed:
            try:
                await self._apply_deliveries(db, parsed, outcomes)
                return
            except _DatabaseDown as down:
                parsed = down.unsettled
                await self._wait_for_database(db, [d for d, _ in parsed], down.cause)

    async def _wait_for_database(
        self, db: Database, held: list[Delivery], cause: BaseException
    ) -> None:
        """The database is down or restarting: not the events' fault, so no attempt is charged
        to them (a retry count spent during an outage dead-lettered events that were fine: the
        chaos run's PostgreSQL kill lost a completion that way). Hold the deliveries (telling
        the broker they are in progress) and probe the database until it answers."""
        log.warning(
            "consumer %s: database unavailable (%r); holding %d deliveries until it is back",
            self.name,
            cause,
            len(held),
        )
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            for d in held:
                with contextlib.suppress(Exception):
                    await d.in_progress()
            try:
                async with db.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                delay = min(delay * 2, 5.0)
                continue
            log.info("consumer %s: database back; applying the held deliveries", self.name)
            return

    async def _apply_deliveries(
        self,
        db: Database,
        parsed: list[tuple[Delivery, CloudEvent]],
        outcomes: dict[str, int],
    ) -> None:
        """Apply and settle ``parsed``; raises :class:`_DatabaseDown` with what is still
        unsettled when the database cannot be reached."""
        if len(parsed) > 1:
            try:
                applied = await self.handle_batch(db, [e for _, e in parsed])
            except Exception as exc:
                if database_unavailable(exc):
                    raise _DatabaseDown(parsed, exc) from exc
                log.info(
                    "consumer %s: batch of %d failed (%r), one by one", self.name, len(parsed), exc
                )
            else:
                # committed: acknowledge the whole batch together (RabbitMQ: one multiple ack
                # when nothing earlier on the channel is still held; NATS: acks are
                # fire-and-forget publishes, buffered and flushed together)
                await ack_all([d for d, _ in parsed])
                outcomes["applied"] += sum(applied)
                outcomes["duplicate"] += len(applied) - sum(applied)
                return
        for i, (d, event) in enumerate(parsed):
            try:
                fresh = await self.handle(db, event)
            except Exception as exc:
                if database_unavailable(exc):
                    raise _DatabaseDown(parsed[i:], exc) from exc
                reason = f"{type(exc).__name__}: {exc}"
                if d.attempt >= self.max_deliver:
                    outcomes["dead_lettered"] += 1
                    log.error(
                        "consumer %s: %s (%s) failed %d times, dead-lettering: %s",
                        self.name,
                        event.id,
                        event.type,
                        d.attempt,
                        reason,
                    )
                    await _settle(d.dead_letter(reason), d, self.spec().backoff_for(d.attempt))
                else:
                    outcomes["retried"] += 1
                    delay = self.spec().backoff_for(d.attempt)
                    log.warning(
                        "consumer %s: %s (%s) failed (attempt %d), retry in %.1fs: %s",
                        self.name,
                        event.id,
                        event.type,
                        d.attempt,
                        delay,
                        reason,
                    )
                    await _settle(d.retry(delay), d, None)
            else:
                outcomes["applied" if fresh else "duplicate"] += 1
                await _settle(d.ack(), d, None)

    async def run(self, db: Database, bus: EventBus) -> None:
        """Consume from ``bus`` until cancelled."""
        if not self.patterns:
            log.warning("consumer %s has no handlers; not consuming", self.name)
            return
        spec = self.spec()
        await bus.consume(spec, lambda batch: self.process(db, batch))


_OUTCOMES = ("applied", "duplicate", "retried", "dead_lettered", "malformed", "skipped")


class _DatabaseDown(Exception):
    def __init__(self, unsettled: list[tuple[Delivery, CloudEvent]], cause: BaseException):
        super().__init__(repr(cause))
        self.unsettled = unsettled
        self.cause = cause


def _redelivered(d: Delivery) -> bool:
    """Whether a delivery is a redelivery (read only when the adapter knows it cheaply)."""
    try:
        return d.redelivered
    except Exception:
        return False


async def _settle(op: Awaitable[None], d: Delivery, fallback_retry: float | None) -> None:
    try:
        await op
    except Exception as exc:
        # the broker redelivers an unsettled message (ack_wait / channel close); nothing is lost
        log.warning("settling a delivery failed: %r", exc)
        if fallback_retry is not None:
            try:
                await d.retry(fallback_retry)
            except Exception as exc2:
                log.warning("and the fallback retry failed: %r", exc2)


@dataclass
class ReplayResult:
    seen: int = 0
    applied: int = 0
    failed: int = 0


async def replay(
    consumer: Consumer,
    db: Database,
    bus: EventBus,
    *,
    since: datetime | None = None,
    reset: bool = False,
) -> ReplayResult:
    """Rebuild a consumer's projection from the broker's retained history.

    Reads every retained event matching the consumer's patterns (from ``since``) through a
    temporary reader (NATS: an ephemeral consumer with ``DeliverPolicy.ALL`` per stream; RabbitMQ:
    the ``vc.events.history`` stream queue from offset ``first``) and applies it with
    :meth:`Consumer.handle_batch`. Without ``reset`` the inbox skips what was already applied (a
    replay then only fills gaps); with ``reset`` the reset hooks run first and the inbox rows are
    dropped, so the projection is rebuilt from scratch. Stop live consumption of this consumer
    while a reset replay runs.
    """
    if reset:
        await consumer.reset(db)
    result = ReplayResult()
    async for bodies in bus.history(consumer.patterns, since=since):
        events = []
        for body in bodies:
            try:
                events.append(CloudEvent.from_json(body))
            except Exception as exc:
                log.warning("replay %s: skipping malformed event: %r", consumer.name, exc)
        result.seen += len(events)
        try:
            result.applied += sum(await consumer.handle_batch(db, events))
        except Exception:
            for event in events:
                try:
                    result.applied += await consumer.handle(db, event)
                except Exception as exc:
                    result.failed += 1
                    log.error(
                        "replay %s: %s (%s) failed: %r", consumer.name, event.id, event.type, exc
                    )
    return result
