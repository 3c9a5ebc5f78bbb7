"""One event-bus interface, two brokers, chosen by ``EVENT_BUS_URL``.

``bus_from_url("nats://...")`` gives a :class:`~vc_common.events.nats.NatsBus` (JetStream),
``bus_from_url("amqp://...")`` a :class:`~vc_common.events.rabbitmq.RabbitBus`. Everything above
this module (relay, consumers, CLI) talks to :class:`EventBus` only, so the same handler code runs
on either broker, selected by configuration.

Delivery contract of both adapters:

- ``publish_many`` returns only when the broker has *acknowledged* (JetStream ``PubAck`` /
  RabbitMQ publisher confirm) each message, or says which ones failed. A message is only
  considered published after that acknowledgement.
- ``consume`` hands batches of :class:`Delivery` to a callback. A delivery is settled exactly once
  by the callback: ``ack()`` (after the consumer's transaction committed), ``retry(delay)`` (never
  acknowledged: redelivered by the broker after ``delay``), or ``dead_letter(reason)`` (moved to
  the consumer's dead-letter queue, from where ``dlq_redrive`` sends it back to the same consumer).
- Messages carry the event ``id`` as the broker message id (``Nats-Msg-Id`` / ``message_id``),
  the type as the subject / routing key, and the ``traceparent`` as a header.
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class BrokerUnavailable(ConnectionError):
    """The broker cannot be reached (not a problem of one message)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One event ready to publish: the CloudEvent JSON and what the broker needs to route it."""

    id: str
    type: str
    subject: str
    body: bytes
    traceparent: str | None = None

    def headers(self) -> dict[str, str]:
        out = {"ce-id": self.id, "ce-type": self.type, "ce-subject": self.subject}
        if self.traceparent:
            out["traceparent"] = self.traceparent
        return out


@dataclass(frozen=True)
class ConsumerSpec:
    """What a broker needs to know about a durable consumer.

    ``patterns`` are event types, or patterns where ``*`` matches one token and ``>`` the rest
    (``identity.user.*``, ``tasks.>``). The first token (the context) must be literal: it names
    the NATS stream the consumer reads.
    """

    name: str
    patterns: tuple[str, ...]
    max_deliver: int = 5
    backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    batch_size: int = 100
    ack_wait: float = 30.0

    def backoff_for(self, attempt: int) -> float:
        """Delay before delivery ``attempt + 1`` (``attempt`` is 1-based)."""
        if not self.backoff:
            return 0.0
        return self.backoff[min(attempt, len(self.backoff)) - 1]


class Delivery(abc.ABC):
    """One message handed to a consumer; settle it exactly once."""

    body: bytes
    attempt: int  # 1 on the first delivery
    # what the broker still holds for this consumer after this delivery (None: it does not say)
    pending: int | None = None

    @property
    def redelivered(self) -> bool:
        """Not the event's first delivery (metrics; adapters may answer it more cheaply)."""
        return self.attempt > 1

    @abc.abstractmethod
    async def ack(self) -> None: ...

    @abc.abstractmethod
    async def retry(self, delay: float) -> None:
        """Not acknowledged: the broker delivers it again after ``delay`` seconds."""

    @abc.abstractmethod
    async def dead_letter(self, reason: str) -> None:
        """Move to the consumer's dead-letter queue (and stop redelivering)."""

    async def in_progress(self) -> None:  # noqa: B027 - optional: most brokers need nothing
        """Still being worked on: the broker must not redeliver it yet (NATS: resets its
        ``ack_wait``; RabbitMQ holds an unacknowledged message for as long as the channel)."""

    @classmethod
    async def ack_many(cls, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge several deliveries of this class, in order (adapters may do it in one
        frame). Only called with deliveries whose ``ack`` is this class's own."""
        for d in deliveries:
            await d.ack()


_log = logging.getLogger("vc.events.bus")


async def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Acknowledge committed deliveries together, in order; a failed ack is only logged (the
    broker redelivers an unacknowledged message and the inbox absorbs the copy).

    A delivery whose ``ack`` was replaced on the instance (tests simulating a lost ack) is
    settled first, on its own; the rest go to their class's :meth:`Delivery.ack_many`.
    """
    own: dict[type[Delivery], list[Delivery]] = {}
    for d in deliveries:
        if "ack" in d.__dict__:
            try:
                await d.ack()
            except Exception as exc:
                _log.warning("settling a delivery failed: %r", exc)
        else:
            own.setdefault(type(d), []).append(d)
    for cls, group in own.items():
        try:
            await cls.ack_many(group)
        except Exception as exc:
            _log.warning("acknowledging %d deliveries failed: %r", len(group), exc)


@dataclass
class DeadLetter:
    """A message in a consumer's dead-letter queue, as ``dlq list`` shows it."""

    consumer: str
    type: str
    event_id: str
    reason: str
    body: bytes
    ref: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "type": self.type,
            "id": self.event_id,
            "reason": self.reason,
        }


