"""The consumer the broker sees: every context once, no overlapping filters (JetStream refuses
them), on the machine's NATS; and handlers still see the specific types."""

from __future__ import annotations

import uuid

from realtime.consumers import make_consumer
from realtime.settings import Settings
from realtime.stream.leader import covers
from vc_common.events.nats import NatsBus

from .conftest import NATS_URL


def test_covers() -> None:
    assert covers("teams.>", "teams.member.added")
    assert covers("teams.*.added", "teams.member.added")
    assert not covers("teams.member.added", "teams.>")
    assert not covers("teams.>", "tasks.task.moved")
    assert not covers("teams.*", "teams.member.added")


async def test_the_broker_accepts_the_consumer() -> None:
    name = f"realtime-test-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(Settings(realtime_consumer=name))
    assert "teams.>" in consumer.patterns
    assert "teams.member.added" not in consumer.patterns
    assert len(consumer.handlers_for("teams.member.added")) == 2  # projection + stream
    bus = NatsBus(NATS_URL)
    await bus.connect()
    try:
        await bus.ensure_consumer(consumer.spec())  # raised BadRequestError with overlaps
    finally:
        await bus.delete_consumer(consumer.spec())
        await bus.close()
