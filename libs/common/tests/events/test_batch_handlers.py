"""``Consumer.on_batch``: a set-based handler gets runs of consecutive events, in delivery order,
exactly once with their inbox rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from vc_common.context import Context
from vc_common.db import Database
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_events_kit import effects


def _event(type_: str, n: int) -> CloudEvent:
    return CloudEvent(
        id=uuid.uuid4(),
        source="test",
        type=type_,
        subject=f"s{n % 3}",
        time=datetime.now(UTC),
        data={"position": n},
    )


def _consumer(calls: list[tuple[str, list[int]]], *, fail_on: int | None = None) -> Consumer:
    consumer = Consumer(f"batch-{uuid.uuid4().hex[:8]}")

    async def record(ctx: Context, events: list[CloudEvent]) -> None:
        await ctx.session.execute(
            insert(effects),
            [
                {
                    "consumer": consumer.name,
                    "event_id": e.id,
                    "subject": e.subject,
                    "position": int(e.data["position"]),
                }
                for e in events
            ],
        )

    @consumer.on_batch("t.counted")
    async def counted(ctx: Context, events: list[CloudEvent]) -> None:
        calls.append(("counted", [int(e.data["position"]) for e in events]))
        if fail_on is not None and any(e.data["position"] == fail_on for e in events):
            raise RuntimeError("failed on purpose")
        await record(ctx, events)

    @consumer.on("t.other")
    async def other(ctx: Context, event: CloudEvent) -> None:
        calls.append(("other", [int(event.data["position"])]))
        await record(ctx, [event])

    @consumer.on_batch("t.both")
    async def both_batch(ctx: Context, events: list[CloudEvent]) -> None:
        calls.append(("both-batch", [int(e.data["position"]) for e in events]))
        await record(ctx, events)

    @consumer.on("t.both")
    async def both_single(ctx: Context, event: CloudEvent) -> None:
        del ctx
        calls.append(("both-single", [int(event.data["position"])]))

    return consumer


async def _positions(db: Database, consumer: Consumer) -> list[int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            select(effects.c.position)
            .where(effects.c.consumer == consumer.name)
            .order_by(effects.c.n)
        )
        return [int(r[0]) for r in rows]


async def test_runs_of_a_batch_handler_in_delivery_order(clean_db: Database) -> None:
    calls: list[tuple[str, list[int]]] = []
    consumer = _consumer(calls)
    types = ["t.counted"] * 3 + ["t.other"] + ["t.counted"] * 2 + ["t.both"] + ["t.counted"]
    events = [_event(t, n) for n, t in enumerate(types)]
    assert await consumer.handle_batch(clean_db, events) == [True] * len(events)
    assert calls == [
        ("counted", [0, 1, 2]),  # one call for the run
        ("other", [3]),  # the run ends where another handler's event begins
        ("counted", [4, 5]),
        ("both-batch", [6]),  # an event two handlers take: each once, in registration order
        ("both-single", [6]),
        ("counted", [7]),
    ]
    assert await _positions(clean_db, consumer) == list(range(len(events)))
    # exactly once: the same batch again (a redelivery) changes nothing, calls no handler
    calls.clear()
    assert await consumer.handle_batch(clean_db, events + events[:2]) == [False] * (len(events) + 2)
    assert calls == []
    assert await _positions(clean_db, consumer) == list(range(len(events)))


async def test_a_lone_event_reaches_a_batch_handler_as_a_list_of_one(clean_db: Database) -> None:
    calls: list[tuple[str, list[int]]] = []
    consumer = _consumer(calls)
    event = _event("t.counted", 9)
    assert await consumer.handle(clean_db, event) is True
    assert await consumer.handle(clean_db, event) is False
    assert calls == [("counted", [9])]
    assert await _positions(clean_db, consumer) == [9]


async def test_a_failing_run_rolls_back_the_whole_batch(clean_db: Database) -> None:
    calls: list[tuple[str, list[int]]] = []
    consumer = _consumer(calls, fail_on=2)
    events = [_event("t.counted", n) for n in range(4)]
    with pytest.raises(RuntimeError):
        await consumer.handle_batch(clean_db, events)
    assert await _positions(clean_db, consumer) == []
    # one by one (what Consumer.process falls back to): only the failing event stays unapplied
    for e in events:
        if e.data["position"] != 2:
            assert await consumer.handle(clean_db, e) is True
    assert await _positions(clean_db, consumer) == [0, 1, 3]