BatchCallback = Callable[[list[Delivery]], Awaitable[None]]


class EventBus(abc.ABC):
    """The broker-neutral interface. Adapters reconnect by themselves after an outage."""

    url: str
    kind: str

    @property
    @abc.abstractmethod
    def connected(self) -> bool: ...

    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect and declare the broker topology; raises :class:`BrokerUnavailable`."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        """Publish concurrently and await every broker acknowledgement together.

        Returns one entry per message: ``None`` when the broker acknowledged it, else the error.
        Messages are written to the broker in the given order.
        """

    async def publish(self, message: OutgoingMessage, *, ack_timeout: float = 5.0) -> None:
        (err,) = await self.publish_many([message], ack_timeout=ack_timeout)
        if err is not None:
            raise err

    @abc.abstractmethod
    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        """Declare the consumer's durable subscription (NATS consumers / RabbitMQ queue and
        bindings). On RabbitMQ, events published before the queue exists are not routed to it
        (``replay`` can recover them from the history stream); ``consume`` declares it too."""

    @abc.abstractmethod
    async def consume(self, spec: ConsumerSpec, callback: BatchCallback) -> None:
        """Run the consumer loop until cancelled (survives broker restarts)."""

    @abc.abstractmethod
    async def dlq_list(self, consumer: str, *, limit: int = 100) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def dlq_redrive(self, consumer: str, *, limit: int | None = None) -> int:
        """Send dead letters back to ``consumer`` (only), return how many."""

    @abc.abstractmethod
    def history(
        self, patterns: Sequence[str], *, since: datetime | None = None, batch_size: int = 500
    ) -> AsyncIterator[list[bytes]]:
        """Every retained event matching ``patterns`` from the start (or ``since``), in order,
        in batches, ending at the events published before the call."""

    @abc.abstractmethod
    async def delete_consumer(self, spec: ConsumerSpec) -> None:
        """Remove the durable consumer and its dead-letter queue (tests, decommissioning)."""


def _check_pattern(pattern: str) -> list[str]:
    tokens = pattern.split(".")
    if not tokens or any(t == "" for t in tokens):
        raise ValueError(f"invalid event type pattern {pattern!r}")
    if tokens[0] in {"*", ">"}:
        raise ValueError(f"the first token (the context) must be literal in {pattern!r}")
    if ">" in tokens[:-1]:
        raise ValueError(f"'>' may only be the last token in {pattern!r}")
    return tokens


def matches(pattern: str, event_type: str) -> bool:
    """NATS-style matching: ``*`` is one token, a final ``>`` one or more tokens."""
    p = pattern.split(".")
    t = event_type.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(t) > i
        if i >= len(t) or (tok != "*" and tok != t[i]):
            return False
    return len(t) == len(p)


def context_of(pattern: str) -> str:
    return _check_pattern(pattern)[0]


def amqp_binding(pattern: str) -> str:
    """``identity.user.*`` stays; ``tasks.>`` becomes ``tasks.#``."""
    _check_pattern(pattern)
    return ".".join("#" if tok == ">" else tok for tok in pattern.split("."))


_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(context: str) -> str:
    """``EVENTS_TASKS`` for context ``tasks``."""
    return "EVENTS_" + _SAFE.sub("_", context).upper()


def bus_from_url(url: str, **options: Any) -> EventBus:
    """The adapter for ``url``: ``nats://``/``tls://`` → JetStream, ``amqp://``/``amqps://`` →
    RabbitMQ. Nothing connects until :meth:`EventBus.connect`."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in {"nats", "tls"}:
        from vc_common.events.nats import NatsBus

        return NatsBus(url, **options)
    if scheme in {"amqp", "amqps"}:
        from vc_common.events.rabbitmq import RabbitBus

        return RabbitBus(url, **options)
    raise ValueError(f"unsupported EVENT_BUS_URL scheme {scheme!r} (use nats:// or amqp://)")
