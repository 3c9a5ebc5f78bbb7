"""``change_with_event``: the change and its event in one statement, the event iff the change
wrote a row, in the order ``add_event`` keeps (the change first, then its event);
``PreparedChangeWithEvents``: the same for several events, prepared."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from vc_common.db import Database
from vc_common.events.outbox import PreparedChangeWithEvents, add_event, change_with_event
from vc_events_kit import effects, tables


async def test_the_change_and_its_event_commit_together(clean_db: Database) -> None:
    item = str(uuid.uuid4())
    async with clean_db.unit_of_work() as session:
        first = await add_event(
            session, tables, source="ctest", type="ctest.item.created", subject=item, data={}
        )
        event, rows = await change_with_event(
            session,
            tables,
            insert(effects)
            .values(consumer="c", event_id=first.id, subject=item, position=1)
            .returning(effects.c.position),
            source="ctest",
            type="ctest.item.changed",
            subject=item,
            data={"position": 1},
        )
    assert [tuple(r) for r in rows] == [(1,)]
    async with clean_db.engine.connect() as conn:
        outbox = (
            await conn.execute(
                select(tables.outbox.c.id, tables.outbox.c.payload).order_by(tables.outbox.c.seq)
            )
        ).all()
        written = (await conn.execute(select(effects.c.subject))).scalars().all()
    assert [r.id for r in outbox] == [first.id, event.id]
    assert outbox[1].payload["data"] == {"position": 1}
    assert written == [item]


async def test_a_change_that_writes_nothing_records_no_event(clean_db: Database) -> None:
    async with clean_db.unit_of_work() as session:
        _, rows = await change_with_event(
            session,
            tables,
            update(effects)
            .where(effects.c.subject == "no such subject")
            .values(position=2)
            .returning(effects.c.position),
            source="ctest",
            type="ctest.item.changed",
            subject="no such subject",
            data={},
        )
    assert rows == []
    async with clean_db.engine.connect() as conn:
        assert (await conn.execute(select(tables.outbox.c.id))).all() == []


MOVE = PreparedChangeWithEvents(
    tables,
    update(effects)
    .where(effects.c.subject == bindparam("subject"))
    .values(position=bindparam("position"))
    .returning(effects.c.position),
    3,
)


async def test_several_events_are_recorded_in_their_order_with_the_change(
    clean_db: Database,
) -> None:
    item = str(uuid.uuid4())
    async with clean_db.unit_of_work() as session:
        first = await add_event(
            session, tables, source="ctest", type="ctest.item.created", subject=item, data={}
        )
        await session.execute(
            insert(effects).values(consumer="c", event_id=first.id, subject=item, position=1)
        )
        steps = [("ctest.item.moved", item, {"n": n}) for n in (3, 1, 2)]
        events, rows = await MOVE.execute(  # after add_event: the form without pg_notify
            session, {"subject": item, "position": 7}, source="ctest", events=steps
        )
    assert [r["position"] for r in rows] == [7]
    async with clean_db.unit_of_work() as session:  # first of its transaction: with pg_notify
        more, _ = await MOVE.execute(
            session, {"subject": item, "position": 8}, source="ctest", events=steps
        )
    events += more
    async with clean_db.engine.connect() as conn:
        outbox = (
            await conn.execute(
                select(tables.outbox.c.id, tables.outbox.c.payload).order_by(tables.outbox.c.seq)
            )
        ).all()
        position = (await conn.execute(select(effects.c.position))).scalar_one()
    assert [r.id for r in outbox] == [first.id, *(e.id for e in events)]
    assert [r.payload["data"] for r in outbox[1:]] == [{"n": 3}, {"n": 1}, {"n": 2}] * 2
    assert position == 8


async def test_no_event_is_recorded_when_the_change_wrote_nothing(
    clean_db: Database,
) -> None:
    steps: list[tuple[str, str | uuid.UUID, dict[str, Any]]] = [
        ("ctest.item.moved", "x", {}) for _ in range(3)
    ]
    async with clean_db.sessionmaker() as session:
        _, rows = await MOVE.execute(
            session, {"subject": "no such subject", "position": 1}, source="ctest", events=steps
        )
        assert rows == []
        await session.commit()
    async with clean_db.engine.connect() as conn:
        assert (await conn.execute(select(tables.outbox.c.id))).all() == []
    with pytest.raises(ValueError, match="records 3 events, not 0"):
        async with clean_db.sessionmaker() as session:
            await MOVE.execute(session, {"subject": "x", "position": 1}, source="c", events=[])
