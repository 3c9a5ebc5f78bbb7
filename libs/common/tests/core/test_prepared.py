"""``vc_common.db.Prepared``: a read compiled once and run by asyncpg on the session's own
connection, inside the session's transaction when it has one; ``PreparedWrite``, the same for a
statement that writes or locks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import any_, bindparam, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Uuid
from vc_common.db import Database, Prepared, PreparedWrite, ReadOnlyViolation

from .conftest import Widget

W = Widget.__table__
BY_NAMES = Prepared(
    select(W.c.id, W.c.name, literal("widget").label("kind"))
    .where(W.c.name == any_(bindparam("names", type_=ARRAY(W.c.name.type))))
    .order_by(W.c.name)
)
NOW = Prepared(select(func.now().label("now")))
COUNT = Prepared(select(func.count().label("n")).where(W.c.name == bindparam("name")))
ADD = PreparedWrite(
    insert(Widget).values(id=bindparam("id"), name=bindparam("name")).returning(W.c.created_at)
)
LOCK = PreparedWrite(select(W.c.id).where(W.c.name == bindparam("name")).with_for_update())


@pytest.fixture
async def db(db_engine: AsyncEngine) -> AsyncIterator[Database]:
    url = db_engine.url.render_as_string(hide_password=False)
    database = Database(url, pool_size=2, max_overflow=0)
    yield database
    await database.dispose()


async def _add(db: Database, *names: str) -> None:
    async with db.unit_of_work() as s:
        await s.execute(insert(Widget), [{"id": uuid.uuid4(), "name": n} for n in names])


async def test_rows_by_name_and_index_with_bound_literals(db: Database) -> None:
    a, b = f"p-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"
    await _add(db, a, b)
    async with db.read_sessionmaker() as s:
        rows = await BY_NAMES.all(s, names=[b, a, "nobody"])
        assert [(r["name"], r[2]) for r in rows] == [(a, "widget"), (b, "widget")]
        assert isinstance(rows[0]["id"], uuid.UUID)
        assert await BY_NAMES.first(s, names=["nobody"]) is None


async def test_in_a_transaction_it_reads_inside_it(db: Database) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    async with db.sessionmaker() as s:
        first = (await NOW.one(s))["now"]  # begins the session's transaction
        await asyncio.sleep(0.01)
        assert (await s.execute(select(func.now()))).scalar_one() == first
        await s.execute(insert(Widget).values(id=uuid.uuid4(), name=name))
        assert (await COUNT.one(s, name=name))["n"] == 1  # its own uncommitted row
        await s.rollback()
    async with db.read_sessionmaker() as s:
        assert (await COUNT.one(s, name=name))["n"] == 0


async def test_after_a_commit_it_reads_in_the_next_transaction(db: Database) -> None:
    async with db.sessionmaker() as s:
        first = (await NOW.one(s))["now"]
        await s.commit()
        await asyncio.sleep(0.01)
        second = (await NOW.one(s))["now"]  # a new transaction, on whichever connection
        assert second > first
        assert (await s.execute(select(func.now()))).scalar_one() == second


async def test_a_snapshot_session_keeps_its_snapshot(db: Database) -> None:
    name = f"s-{uuid.uuid4().hex[:8]}"
    async with db.snapshot_sessionmaker() as s:
        assert (await COUNT.one(s, name=name))["n"] == 0  # the snapshot starts here
        await _add(db, name)
        assert (await COUNT.one(s, name=name))["n"] == 0
    async with db.read_sessionmaker() as s:
        assert (await COUNT.one(s, name=name))["n"] == 1


async def test_a_read_session_runs_in_autocommit(db: Database) -> None:
    async with db.read_sessionmaker() as s:
        first = (await NOW.one(s))["now"]
        await asyncio.sleep(0.01)
        assert (await NOW.one(s))["now"] != first


async def test_errors_are_sqlalchemy_errors_and_the_session_goes_on(db: Database) -> None:
    bad = Prepared(select(text("1 / 0")).where(bindparam("x", type_=Uuid) == bindparam("x")))
    async with db.read_sessionmaker() as s:
        with pytest.raises(DBAPIError, match="division by zero"):
            await bad.all(s, x=uuid.uuid4())
        assert (await COUNT.one(s, name="nobody"))["n"] == 0


async def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(TypeError, match="name"):
        COUNT._args({})


def test_only_plain_reads_are_prepared() -> None:
    with pytest.raises(ReadOnlyViolation):
        Prepared(select(W.c.id).with_for_update())
    with pytest.raises(ReadOnlyViolation):
        Prepared(insert(Widget).values(name="x"))


async def test_a_json_parameter_is_encoded_as_session_execute_encodes_it(db: Database) -> None:
    echo = Prepared(select(bindparam("doc", type_=JSONB).label("doc")))
    async with db.read_sessionmaker() as s:
        doc = {"a": [1, "two", None], "b": {"c": True}}
        assert (await echo.one(s, doc=doc))["doc"] == doc
        assert (await echo.one(s, doc=None))["doc"] is None


async def test_a_write_commits_and_rolls_back_with_the_session(db: Database) -> None:
    kept, dropped = f"w-{uuid.uuid4().hex[:8]}", f"x-{uuid.uuid4().hex[:8]}"
    async with db.sessionmaker() as s:
        row = await ADD.one(s, id=uuid.uuid4(), name=kept)
        assert row["created_at"] is not None
        assert (await s.execute(select(func.count()).where(W.c.name == kept))).scalar() == 1
        await s.commit()
    async with db.sessionmaker() as s:
        await ADD.all(s, id=uuid.uuid4(), name=dropped)
        await s.rollback()
    async with db.read_sessionmaker() as s:
        assert (await COUNT.one(s, name=kept))["n"] == 1
        assert (await COUNT.one(s, name=dropped))["n"] == 0


async def test_a_prepared_lock_holds_until_the_session_commits(db: Database) -> None:
    name = f"l-{uuid.uuid4().hex[:8]}"
    await _add(db, name)
    async with db.sessionmaker() as holder, db.sessionmaker() as other:
        assert len(await LOCK.all(holder, name=name)) == 1
        waiting = asyncio.create_task(LOCK.all(other, name=name))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # the row is locked by the holder's transaction
        await holder.commit()
        assert len(await asyncio.wait_for(waiting, 5)) == 1
        await other.rollback()


async def test_a_read_session_refuses_a_prepared_write(db: Database) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}"
    async with db.read_sessionmaker() as s:
        with pytest.raises(ReadOnlyViolation):
            await ADD.all(s, id=uuid.uuid4(), name=name)
        with pytest.raises(ReadOnlyViolation):
            await LOCK.all(s, name=name)
        assert (await COUNT.one(s, name=name))["n"] == 0


def test_a_prepared_write_takes_statements_only() -> None:
    with pytest.raises(TypeError):
        PreparedWrite(text("DELETE FROM widgets"))  # type: ignore[arg-type]
