"""NATS JetStream adapter (nats-py).

Topology:

- one stream per bounded context, ``EVENTS_<CONTEXT>`` with subjects ``<context>.>``; the NATS
  subject is the event type (``tasks.task.completed``). File storage, ``max_age`` retention (the
  history ``replay`` reads), and a duplicate window: every message carries ``Nats-Msg-Id`` = the
  event id, so a relay that re-publishes after a crash is deduplicated by the broker.
- one durable pull consumer per (consumer, context stream), named after the consumer, with the
  consumer's patterns as ``filter_subjects``, explicit ack, ``ack_wait`` and ``max_deliver``. The
  backoff between attempts is the consumer's schedule, applied with ``nak(delay)``; we do not set
  the server's ``backoff`` list, because the server then applies it to every redelivery, nak'd
  ones included (overriding the nak delay), and it replaces ``ack_wait`` for the first delivery.
- failures: the consumer loop answers a failed delivery with ``nak(delay)`` following the
  consumer's backoff (never an ack); on the last attempt it copies the message into the ``DLQ``
  stream as ``dlq.<consumer>.<type>`` (awaiting the PubAck) and then ``term``\\ s it. The server's
  ``max_deliver`` is set two above the consumer's so a process crashing during the last attempt
  still gets it back once more instead of the message silently leaving the consumer.
- redrive: dead letters are re-published to ``redrive.<consumer>.<type>`` in the work-queue
  stream ``REDRIVE``, which each consumer also pulls (filter ``redrive.<consumer>.>``), so a
  redriven event reaches that consumer only, not every subscriber of the type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from vc_common.events.bus import (
    BatchCallback,
    BrokerUnavailable,
    ConsumerSpec,
    DeadLetter,
    Delivery,
    EventBus,
    OutgoingMessage,
    context_of,
    stream_name,
)

log = logging.getLogger("vc.events.nats")

DLQ_STREAM = "DLQ"
REDRIVE_STREAM = "REDRIVE"


class NatsDelivery(Delivery):
    def __init__(self, bus: NatsBus, msg: Msg, consumer: str) -> None:
        self._bus = bus
        self._msg = msg
        self._consumer = consumer
        self.body = msg.data

    @property
    def attempt(self) -> int:  # type: ignore[override]
        # parsed from the reply subject only when needed (a failure), not for every message
        return int(self._msg.metadata.num_delivered)

    @property
    def redelivered(self) -> bool:
        # the delivery count straight from the ack subject ($JS.ACK.<stream>.<consumer>.<n>...
        # or, v2, $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<n>...): a full metadata parse
        # per message costs ~7 us
        tokens = (self._msg.reply or "").split(".")
        n = tokens[4] if len(tokens) == 9 else tokens[6] if len(tokens) > 6 else "1"
        return n != "1"

    @property
    def pending(self) -> int | None:  # type: ignore[override]
        try:
            return int(self._msg.metadata.num_pending)
        except Exception:
            return None

    @property
    def event_type(self) -> str:
        hdr = self._msg.headers or {}
        if "ce-type" in hdr:
            return hdr["ce-type"]
        prefix = f"redrive.{self._consumer}."
        subj = self._msg.subject
        return subj[len(prefix) :] if subj.startswith(prefix) else subj

    async def ack(self) -> None:
        await self._msg.ack()

    async def retry(self, delay: float) -> None:
        await self._msg.nak(delay=delay)

    async def in_progress(self) -> None:
        await self._msg.in_progress()

    async def dead_letter(self, reason: str) -> None:
        meta = self._msg.metadata
        headers = {k: v for k, v in (self._msg.headers or {}).items() if not k.startswith("Nats-")}
        headers.update(
            {
                "vc-dlq-consumer": self._consumer,
                "vc-dlq-reason": reason[:1000],
                "vc-dlq-stream": meta.stream,
                "vc-dlq-deliveries": str(meta.num_delivered),
                # idempotent: a second dead-lettering of the same stream message is dropped
                "Nats-Msg-Id": f"dlq:{self._consumer}:{meta.stream}:{meta.sequence.stream}",
            }
        )
        await self._bus.js.publish(
            f"dlq.{self._consumer}.{self.event_type}", self._msg.data, headers=headers, timeout=5.0
        )
        await self._msg.term()


class NatsBus(EventBus):
    kind = "nats"

    def __init__(
        self,
        url: str,
        *,
        duplicate_window: float = 120.0,
        max_age: float = 7 * 24 * 3600.0,
        connect_timeout: float = 2.0,
        client_name: str | None = None,
    ) -> None:
        self.url = url
        self.duplicate_window = duplicate_window
        self.max_age = max_age
        self.connect_timeout = connect_timeout
        self.client_name = client_name
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._streams: set[str] = set()
        #: (stream, durable) pairs whose filter subjects the server dropped (warned once)
        self._unfiltered: set[tuple[str, str]] = set()
        self._closed = False
        self._max_pending = 10_000  # PubAcks awaited at once (the relay's batches are smaller)

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise BrokerUnavailable("not connected to NATS")
        return self._js

    async def connect(self) -> None:
        if self._nc is not None:
            return
        self._closed = False

        async def on_error(exc: Exception) -> None:
            log.debug("nats: %s", exc)

        async def on_disconnect() -> None:
            log.warning("nats: disconnected from %s", self.url)

        async def on_reconnect() -> None:
            log.info("nats: reconnected to %s", self.url)

        try:
            nc = await nats.connect(
                self.url,
                name=self.client_name,
                connect_timeout=self.connect_timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
        except Exception as exc:
            raise BrokerUnavailable(f"NATS unreachable at {self.url}: {exc}") from exc
        self._nc = nc
        self._js = nc.jetstream(publish_async_max_pending=self._max_pending)
        try:
            await self._ensure_stream(DLQ_STREAM, ["dlq.>"])
            await self._ensure_stream(
                REDRIVE_STREAM, ["redrive.>"], retention=RetentionPolicy.WORK_QUEUE
            )
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        self._closed = True
        nc, self._nc, self._js = self._nc, None, None
        self._streams.clear()
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.drain()
            with contextlib.suppress(Exception):
                await nc.close()

    async def _ensure_stream(
        self, name: str, subjects: list[str], retention: RetentionPolicy = RetentionPolicy.LIMITS
    ) -> None:
        if name in self._streams:
            return
        try:
            await self.js.stream_info(name)
        except nats.js.errors.NotFoundError:
            cfg = StreamConfig(
                name=name,
                subjects=subjects,
                retention=retention,
                storage=StorageType.FILE,
                max_age=self.max_age,
                duplicate_window=self.duplicate_window,
            )
            try:
                await self.js.add_stream(cfg)
            except nats.js.errors.BadRequestError:
                await self.js.stream_info(name)  # created concurrently by another process
        self._streams.add(name)

    async def ensure_context(self, context: str) -> str:
        name = stream_name(context)
        await self._ensure_stream(name, [f"{context}.>"])
        return name

    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        if not messages:
            return []
        if not self.connected:
            err = BrokerUnavailable("NATS not connected")
            return [err for _ in messages]
        try:
            for ctx in {m.type.split(".", 1)[0] for m in messages}:
                await asyncio.wait_for(self.ensure_context(ctx), ack_timeout)
        except Exception as exc:
            return [BrokerUnavailable(f"stream set-up failed: {exc!r}") for _ in messages]
        futures: list[asyncio.Future[Any] | BaseException] = []
        js = self.js
        for m in messages:
            headers = {"Nats-Msg-Id": m.id, **m.headers()}
            # a stall timeout only when the window may be full: with one, nats-py wraps the
            # semaphore in asyncio.wait_for, a task and a loop round per message (py-spy: 5.9 of
            # the relay's 11.3 s on a 5,000-event backlog went there)
            stall = ack_timeout if js.publish_async_pending() >= self._max_pending else None
            try:
                futures.append(
                    await js.publish_async(m.type, m.body, headers=headers, wait_stall=stall)
                )
            except Exception as exc:
                futures.append(exc)
        pending = [f for f in futures if isinstance(f, asyncio.Future)]
        if pending:
            _done, not_done = await asyncio.wait(pending, timeout=ack_timeout)
            for late in not_done:
                late.cancel()
        out: list[BaseException | None] = []
        for item in futures:
            if isinstance(item, BaseException):
                out.append(item)
            elif item.cancelled():
                out.append(TimeoutError("no PubAck within timeout"))
            elif (failure := item.exception()) is not None:
                if isinstance(failure, nats.js.errors.NoStreamResponseError):
                    self._streams.clear()  # the stream vanished: declare it again next time
                out.append(failure)
            else:
                out.append(None)
        return out

    # -- consuming -------------------------------------------------------------------------

    def _consumer_config(self, spec: ConsumerSpec, filters: list[str]) -> ConsumerConfig:
        server_max = spec.max_deliver + 2
        return ConsumerConfig(
            name=spec.name,
            durable_name=spec.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=spec.ack_wait,
            max_deliver=server_max,
            max_ack_pending=max(spec.batch_size * 4, 100),
            filter_subjects=filters if len(filters) > 1 else None,
            filter_subject=filters[0] if len(filters) == 1 else None,
        )

    async def _add_consumer(self, stream: str, spec: ConsumerSpec, filters: list[str]) -> None:
        """Create or update the durable; say so once when the server dropped its filters (a
        server before 2.10 knows no ``filter_subjects``: the durable then gets the whole
        stream, and the consumer acknowledges the types it does not handle unapplied)."""
        info = await self.js.add_consumer(stream, self._consumer_config(spec, filters))
        unfiltered = len(filters) > 1 and not info.config.filter_subjects
        if unfiltered and (stream, spec.name) not in self._unfiltered:
            self._unfiltered.add((stream, spec.name))
            log.warning(
                "nats server %s ignored the filter subjects %s of consumer %s on %s (they need "
                "2.10): it receives every event of the stream and skips the others",
                self._nc.connected_server_version if self._nc else "?",
                filters,
                spec.name,
                stream,
            )

    def _plan(self, spec: ConsumerSpec) -> dict[str, list[str]]:
        """Stream → filter subjects for the consumer (one durable per context stream)."""
        plan: dict[str, list[str]] = {}
        for p in spec.patterns:
            plan.setdefault(context_of(p), []).append(p)
        return plan

    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        for ctx, filters in self._plan(spec).items():
            stream = await self.ensure_context(ctx)
            await self._add_consumer(stream, spec, filters)

    async def consume(self, spec: ConsumerSpec, callback: BatchCallback) -> None:
        loops = [
            self._pull_loop(spec, callback, ctx, filters)
            for ctx, filters in self._plan(spec).items()
        ]
        loops.append(self._pull_loop(spec, callback, None, [f"redrive.{spec.name}.>"]))
        async with asyncio.TaskGroup() as tg:
            for coro in loops:
                tg.create_task(coro)

    async def _pull_loop(
        self, spec: ConsumerSpec, callback: BatchCallback, context: str | None, filters: list[str]
    ) -> None:
        delay = 0.5
        while not self._closed:
            sub = None
            try:
                if not self.connected:
                    await asyncio.sleep(0.5)
                    continue
                if context is None:
                    stream = REDRIVE_STREAM
                    await self._ensure_stream(
                        stream, ["redrive.>"], retention=RetentionPolicy.WORK_QUEUE
                    )
                else:
                    stream = await self.ensure_context(context)
                await self._add_consumer(stream, spec, filters)
                sub = await self.js.pull_subscribe_bind(durable=spec.name, stream=stream)
                delay = 0.5
                while not self._closed:
                    try:
                        msgs = await self._fetch(sub, spec.batch_size)
                    except (TimeoutError, nats.errors.TimeoutError):
                        continue
                    if msgs:
                        await callback([NatsDelivery(self, m, spec.name) for m in msgs])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "nats consumer %s (%s) failed: %r; retrying",
                    spec.name,
                    context or "redrive",
                    exc,
                )
                self._streams.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    #: how long a fetch waits for more messages once it has one (the added latency bound)
    batch_linger = 0.005

    async def _fetch(self, sub: Any, batch: int) -> list[Msg]:
        """The next batch as soon as one message is there: a pull of ``batch`` that waits for
        its first message keeps waiting for the rest until its timeout (nats-py collects up to
        ``batch`` before returning), which at a low rate held every event up to a second. So:
        wait (long) for one, then take what else is there within ``batch_linger``."""
        msgs: list[Msg] = await sub.fetch(1, timeout=1.0)
        if batch > 1 and msgs:
            with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
                msgs += await sub.fetch(batch - 1, timeout=self.batch_linger)
        return msgs

    async def delete_consumer(self, spec: ConsumerSpec) -> None:
        for ctx in self._plan(spec):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self.js.delete_consumer(stream_name(ctx), spec.name)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_consumer(REDRIVE_STREAM, spec.name)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.purge_stream(DLQ_STREAM, subject=f"dlq.{spec.name}.>")
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.purge_stream(REDRIVE_STREAM, subject=f"redrive.{spec.name}.>")

    async def delete_context(self, context: str) -> None:
        """Drop a context's stream (tests)."""
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_stream(stream_name(context))
        self._streams.discard(stream_name(context))

    # -- dead letters ----------------------------------------------------------------------

    async def _dead_letters(self, consumer: str, limit: int | None) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        seq = 1
        while limit is None or len(out) < limit:
            try:
                raw = await self.js.get_msg(
                    DLQ_STREAM, seq=seq, subject=f"dlq.{consumer}.>", next=True
                )
            except nats.js.errors.NotFoundError:
                break
            hdr = raw.headers or {}
            prefix = f"dlq.{consumer}."
            out.append(
                DeadLetter(
                    consumer=consumer,
                    type=(raw.subject or "")[len(prefix) :],
                    event_id=hdr.get("ce-id", ""),
                    reason=hdr.get("vc-dlq-reason", ""),
                    body=raw.data or b"",
                    ref=(raw.seq, dict(hdr)),
                )
            )
            seq = (raw.seq or seq) + 1
        return out

    async def dlq_list(self, consumer: str, *, limit: int = 100) -> list[DeadLetter]:
        return await self._dead_letters(consumer, limit)

    async def dlq_redrive(self, consumer: str, *, limit: int | None = None) -> int:
        n = 0
        for dl in await self._dead_letters(consumer, limit):
            seq, hdr = dl.ref
            headers = {k: v for k, v in hdr.items() if not k.startswith(("Nats-", "vc-dlq-"))}
            headers["Nats-Msg-Id"] = f"redrive:{consumer}:{seq}"
            await self.js.publish(
                f"redrive.{consumer}.{dl.type}", dl.body, headers=headers, timeout=5.0
            )
            await self.js.delete_msg(DLQ_STREAM, seq)
            n += 1
        return n

    # -- history (replay) ------------------------------------------------------------------

    async def history(
        self, patterns: Sequence[str], *, since: datetime | None = None, batch_size: int = 500
    ) -> AsyncIterator[list[bytes]]:
        spec = ConsumerSpec(name="replay", patterns=tuple(patterns))
        for ctx, filters in self._plan(spec).items():
            stream = stream_name(ctx)
            try:
                info = await self.js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                continue
            last_seq = info.state.last_seq
            if info.state.messages == 0:
                continue
            name = f"replay-{uuid.uuid4().hex[:12]}"
            cfg = ConsumerConfig(
                name=name,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
                mem_storage=True,
                deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
                opt_start_time=since.astimezone(UTC).isoformat() if since else None,  # type: ignore[arg-type]
                filter_subjects=filters if len(filters) > 1 else None,
                filter_subject=filters[0] if len(filters) == 1 else None,
            )
            await self.js.add_consumer(stream, cfg)
            try:
                sub = await self.js.pull_subscribe_bind(name=name, stream=stream)
                done = False
                while not done:
                    try:
                        msgs = await sub.fetch(batch_size, timeout=2.0)
                    except (TimeoutError, nats.errors.TimeoutError):
                        break
                    batch = []
                    for m in msgs:
                        if m.metadata.sequence.stream > last_seq:
                            done = True
                            break
                        batch.append(m.data)
                        if m.metadata.num_pending == 0 or m.metadata.sequence.stream == last_seq:
                            done = True
                    if batch:
                        yield batch
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            finally:
                with contextlib.suppress(Exception):
                    await self.js.delete_consumer(stream, name)
