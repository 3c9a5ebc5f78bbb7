"""The outbox relay: publishes committed outbox rows to the broker, in order, at least once.

Guarantees
----------
- **Published iff committed.** Rows only exist once the producing transaction committed
  (:func:`~vc_common.events.outbox.add_event`). A row is marked ``sent_at`` only *after* the
  broker acknowledged it (PubAck / publisher confirm), in the transaction that claimed it. A crash
  before the publish, or after it but before that commit, leaves the row pending; it is published
  again (at least once). JetStream drops the duplicate by ``Nats-Msg-Id``; on either broker the
  consumer's inbox makes the second copy a no-op.
- **Several replicas.** Each batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside
  one transaction that stays open while the batch is published; replicas never publish the same
  row at the same time and never wait on each other.
- **Order per subject.** Rows are published in ``seq`` order, but SKIP LOCKED alone would let
  replica B claim event *n+1* of a subject while replica A is still publishing event *n*. So the
  claim keeps a claimed row only if *every* earlier pending row of its subject is in the same
  claimed set: an earlier pending row held by another replica, or waiting for its backoff, blocks
  the rest of its subject until it is sent (later rows stay locked and untouched until the next
  round). The check reads the table without locks, so a row another replica has just sent but
  whose commit this statement does not see yet only delays us by one round: it errs on the safe
  side. Within a batch the rows are published in *waves*: the first pending row of every subject,
  then the second, ...; a wave's acknowledgements are awaited together before the next one, and a
  row that fails stops the later rows of its subject in this batch. (Different subjects are
  unordered, as the contract allows.) ``seq`` is assigned at insert; two transactions can write
  events for the same subject concurrently only if they do not both lock the aggregate, which
  every service does by updating it before calling ``add_event``.
- **Pipelined rounds.** While a backlog drains (batches come back full), the relay claims and
  publishes batch *k+1* while batch *k*'s marks commit on another connection: the broker's
  round trips overlap the database's instead of adding up (serially, the UPDATE and COMMIT were
  a quarter of a round). Batch *k*'s rows are still locked, so the claim skips them, and its
  ordering check counts them as done only because this relay holds their broker
  acknowledgements (any other replica still sees them pending and waits); its rows that
  failed or were held back still block their subjects. So a row is still published only after
  every earlier row of its subject was acknowledged; if batch *k*'s commit fails, its rows are
  simply published again (duplicates, as after a crash). At most one commit is in flight.
- **Failures.** A row the broker rejects gets ``attempts + 1``, ``last_error`` and
  ``next_attempt_at = now() + base * 2**attempts`` (capped); after ``max_attempts`` it is set aside
  with ``dead_at`` (``python -m vc_common.events dead list|redrive``). A dead row no longer blocks
  its subject. A broker *outage* (nothing in the batch acknowledged, connection down or timing
  out) is not charged to the rows: the batch is rolled back and the relay itself backs off and
  retries, so an outage of any length dead-letters nothing and the outbox simply accumulates.
- **Wake-up.** ``add_event`` issues ``pg_notify('outbox_<service>')`` in the producing transaction
  (delivered at commit); the relay LISTENs on a dedicated connection and also polls every
  ``poll_interval`` seconds (and after a full batch immediately), so a lost notification or a
  broken LISTEN connection only costs latency.
- **Retention.** Sent rows are purged once ``sent_at`` is older than ``retention_hours``.
- **Tracing.** When spans are exported each publish is a PRODUCER span (``<type> publish``)
  under the event's own context (its outbox write, see ``add_event``), ended at the broker's ack.
- **Lag.** :meth:`OutboxRelay.stats` gives the pending count and the age of the oldest unsent row;
  it feeds the ``vc.outbox.lag`` metric and the ``/readyz`` check (``runtime.outbox_readiness``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from vc_common.db import Database
from vc_common.events.bus import BrokerUnavailable, EventBus, OutgoingMessage
from vc_common.events.tables import EventTables
from vc_common.telemetry import exporting, extract_context, tracer

log = logging.getLogger("vc.events.relay")


@dataclass
class OutboxStats:
    pending: int
    lag_seconds: float
    dead: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "lag_seconds": round(self.lag_seconds, 3),
            "dead": self.dead,
        }


@dataclass
class _Row:
    seq: int
    id: str
    type: str
    subject: str
    body: str  # the stored CloudEvent JSON, published as is (no decode/re-encode)
    traceparent: str | None
    attempts: int

    def message(self) -> OutgoingMessage:
        return OutgoingMessage(
            id=self.id,
            type=self.type,
            subject=self.subject,
            body=self.body.encode(),
            traceparent=self.traceparent,
        )


@dataclass
class _Batch:
    """A claimed and published batch: the seqs the broker acknowledged, the rows it refused."""

    full: bool
    sent: list[int]
    failed: list[tuple[_Row, BaseException]]


async def _settled(committing: asyncio.Future[None], service: str) -> None:
    """Wait for a batch's commit. If it failed, its rows stay pending and are published again
    (duplicates the broker's dedup window and the consumers' inbox absorb); already published,
    they still precede every later row of their subjects on the broker."""
    try:
        await committing
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled, not just the commit (stop())
    except Exception:
        log.exception("outbox %s: marking a published batch as sent failed", service)


def channel_name(service: str) -> str:
    return f"outbox_{service}"


def _is_outage(errors: Sequence[BaseException]) -> bool:
    def transient(e: BaseException) -> bool:
        name = type(e).__name__
        return isinstance(e, BrokerUnavailable | TimeoutError | ConnectionError | OSError) or any(
            w in name for w in ("Connection", "Closed", "Timeout", "InvalidState", "Stale")
        )

    return all(transient(e) for e in errors)


class OutboxRelay:
    """Publishes a service's outbox. Start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(
        self,
        db: Database,
        tables: EventTables,
        bus: EventBus,
        *,
        service: str,
        batch_size: int = 500,
        max_attempts: int = 10,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        poll_interval: float = 1.0,
        publish_timeout: float = 5.0,
        retention_hours: float = 72.0,
        purge_interval: float = 600.0,
        listen: bool = True,
        before_publish: Callable[[list[OutgoingMessage]], Any] | None = None,
    ) -> None:
        self.db = db
        self.tables = tables
        self.bus = bus
        self.service = service
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        self.retention_hours = retention_hours
        self.purge_interval = purge_interval
        self.listen = listen
        self.before_publish = before_publish
        self.published = 0
        self.last_stats: OutboxStats | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        t = tables.outbox
        self._table = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
        # The claim, then the ordering check as a second statement over the claimed subjects'
        # pending rows only (an index range scan of ix_outbox_pending_subject), finished in
        # Python. It was one statement with a `blocked` CTE; on an outbox PostgreSQL had no
        # statistics for yet (a backlog growing during an outage, before autovacuum's ANALYZE)
        # the planner estimated one claimed row and re-ran the aggregate once per claimed row:
        # EXPLAIN ANALYZE 522 ms a claim of 500 (249,500 heap fetches) instead of 11 ms with
        # statistics. Two plain statements cannot go quadratic whatever the statistics say.
        self._claim_sql = text(f"""
            SELECT seq, id, type, subject, payload::text AS body,
                   payload->>'traceparent' AS traceparent, attempts
            FROM {self._table}
            WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
            ORDER BY seq
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
        """)
        self._earlier_sql = text(f"""
            SELECT subject, seq FROM {self._table}
            WHERE sent_at IS NULL AND dead_at IS NULL
              AND subject = ANY(CAST(:subjects AS text[])) AND seq < :max_seq
            ORDER BY subject, seq
        """)

    async def _claim(
        self, session: Any, inflight: frozenset[int] = frozenset()
    ) -> tuple[list[_Row], bool]:
        """Lock up to ``batch_size`` pending rows and keep those whose every earlier pending
        row of the same subject is claimed too (see the module docstring), or is in
        ``inflight``: rows this relay has published (broker-acknowledged) and is committing as
        sent right now, on another connection."""
        rows = [
            _Row(r.seq, str(r.id), r.type, r.subject, r.body, r.traceparent, r.attempts)
            for r in await session.execute(self._claim_sql, {"limit": self.batch_size})
        ]
        full = len(rows) >= self.batch_size
        if not rows:
            return rows, full
        claimed = {r.seq for r in rows}
        first_blocked: dict[str, int] = {}
        for subject, seq in await session.execute(
            self._earlier_sql,
            {"subjects": list({r.subject for r in rows}), "max_seq": rows[-1].seq},
        ):
            if seq not in claimed and seq not in inflight and subject not in first_blocked:
                first_blocked[subject] = seq  # ordered by seq: the first one
        if first_blocked:
            rows = [r for r in rows if r.seq < first_blocked.get(r.subject, r.seq + 1)]
        return rows, full

    # -- one round -------------------------------------------------------------------------

    async def run_once(self) -> tuple[int, bool]:
        """Claim, publish and mark one batch. Returns (published, batch was full).

        Raises :class:`BrokerUnavailable` when the broker acknowledged nothing (outage): the
        claim is rolled back and no attempt is charged.
        """
        async with self.db.sessionmaker() as session, session.begin():
            batch = await self._claim_and_publish(session)
            if batch is None:
                return 0, False
            await self._mark(session, batch)
        self.published += len(batch.sent)
        return len(batch.sent), batch.full

    async def _claim_and_publish(
        self, session: Any, inflight: frozenset[int] = frozenset()
    ) -> _Batch | None:
        """Claim a batch in ``session``'s transaction and publish it; None: nothing to send."""
        rows, full = await self._claim(session, inflight)
        if not rows:
            return None
        sent, failed = await self._publish(rows)
        if not sent and failed and _is_outage([e for _, e in failed]):
            raise BrokerUnavailable(f"broker acknowledged nothing: {failed[0][1]!r}")
        return _Batch(full, sent, failed)

    async def _mark(self, session: Any, batch: _Batch) -> None:
        """Record what the broker acknowledged (sent) and what it refused (backoff, dead)."""
        sent, failed = batch.sent, batch.failed
        if sent:
            await session.execute(
                text(
                    f"UPDATE {self._table} SET sent_at = now(), attempts = attempts + 1 "
                    "WHERE seq = ANY(:seqs)"
                ),
                {"seqs": sent},
            )
        if failed:
            await session.execute(
                text(f"""
                UPDATE {self._table} SET attempts = attempts + 1, last_error = :err,
                  next_attempt_at = now() + make_interval(secs => :delay),
                  dead_at = CASE WHEN attempts + 1 >= :max THEN now() END
                WHERE seq = :seq"""),
                [
                    {
                        "seq": row.seq,
                        "err": repr(err)[:2000],
                        "max": self.max_attempts,
                        "delay": min(self.backoff_base * 2**row.attempts, self.backoff_max),
                    }
                    for row, err in failed
                ],
            )
            for row, err in failed:
                log.warning(
                    "outbox %s: publishing %s (%s) failed (attempt %d): %r",
                    self.service,
                    row.id,
                    row.type,
                    row.attempts + 1,
                    err,
                )

    async def _commit(self, session: Any, batch: _Batch) -> None:
        """Mark ``batch`` and commit its transaction (which releases its claim), then close."""
        try:
            await self._mark(session, batch)
            await session.commit()
            self.published += len(batch.sent)
        finally:
            await session.close()

    async def _drain(self) -> None:
        """Rounds back to back until a batch is not full, each batch claimed and published
        while the previous one's marks commit on another connection (see "Pipelined rounds"
        in the module docstring). At most one commit is in flight; they complete in order."""
        committing: asyncio.Future[None] | None = None
        inflight: frozenset[int] = frozenset()
        try:
            while True:
                session = self.db.sessionmaker()
                try:
                    batch = await self._claim_and_publish(session, inflight)
                except BaseException:
                    await session.close()  # rolls the claim back
                    raise
                if committing is not None:
                    await _settled(committing, self.service)
                    committing = None
                if batch is None:
                    await session.close()
                    return
                inflight = frozenset(batch.sent)
                committing = asyncio.ensure_future(self._commit(session, batch))
                if not batch.full:
                    return
        except asyncio.CancelledError:
            if committing is not None:
                committing.cancel()  # rolled back: its rows are published again (duplicates)
            raise
        finally:
            if committing is not None:
                await _settled(committing, self.service)

    async def _publish(
        self, rows: list[_Row]
    ) -> tuple[list[int], list[tuple[_Row, BaseException]]]:
        by_subject: dict[str, list[_Row]] = {}
        for row in rows:
            by_subject.setdefault(row.subject, []).append(row)
        lanes = list(by_subject.values())
        sent: list[int] = []
        failed: list[tuple[_Row, BaseException]] = []
        stopped: set[str] = set()
        depth = max(len(lane) for lane in lanes)
        for i in range(depth):
            wave = [lane[i] for lane in lanes if i < len(lane) and lane[i].subject not in stopped]
            if not wave:
                break
            messages = [r.message() for r in wave]
            if self.before_publish is not None:
                res = self.before_publish(messages)
                if asyncio.iscoroutine(res):
                    await res
            spans = _publish_spans(messages) if exporting() else None
            results = await self.bus.publish_many(messages, ack_timeout=self.publish_timeout)
            if spans is not None:
                _end_spans(spans, results)
            for row, err in zip(wave, results, strict=True):
                if err is None:
                    sent.append(row.seq)
                else:
                    failed.append((row, err))
                    stopped.add(row.subject)
        return sent, failed

    # -- loop ------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        outage_delay = 0.25
        next_purge = time.monotonic() + 5.0
        next_stats = 0.0
        while True:
            try:
                if not self.bus.connected:
                    raise BrokerUnavailable("broker not connected")
                await self._drain()
                outage_delay = 0.25
            except asyncio.CancelledError:
                raise
            except BrokerUnavailable as exc:
                log.debug(
                    "outbox %s: broker unavailable (%s), retrying in %.2fs",
                    self.service,
                    exc,
                    outage_delay,
                )
                await asyncio.sleep(outage_delay)
                outage_delay = min(outage_delay * 2, 5.0)
                continue
            except Exception:
                log.exception("outbox %s: relay round failed", self.service)
                await asyncio.sleep(1.0)
            now = time.monotonic()
            with contextlib.suppress(Exception):
                if now >= next_stats:
                    await self.stats(refresh_dead=True)
                    next_stats = now + 10.0
                if now >= next_purge:
                    await self.purge()
                    next_purge = now + self.purge_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")
            if self.listen and self._listener is None:
                self._listener = asyncio.create_task(
                    self._listen(), name=f"outbox-listen-{self.service}"
                )
        return self._task

    async def stop(self, grace: float = 5.0) -> None:
        tasks = [t for t in (self._task, self._listener) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # bounded: a cancellation swallowed by asyncio.wait_for (Python 3.11) must not hang
            # the service's shutdown
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
                log.warning("outbox %s: relay task did not stop in time", self.service)
        self._task = self._listener = None

    async def _listen(self) -> None:
        """LISTEN ``outbox_<service>`` on a dedicated asyncpg connection; reconnects."""
        import asyncpg

        engine = self.db.engine
        if not isinstance(engine, AsyncEngine):
            return
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn, timeout=5)
                await conn.add_listener(channel_name(self.service), lambda *_: self._wake.set())
                self._wake.set()  # anything committed while we were not listening
                while True:
                    await asyncio.sleep(15)
                    await conn.fetchval("SELECT 1", timeout=5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox %s: LISTEN connection lost (%r)", self.service, exc)
                await asyncio.sleep(2.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)

    # -- operations ------------------------------------------------------------------------

    async def stats(self, *, refresh_dead: bool = False) -> OutboxStats:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*), "
                        "coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                        f"FROM {self._table} WHERE sent_at IS NULL AND dead_at IS NULL"
                    )
                )
            ).one()
            dead = self.last_stats.dead if self.last_stats and not refresh_dead else None
            if dead is None:
                dead = (
                    await conn.execute(
                        text(f"SELECT count(*) FROM {self._table} WHERE dead_at IS NOT NULL")
                    )
                ).scalar_one()
        self.last_stats = OutboxStats(
            pending=int(row[0]), lag_seconds=float(row[1]), dead=int(dead)
        )
        return self.last_stats

    async def purge(self, *, older_than_hours: float | None = None, chunk: int = 5000) -> int:
        hours = self.retention_hours if older_than_hours is None else older_than_hours
        total = 0
        while True:
            async with self.db.engine.begin() as conn:
                n = (
                    await conn.execute(
                        text(
                            f"DELETE FROM {self._table} WHERE seq IN "
                            f"(SELECT seq FROM {self._table} "
                            "WHERE sent_at < now() - make_interval(secs => :secs) LIMIT :chunk)"
                        ),
                        {"secs": hours * 3600, "chunk": chunk},
                    )
                ).rowcount
            total += n
            if n < chunk:
                return total


