"""Async engine, session factories and the unit of work.

Inside a request the session comes from :data:`SessionDep`; the :class:`UnitOfWorkMiddleware`
(see ``vc_common.uow``) commits it before the response leaves when the answer is a success, and
rolls it back otherwise. Services and repositories only ``flush()``. Background jobs and consumers
use :meth:`Database.unit_of_work`, which commits on success and rolls back on error.

A safe-method request (GET, HEAD, OPTIONS) gets a *read* session instead
(:attr:`Database.read_sessionmaker`): its statements run on an autocommit connection, without
the ``BEGIN`` and ``COMMIT`` round trips a transaction costs (on a one-row read they were a third
of the request's time). Each statement sees its own snapshot, which is what a READ COMMITTED
transaction gave those reads before. A read session refuses to write
(:class:`ReadOnlyViolation`, loudly: a 500 and a log line, never a write silently dropped); a GET
that must write says so (``vc_common.uow.writes``), and one whose statements must share one
snapshot runs in a REPEATABLE READ READ ONLY transaction (``vc_common.uow.snapshot``,
:attr:`Database.snapshot_sessionmaker`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import TextClause


class ReadOnlyViolation(RuntimeError):
    """A statement that writes (or locks) ran in a read session: a safe-method request that
    writes without saying so (``vc_common.uow.writes``). A programming error, never swallowed."""


class ReadOnlySession(Session):
    """The sync session behind a read session: every write is refused before it reaches the
    database (INSERT/UPDATE/DELETE, ``FOR UPDATE``, a flush of changed objects, text SQL that does
    not read)."""


#: text SQL a read session lets through (anything else is refused)
_READ_TEXT = re.compile(r"\s*(select|with|show|values|table|explain)\b", re.IGNORECASE)


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_write_statements(state: ORMExecuteState) -> None:
    stmt = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyViolation(f"a read session may not write: {stmt}")
    if state.is_select and getattr(stmt, "_for_update_arg", None) is not None:
        raise ReadOnlyViolation(f"a read session may not lock rows: {stmt}")
    if isinstance(stmt, TextClause) and not _READ_TEXT.match(stmt.text):
        raise ReadOnlyViolation(f"a read session may only read: {stmt.text[:200]}")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    del flush_context, instances
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation(
            f"a read session may not write: {len(session.new)} new, {len(session.dirty)} changed, "
            f"{len(session.deleted)} deleted objects"
        )


def is_read_only(session: AsyncSession) -> bool:
    """Whether ``session`` is a read session (a safe-method request's)."""
    return isinstance(session.sync_session, ReadOnlySession)


def database_of(session: AsyncSession) -> Database:
    """The :class:`Database` whose session factory made ``session``."""
    db = session.info.get("vc_db")
    if not isinstance(db, Database):
        raise RuntimeError("this session was not made by a vc_common Database")
    return db


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        echo: bool = False,
        pre_ping: bool = False,
        **engine_kw: Any,
    ) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            echo=echo,
            pool_pre_ping=pre_ping,
            pool_recycle=1800,
            **engine_kw,
        )
        self._sessionmakers(self.engine, {})

    @classmethod
    def from_engine(cls, engine: AsyncEngine | AsyncConnection, **session_kw: Any) -> Database:
        """Wrap an existing engine, or a connection (tests: every session joins its transaction)."""
        db = cls.__new__(cls)
        db.url = str(engine.engine.url if isinstance(engine, AsyncConnection) else engine.url)
        db.engine = engine  # type: ignore[assignment]
        # Inside one connection's transaction (tests) a read session joins it like every other
        # session: the same refusals, the same snapshot rules as the outer transaction.
        db._sessionmakers(engine, session_kw, joined=True)
        return db

    def _sessionmakers(
        self, bind: AsyncEngine | AsyncConnection, kw: dict[str, Any], *, joined: bool = False
    ) -> None:
        info = {"vc_db": self}
        common: dict[str, Any] = {"expire_on_commit": False, "autoflush": False, **kw}
        self.sessionmaker = async_sessionmaker(bind, info=info, **common)
        read_bind: AsyncEngine | AsyncConnection = bind
        snapshot_bind: AsyncEngine | AsyncConnection = bind
        if not joined:
            assert isinstance(bind, AsyncEngine)
            read_bind = bind.execution_options(isolation_level="AUTOCOMMIT")
            snapshot_bind = bind.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        #: a safe-method request's session: autocommit statements, every write refused
        self.read_sessionmaker = async_sessionmaker(
            read_bind, info=info, sync_session_class=ReadOnlySession, **common
        )
        #: a safe-method request whose statements must see one snapshot
        self.snapshot_sessionmaker = async_sessionmaker(
            snapshot_bind, info=info, sync_session_class=ReadOnlySession, **common
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
