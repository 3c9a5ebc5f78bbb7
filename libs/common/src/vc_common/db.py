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
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, event
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError, NoResultFound
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


class Prepared:
    """A ``SELECT`` built and compiled once, run by asyncpg itself on the session's connection.

    For the hottest reads (a one-row ``GET``, the authorization every request makes). Measured
    on tasks' card statement, one at a time, in-process (µs of CPU a statement): built per call
    and run through the ORM 1,064; built once, ORM 634; built once, Core through
    ``session.execute`` 526; this 54 (asyncpg's own prepared statement and record; 168 before
    the session's connection was remembered for its transaction, ``_driver``). Write the
    statement with SQLAlchemy as usual (Core columns, ``bindparam`` for what varies); rows are
    asyncpg records (by index or by name; JSON already decoded, like SQLAlchemy's codec does),
    parameters go through the bind processors of their types (JSON is encoded, as
    ``session.execute`` does) and otherwise to asyncpg as they are (``uuid.UUID``, ``str``...,
    a list for ``= ANY``).

    Same connection, same transaction as the session's other statements: in a session whose
    transaction has not begun yet it begins it first (what SQLAlchemy's asyncpg cursor does),
    so a snapshot session's reads all see its snapshot; a read session's run in autocommit.
    Errors are SQLAlchemy's (``DBAPIError``), and a lost connection is invalidated, as with
    ``session.execute``. Only reads: a statement that writes or locks is refused when built
    (:class:`PreparedWrite` is for those).
    """

    __slots__ = ("_defaults", "_names", "_processors", "sql")

    def __init__(self, stmt: Select[*tuple[Any, ...]] | Insert | Update | Delete) -> None:
        self._check(stmt)
        compiled = stmt.compile(dialect=_ASYNCPG)
        self.sql = str(compiled)
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._defaults = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name in self._names and not bind.required
        }
        processors: dict[str, Any] = dict(compiled._bind_processors)
        self._processors: tuple[tuple[int, Any], ...] = tuple(
            (i, processors[name]) for i, name in enumerate(self._names) if name in processors
        )

    @staticmethod
    def _check(stmt: object) -> None:
        if not isinstance(stmt, Select) or stmt._for_update_arg is not None:
            raise ReadOnlyViolation(f"Prepared is for plain reads: {stmt}")

    def _args(self, params: dict[str, Any]) -> list[Any]:
        try:
            args = [params[n] if n in params else self._defaults[n] for n in self._names]
        except KeyError as missing:
            raise TypeError(f"no value for the parameter {missing} of: {self.sql}") from None
        for i, process in self._processors:
            args[i] = process(args[i])
        return args

    async def all(self, session: AsyncSession, **params: Any) -> Sequence[Any]:
        conn, adapter = await _driver(session)
        args = self._args(params)
        try:
            async with adapter._execute_mutex:
                if adapter._transaction is None:
                    await adapter._start_transaction()
                rows: Sequence[Any] = await adapter._connection.fetch(self.sql, *args)
                return rows
        except Exception as error:
            session.info.pop("vc_driver", None)
            await self._raise(conn, adapter, error, args)
            raise  # not reached

    async def first(self, session: AsyncSession, **params: Any) -> Any:
        """The first row, or None."""
        rows = await self.all(session, **params)
        return rows[0] if rows else None

    async def one(self, session: AsyncSession, **params: Any) -> Any:
        """The only row (``NoResultFound`` if there is none)."""
        rows = await self.all(session, **params)
        if not rows:
            raise NoResultFound(f"no row for: {self.sql}")
        return rows[0]

    async def _raise(
        self, conn: AsyncConnection, adapter: Any, error: Exception, args: list[Any]
    ) -> None:
        """Raise ``error`` as ``session.execute`` would have: the DB-API error SQLAlchemy's
        adapter makes of it, wrapped in ``DBAPIError``; the connection invalidated if lost."""
        dialect = conn.dialect
        try:
            adapter._handle_exception(error)  # raises the adapted DB-API error
        except dialect.loaded_dbapi.Error as dbapi_error:
            if dialect.is_disconnect(dbapi_error, adapter, None):
                await conn.invalidate(dbapi_error)
            raise DBAPIError.instance(
                self.sql, args, dbapi_error, dialect.loaded_dbapi.Error
            ) from error


class PreparedWrite(Prepared):
    """:class:`Prepared` for a statement that writes or locks (``INSERT``/``UPDATE``/``DELETE``,
    with or without ``RETURNING``; a ``SELECT ... FOR UPDATE``; a ``SELECT`` of data-modifying
    CTEs), for a hot write path: a move of a task, the outbox row of every event. It runs in
    the session's transaction (begun first if it has not), so it commits or rolls back with the
    session's other statements; a read session refuses it (:class:`ReadOnlyViolation`), as it
    refuses every write. The session's ORM objects do not see what it wrote: it is for rows the
    session has not loaded, or re-reads them (``populate_existing``)."""

    __slots__ = ()

    @staticmethod
    def _check(stmt: object) -> None:
        if not isinstance(stmt, Select | Insert | Update | Delete):
            raise TypeError(f"PreparedWrite takes a SELECT, INSERT, UPDATE or DELETE: {stmt}")

    async def all(self, session: AsyncSession, **params: Any) -> Sequence[Any]:
        if is_read_only(session):
            raise ReadOnlyViolation(f"a read session may not write: {self.sql[:200]}")
        return await super().all(session, **params)


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The session's connection and SQLAlchemy's asyncpg adapter of it, remembered for the
    session's current transaction (looking them up again cost ~32 µs a statement, as much as
    half of a prepared one-row read)."""
    tx = session.sync_session.get_transaction()
    known = session.info.get("vc_driver")
    if tx is not None and known is not None and known[0] is tx:
        return known[1], known[2]
    conn = await session.connection()
    adapter = (await conn.get_raw_connection()).dbapi_connection
    session.info["vc_driver"] = (session.sync_session.get_transaction(), conn, adapter)
    return conn, adapter


_ASYNCPG = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


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
