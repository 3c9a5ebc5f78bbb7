"""The brokers' own speed on this machine, now: the anchors of the event pipeline bench.

Each anchor moves ``n`` messages of the pipeline's size from one process to another through the
broker with the least code that keeps the pipeline's guarantees on the broker side, in two
processes like the pipeline (a publisher, a consumer), and reports messages/s from the first
publish to the consumer's last ack:

- NATS: a file-storage JetStream stream, ``publish_async`` with ``Nats-Msg-Id`` and every PubAck
  awaited (a window of 10,000 in flight, like the relay's JetStream context), a durable pull
  consumer with explicit acks fetching batches of 200;
- RabbitMQ: aio-pika with publisher confirms, persistent messages through a topic exchange into a
  durable quorum queue (the pipeline's queue type), confirms awaited together in windows of
  500; the consumer takes them with a prefetch of 800 and acks with ``multiple``. (The pipeline
  also routes every event to its history stream queue; the anchor does not.)

No database, no outbox, no inbox: what is left between this figure and the pipeline's is our
code and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
import uuid
from typing import Any

BODY = (
    b'{"specversion":"1.0","id":"00000000-0000-0000-0000-000000000000","source":"bench",'
    b'"type":"benchraw.item.changed","subject":"00000000-0000-0000-0000-000000000000",'
    b'"time":"2026-01-01T00:00:00.000000+00:00","datacontenttype":"application/json",'
    b'"data":{"i":0}}'
)


# -- NATS JetStream ----------------------------------------------------------------------


async def _nats_consume(url: str, stream: str, subject: str, n: int, out: Any, ready: Any) -> None:
    del subject  # the consumer reads the whole stream
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_consumer(
        stream,
        ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=800),
    )
    sub = await js.pull_subscribe_bind(durable="raw", stream=stream)
    ready.set()
    got = 0
    while got < n:
        try:
            msgs = await sub.fetch(200, timeout=0.5)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        for m in msgs:
            await m.ack()
        got += len(msgs)
    await nc.flush()
    out.put(time.time())
    await nc.close()


async def _nats_publish(url: str, stream: str, subject: str, n: int, out: Any) -> None:
    import nats

    del stream
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=10_000)
    t0 = time.time()
    futures = []
    for _ in range(n):
        futures.append(
            await js.publish_async(
                subject, BODY, headers={"Nats-Msg-Id": f"{uuid.uuid4()}", "ce-type": subject}
            )
        )
        if len(futures) >= 10_000:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    out.put(t0)
    await nc.close()


def _run(coro: Any) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)


def _nats_consumer_proc(*args: Any) -> None:
    _run(_nats_consume(*args))


def _nats_publisher_proc(*args: Any) -> None:
    _run(_nats_publish(*args))


async def nats_anchor(url: str, n: int, limit: float = 120.0) -> float:
    """Messages/s through JetStream, publish with PubAcks to pull consumer with acks."""
    import nats
    from nats.js.api import StorageType, StreamConfig

    name = f"BENCHRAW_{uuid.uuid4().hex[:8].upper()}"
    subject = f"{name.lower()}.item.changed"
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(
            name=name,
            subjects=[f"{name.lower()}.>"],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
    )
    try:
        return await _two_processes(
            _nats_consumer_proc, _nats_publisher_proc, (url, name, subject, n), limit
        )
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
        await nc.close()


# -- RabbitMQ ----------------------------------------------------------------------------


async def _rabbit_consume(url: str, queue: str, n: int, out: Any, ready: Any) -> None:
    import aio_pika

    conn = await aio_pika.connect(url)
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=800)
    q = await ch.get_queue(queue)
    done = asyncio.Event()
    got = 0
    last: Any = None

    async def on_message(m: Any) -> None:
        nonlocal got, last
        got += 1
        last = m
        if got % 200 == 0 or got >= n:
            await m.ack(multiple=True)
        if got >= n:
            done.set()

    await q.consume(on_message, no_ack=False)
    ready.set()
    await done.wait()
    out.put(time.time())
    del last
    await conn.close()


async def _rabbit_publish(url: str, queue: str, n: int, out: Any) -> None:
    import aio_pika

    conn = await aio_pika.connect(url)
    ch = await conn.channel(publisher_confirms=True)
    ex = await ch.get_exchange(queue)
    t0 = time.time()
    window = 500
    for start in range(0, n, window):
        await asyncio.gather(
            *(
                ex.publish(
                    aio_pika.Message(
                        BODY,
                        message_id=str(uuid.uuid4()),
                        type="benchraw.item.changed",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key="benchraw.item.changed",
                )
                for _ in range(start, min(n, start + window))
            )
        )
    out.put(t0)
    await conn.close()


def _rabbit_consumer_proc(*args: Any) -> None:
    _run(_rabbit_consume(*args))


def _rabbit_publisher_proc(*args: Any) -> None:
    _run(_rabbit_publish(*args))


async def rabbit_anchor(url: str, n: int, limit: float = 120.0) -> float:
    """Messages/s through RabbitMQ with publisher confirms into a quorum queue, acked."""
    import aio_pika

    name = f"benchraw.{uuid.uuid4().hex[:8]}"
    conn = await aio_pika.connect(url)
    ch = await conn.channel()
    ex = await ch.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    q = await ch.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await q.bind(ex, "benchraw.#")
    try:
        return await _two_processes(
            _rabbit_consumer_proc, _rabbit_publisher_proc, (url, name, n), limit
        )
    finally:
        with contextlib.suppress(Exception):
            await q.delete(if_unused=False, if_empty=False)
            await ex.delete()
        await conn.close()


# -- both --------------------------------------------------------------------------------


async def _two_processes(
    consumer: Any, publisher: Any, args: tuple[Any, ...], limit: float
) -> float:
    n = args[-1]
    mp = multiprocessing.get_context("spawn")
    done_q, start_q = mp.Queue(), mp.Queue()
    ready = mp.Event()
    cons = mp.Process(target=consumer, args=(*args, done_q, ready), daemon=True)
    cons.start()
    pub = None
    try:
        if not await asyncio.to_thread(ready.wait, 240):
            raise TimeoutError("the anchor's consumer did not start")
        pub = mp.Process(target=publisher, args=(*args, start_q), daemon=True)
        pub.start()
        t0 = await asyncio.to_thread(start_q.get, True, limit)
        t1 = await asyncio.to_thread(done_q.get, True, limit)
        return float(n / (t1 - t0))
    finally:
        for proc in (pub, cons):
            if proc is not None:
                proc.terminate()
                proc.join(10)
