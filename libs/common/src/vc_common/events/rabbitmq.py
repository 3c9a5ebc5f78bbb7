"""RabbitMQ adapter (aio-pika).

Topology:

- topic exchange ``vc.events``; the routing key is the event type; every publish waits for its
  publisher confirm; ``message_id`` = event id, ``type`` = event type, ``traceparent`` header.
- per consumer a durable *quorum* queue ``<consumer>`` bound with the consumer's patterns
  (``identity.user.*`` stays, a final ``>`` becomes ``#``), with ``x-single-active-consumer``
  (one replica consumes at a time, so the queue's order is the processing order), a prefetch, a
  ``x-delivery-limit`` and dead-lettering (``at-least-once`` strategy) to the direct exchange
  ``vc.dlx`` → queue ``<consumer>.dlq``.
- backoff: a failed delivery is held unacknowledged for the backoff delay (a timer, the consumer
  keeps processing other messages), then ``nack(requeue=True)``; the quorum queue counts
  deliveries (``x-delivery-count``). On the consumer's last attempt the message is
  ``nack(requeue=False)``\\ ed: the broker moves it to the DLQ atomically. We chose nack+timer over
  a TTL delay queue because a delay queue means publishing a copy and acking the original (the
  failed message *is* acknowledged and its delivery count lost), per-message TTLs only expire at
  the head of a queue (a long backoff blocks shorter ones behind it), and it needs one more queue
  per consumer. The cost is a prefetch slot held during the delay; a crash during it just
  redelivers the message (counted by the quorum queue). The broker's own delivery limit is two
  above the consumer's and only matters when a process crashes on every attempt.
- history: every event is also routed (binding ``#``) to the stream queue ``vc.events.history``
  (``x-queue-type=stream``, ``x-max-age``), which ``replay`` reads from offset ``first`` (or a
  timestamp) up to a marker it appends first, so a replay ends at "now".
- redrive: dead letters are re-published through the default exchange straight to the queue
  ``<consumer>``, so only that consumer sees them again (with a fresh delivery count).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from vc_common.events.bus import (
    BatchCallback,
    BrokerUnavailable,
    ConsumerSpec,
    DeadLetter,
    Delivery,
    EventBus,
    OutgoingMessage,
    amqp_binding,
    matches,
)

log = logging.getLogger("vc.events.rabbitmq")

EXCHANGE = "vc.events"
DLX = "vc.dlx"
HISTORY = "vc.events.history"
_MARKER = "vc-replay-marker"
_PERSISTENT = int(aio_pika.DeliveryMode.PERSISTENT)


class _Unsettled:
    """Deliveries of one consume loop not yet settled, by delivery tag (for multiple acks)."""

    def __init__(self) -> None:
        self.open: dict[int, AbstractIncomingMessage] = {}


class RabbitDelivery(Delivery):
    def __init__(
        self, bus: RabbitBus, msg: AbstractIncomingMessage, unsettled: _Unsettled | None = None
    ) -> None:
        self._bus = bus
        self._msg = msg
        self._unsettled = unsettled
        self.body = msg.body
        count = (msg.headers or {}).get("x-delivery-count", 0)
        self.attempt = int(count) + 1 if isinstance(count, int | str) else 1

    def _settled(self) -> None:
        if self._unsettled is not None and self._msg.delivery_tag is not None:
            self._unsettled.open.pop(self._msg.delivery_tag, None)

    async def ack(self) -> None:
        await self._msg.ack()
        self._settled()

    @classmethod
    async def ack_many(cls, deliveries: Sequence[Delivery]) -> None:
        """One ``basic.ack(multiple=True)`` for the highest delivery tag when every unsettled
        delivery up to it on that channel is in ``deliveries``: a multiple ack must never cover a
        message held for a retry timer (that would acknowledge a failed event). Else one by
        one."""
        ds = [d for d in deliveries if isinstance(d, RabbitDelivery)]
        top = max(ds, key=lambda d: d._msg.delivery_tag or 0, default=None)
        if (
            top is None
            or len(ds) != len(deliveries)
            or len(ds) < 2
            or top._unsettled is None
            or top._msg.delivery_tag is None
        ):
            for d in deliveries:
                await d.ack()
            return
        channel, tag, unsettled = top._msg.channel, top._msg.delivery_tag, top._unsettled
        mine = {
            t for d in ds if (t := d._msg.delivery_tag) is not None and d._msg.channel is channel
        }
        covered = True
        for t, m in list(unsettled.open.items()):
            if m.channel is not channel:
                unsettled.open.pop(t, None)  # an old channel: the broker requeued those
            elif t <= tag and t not in mine:
                covered = False
        if not covered or len(mine) != len(ds):
            for d in deliveries:
                await d.ack()
            return
        await top._msg.ack(multiple=True)
        for t in mine:
            unsettled.open.pop(t, None)

    async def retry(self, delay: float) -> None:
        async def later() -> None:
            try:
                await asyncio.sleep(delay)
                with contextlib.suppress(Exception):  # channel gone: the broker requeues anyway
                    await self._msg.nack(requeue=True)
            finally:
                self._settled()

        task = asyncio.create_task(later())
        self._bus._timers.add(task)
        task.add_done_callback(self._bus._timers.discard)

    async def dead_letter(self, reason: str) -> None:
        log.warning("dead-lettering %s (%s): %s", self._msg.message_id, self._msg.type, reason)
        await self._msg.nack(requeue=False)
        self._settled()


class RabbitBus(EventBus):
    kind = "rabbitmq"

    def __init__(
        self,
        url: str,
        *,
        history: bool = True,
        history_max_age: str = "7D",
        connect_timeout: float = 3.0,
        linger: float = 0.002,
        linger_max: float = 0.005,
    ) -> None:
        self.url = url
        self.linger = linger
        self.linger_max = linger_max
        self.history_enabled = history
        self.history_max_age = history_max_age
        self.connect_timeout = connect_timeout
        self._conn: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed and self._conn.connected.is_set()

    async def connect(self) -> None:
        if self._conn is not None:
            return
        self._closed = False
        try:
            conn = await aio_pika.connect_robust(
                self.url, timeout=self.connect_timeout, reconnect_interval=1.0
            )
        except Exception as exc:
            raise BrokerUnavailable(f"RabbitMQ unreachable at {self.url}: {exc}") from exc
        self._conn = conn
        try:
            self._channel = await conn.channel(publisher_confirms=True)
            self._exchange = await self._declare_topology(self._channel)
        except Exception:
            await self.close()
            raise

    async def _declare_topology(self, ch: AbstractChannel) -> AbstractExchange:
        ex = await ch.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await ch.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        if self.history_enabled:
            q = await self._declare_history(ch)
            await q.bind(ex, "#")
        return ex

    async def _declare_history(self, ch: AbstractChannel) -> aio_pika.abc.AbstractQueue:
        return await ch.declare_queue(
            HISTORY,
            durable=True,
            arguments={"x-queue-type": "stream", "x-max-age": self.history_max_age},
        )

    async def close(self) -> None:
        self._closed = True
        for t in list(self._timers):
            t.cancel()
        conn, self._conn, self._channel, self._exchange = self._conn, None, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _require(self) -> tuple[AbstractRobustConnection, AbstractExchange]:
        if self._conn is None or self._exchange is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        return self._conn, self._exchange

    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        if not messages:
            return []
        if not self.connected:
            err = BrokerUnavailable("RabbitMQ not connected")
            return [err for _ in messages]
        self._require()
        try:
            if self._channel is None:
                raise BrokerUnavailable("no publishing channel")
            channel = await self._channel.get_underlay_channel()
        except Exception as exc:
            return [BrokerUnavailable(f"RabbitMQ channel not open: {exc!r}") for _ in messages]
        # Straight to aiormq's basic_publish with wait=False: aio-pika's Exchange.publish waits,
        # holding the channel's lock, until the writer has drained each message's frames to the
        # socket before the next message may be queued (py-spy/cProfile: one send syscall and
        # several loop rounds per message, 0.7 ms of wall time a message on this machine, so a
        # wave of 200 took 150-200 ms). Now the wave is queued at once and the writer sends it
        # as fast as the socket takes it; each publish still awaits its own confirm, in the same
        # order on the same channel. (And no aio_pika.Message per event: its locked-attribute
        # __setattr__ was 3-5 % of the relay's CPU.)
        publish: Callable[..., Awaitable[Any]] = channel.basic_publish
        if isinstance(channel, aiormq.Channel):  # `wait` is the implementation's, not the ABC's
            publish = functools.partial(channel.basic_publish, wait=False)
        tasks = [
            asyncio.ensure_future(
                publish(
                    m.body,
                    exchange=EXCHANGE,
                    routing_key=m.type,
                    properties=aiormq.spec.Basic.Properties(
                        content_type="application/cloudevents+json",
                        headers=m.headers(),  # type: ignore[arg-type]
                        delivery_mode=_PERSISTENT,
                        message_id=m.id,
                        message_type=m.type,
                    ),
                    mandatory=True,
                    timeout=ack_timeout,
                )
            )
            for m in messages
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    # -- consuming -------------------------------------------------------------------------

    def queue_arguments(self, spec: ConsumerSpec) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-single-active-consumer": True,
            "x-delivery-limit": spec.max_deliver + 2,
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": spec.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    async def _declare_consumer(
        self, ch: AbstractChannel, spec: ConsumerSpec
    ) -> aio_pika.abc.AbstractQueue:
        ex = await ch.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        dlx = await ch.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        dlq = await ch.declare_queue(
            f"{spec.name}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx, spec.name)
        q = await ch.declare_queue(spec.name, durable=True, arguments=self.queue_arguments(spec))
        for p in spec.patterns:
            await q.bind(ex, amqp_binding(p))
        return q

    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        conn, _ = self._require()
        async with conn.channel() as ch:
            await self._declare_consumer(ch, spec)

    async def consume(self, spec: ConsumerSpec, callback: BatchCallback) -> None:
        delay = 0.5
        while not self._closed:
            ch: AbstractChannel | None = None
            try:
                if self._conn is None:
                    raise BrokerUnavailable("not connected")
                await asyncio.wait_for(self._conn.connected.wait(), 5.0)
                ch = await self._conn.channel()
                # room for the batch being applied and the next ones while it commits
                await ch.set_qos(prefetch_count=spec.batch_size * 4)
                q = await self._declare_consumer(ch, spec)
                inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
                unsettled = _Unsettled()

                async def on_message(
                    m: AbstractIncomingMessage,
                    unsettled: _Unsettled = unsettled,
                    inbox: asyncio.Queue[AbstractIncomingMessage] = inbox,
                ) -> None:
                    if m.delivery_tag is not None:
                        unsettled.open[m.delivery_tag] = m
                    inbox.put_nowait(m)

                await q.consume(on_message, no_ack=False)
                delay = 0.5
                loop = asyncio.get_running_loop()
                while True:
                    batch = [await inbox.get()]
                    # flush on batch size, or when no message came for `self.linger` seconds
                    # (a few ms: under a steady flow a batch gathers what arrives meanwhile)
                    deadline = loop.time() + self.linger_max
                    while len(batch) < spec.batch_size:
                        if inbox.empty():
                            wait = min(self.linger, deadline - loop.time())
                            if wait <= 0:
                                break
                            try:
                                batch.append(await asyncio.wait_for(inbox.get(), wait))
                            except TimeoutError:
                                break
                        else:
                            batch.append(inbox.get_nowait())
                    await callback([RabbitDelivery(self, m, unsettled) for m in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("rabbitmq consumer %s failed: %r; retrying", spec.name, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if ch is not None:
                    with contextlib.suppress(Exception):
                        await ch.close()

    async def delete_consumer(self, spec: ConsumerSpec) -> None:
        conn, _ = self._require()
        async with conn.channel() as ch:
            await ch.queue_delete(spec.name)
            await ch.queue_delete(f"{spec.name}.dlq")

    # -- dead letters ----------------------------------------------------------------------

    @staticmethod
    def _reason(msg: AbstractIncomingMessage) -> str:
        deaths = (msg.headers or {}).get("x-death") or []
        if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
            d = {k: v.decode() if isinstance(v, bytes) else v for k, v in deaths[0].items()}
            return f"{d.get('reason')} from {d.get('queue')} (x{d.get('count')})"
        return ""

    async def dlq_list(self, consumer: str, *, limit: int = 100) -> list[DeadLetter]:
        conn, _ = self._require()
        out: list[DeadLetter] = []
        async with conn.channel() as ch:
            q = await ch.get_queue(f"{consumer}.dlq", ensure=True)
            while len(out) < limit:
                msg = await q.get(no_ack=False, fail=False)
                if msg is None:
                    break
                out.append(
                    DeadLetter(
                        consumer=consumer,
                        type=msg.type or "",
                        event_id=msg.message_id or "",
                        reason=self._reason(msg),
                        body=msg.body,
                    )
                )
            # closing the channel returns the unacknowledged messages to the DLQ
        return out

    async def dlq_redrive(self, consumer: str, *, limit: int | None = None) -> int:
        conn, _ = self._require()
        n = 0
        async with conn.channel(publisher_confirms=True) as ch:
            q = await ch.get_queue(f"{consumer}.dlq", ensure=True)
            while limit is None or n < limit:
                msg = await q.get(no_ack=False, fail=False)
                if msg is None:
                    break
                headers = {k: v for k, v in (msg.headers or {}).items() if not k.startswith("x-")}
                await ch.default_exchange.publish(
                    aio_pika.Message(
                        msg.body,
                        message_id=msg.message_id,
                        type=msg.type,
                        headers=headers,
                        content_type=msg.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=consumer,
                    timeout=5.0,
                )
                await msg.ack()
                n += 1
        return n

    # -- history (replay) ------------------------------------------------------------------

    async def history(
        self, patterns: Sequence[str], *, since: datetime | None = None, batch_size: int = 500
    ) -> AsyncIterator[list[bytes]]:
        conn, _ = self._require()
        marker = uuid.uuid4().hex
        async with conn.channel(publisher_confirms=True) as ch:
            await ch.set_qos(prefetch_count=batch_size)
            q = await self._declare_history(ch)
            await ch.default_exchange.publish(
                aio_pika.Message(b"", headers={_MARKER: marker}), routing_key=HISTORY, timeout=5.0
            )
            inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            offset: Any = since if since is not None else "first"
            tag = await q.consume(inbox.put, no_ack=False, arguments={"x-stream-offset": offset})
            try:
                done = False
                while not done:
                    msgs = [await asyncio.wait_for(inbox.get(), 30.0)]
                    while len(msgs) < batch_size and not inbox.empty():
                        msgs.append(inbox.get_nowait())
                    batch = []
                    for m in msgs:
                        await m.ack()
                        if done:
                            continue
                        if (m.headers or {}).get(_MARKER) == marker:
                            done = True
                        elif m.routing_key and any(matches(p, m.routing_key) for p in patterns):
                            batch.append(m.body)
                    if batch:
                        yield batch
            finally:
                with contextlib.suppress(Exception):
                    await q.cancel(tag)
