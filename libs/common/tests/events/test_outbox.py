"""``change_with_event``: the change and its event in one statement, the event iff the change
wrote a row, in the order ``add_event`` keeps (the change first, then its event)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update
from vc_common.db import Database
from vc_common.events.outbox import add_event, change_with_event
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
