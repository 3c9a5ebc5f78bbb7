"""Consumers: exactly-once *effects* on top of at-least-once delivery.

::

    consumer = Consumer("teams")

    @consumer.on("identity.user.registered", "identity.user.updated")
    async def on_user(session: AsyncSession, event: CloudEvent) -> None:
        ...  # effects in `session`, committed together with the inbox row

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
- **Tracing.** Each event is handled in a CONSUMER span whose parent is the envelope's
  ``traceparent``: the consumer continues the trace of the request that caused the event.
- Consumers ignore fields they do not know (``CloudEvent`` allows extra fields; handlers read
  ``event.data`` keys they need).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import String, Table, TextClause, Uuid, column, delete, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.db import Database
from vc_common.events.bus import (
    ConsumerSpec,
    Delivery,
    EventBus,
    _check_pattern,
    ack_all,
    matches,
)
from vc_common.events.envelope import CloudEvent
from vc_common.telemetry import extract_context, tracer

log = logging.getLogger("vc.events.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
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
        self._handlers: list[tuple[str, Handler]] = []
        self._by_type: dict[str, list[Handler]] = {}  # handlers_for, cached per event type
        self._inbox_sql: TextClause | None = None
        self._reset_hooks: list[ResetHook] = []
        Consumer.registry[name] = self

    # -- registration ----------------------------------------------------------------------

    def on(self, *patterns: str) -> Callable[[Handler], Handler]:
        """Register a handler for event types or patterns (``*`` one token, ``>`` the rest)."""
        if not patterns:
            raise ValueError("on() needs at least one event type")
        for p in patterns:
            _check_pattern(p)

        def register(fn: Handler) -> Handler:
            for p in patterns:
                self._handlers.append((p, fn))
            self._by_type.clear()
            return fn

        return register

    def on_reset(self, fn: ResetHook) -> ResetHook:
        """Register the hook that empties this consumer's projection (``replay --reset``)."""
        self._reset_hooks.append(fn)
        return fn

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p, _ in self._handlers))

    def handlers_for(self, event_type: str) -> list[Handler]:
        found = self._by_type.get(event_type)
        if found is None:
            found = list(dict.fromkeys(fn for p, fn in self._handlers if matches(p, event_type)))
            self._by_type[event_type] = found
        return list(found)

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

    async def _apply(self, session: AsyncSession, event: CloudEvent) -> None:
        ctx = extract_context({"traceparent": event.traceparent}) if event.traceparent else None
        with tracer("vc.events").start_as_current_span(
            f"{event.type} process",
            context=ctx,
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
                for fn in self._by_type.get(event.type) or self.handlers_for(event.type):
                    await fn(session, event)
                    if session.new or session.dirty or session.deleted:
                        await session.flush()  # the next event of the batch sees these effects
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    async def handle(self, db: Database, event: CloudEvent) -> bool:
        """Apply ``event`` exactly once: inbox insert + handlers + commit in one transaction.

        Returns True if it was applied now, False if the inbox already had it (a duplicate).
        Raises whatever a handler raised (after rolling everything back).
        """
        async with db.unit_of_work() as session:
            inserted = (
                await session.execute(
                    pg_insert(self._inbox)
                    .values(consumer=self.name, event_id=event.id, event_type=event.type)
                    .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
                    .returning(self._inbox.c.event_id)
                )
            ).first()
            if inserted is None:
                return False
            await self._apply(session, event)
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
            for event in events:
                if event.id in fresh:
                    fresh.discard(event.id)  # a second copy in the same batch is a duplicate
                    await self._apply(session, event)
                    applied.append(True)
                else:
                    applied.append(False)
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
        parsed: list[tuple[Delivery, CloudEvent]] = []
        for d in deliveries:
            try:
                parsed.append((d, CloudEvent.from_json(d.body)))
            except Exception as exc:
                await _settle(d.dead_letter(f"malformed event: {exc}"), d, 60.0)
        if not parsed:
            return
        if len(parsed) > 1:
            try:
                await self.handle_batch(db, [e for _, e in parsed])
            except Exception as exc:
                log.info(
                    "consumer %s: batch of %d failed (%r), one by one", self.name, len(parsed), exc
                )
            else:
                # committed: acknowledge the whole batch together (RabbitMQ: one multiple ack
                # when nothing earlier on the channel is still held; NATS: acks are
                # fire-and-forget publishes, buffered and flushed together)
                await ack_all([d for d, _ in parsed])
                return
        for d, event in parsed:
            try:
                await self.handle(db, event)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if d.attempt >= self.max_deliver:
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
                await _settle(d.ack(), d, None)

    async def run(self, db: Database, bus: EventBus) -> None:
        """Consume from ``bus`` until cancelled."""
        if not self.patterns:
            log.warning("consumer %s has no handlers; not consuming", self.name)
            return
        spec = self.spec()
        await bus.consume(spec, lambda batch: self.process(db, batch))


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