async def dead_rows(db: Database, tables: EventTables, *, limit: int = 100) -> list[dict[str, Any]]:
    t = tables.outbox
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            t.select().where(t.c.dead_at.is_not(None)).order_by(t.c.seq).limit(limit)
        )
        return [
            {
                "seq": r.seq,
                "id": str(r.id),
                "type": r.type,
                "subject": r.subject,
                "attempts": r.attempts,
                "dead_at": r.dead_at.isoformat(),
                "last_error": r.last_error,
            }
            for r in rows
        ]


async def redrive_dead(
    db: Database, tables: EventTables, *, service: str, seqs: Sequence[int] | None = None
) -> int:
    """Dead outbox rows back to pending (attempts reset), and wake the relay."""
    t = tables.outbox
    stmt = (
        t.update()
        .where(t.c.dead_at.is_not(None))
        .values(dead_at=None, attempts=0, last_error=None, next_attempt_at=text("now()"))
    )
    if seqs:
        stmt = stmt.where(t.c.seq.in_(list(seqs)))
    async with db.engine.begin() as conn:
        n = (await conn.execute(stmt)).rowcount
        await conn.execute(text("SELECT pg_notify(:ch, '')"), {"ch": channel_name(service)})
    return int(n)


def _publish_spans(messages: Sequence[OutgoingMessage]) -> list[Any]:
    t = tracer("vc.events")
    return [
        t.start_span(
            f"{m.type} publish",
            context=extract_context({"traceparent": m.traceparent}) if m.traceparent else None,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.operation": "publish",
                "messaging.destination.name": m.type,
                "messaging.message.id": m.id,
            },
        )
        for m in messages
    ]


def _end_spans(spans: list[Any], results: Sequence[BaseException | None]) -> None:
    for span, err in zip(spans, results, strict=True):
        if err is not None:
            span.record_exception(err)
            span.set_status(Status(StatusCode.ERROR, type(err).__name__))
        span.end()
