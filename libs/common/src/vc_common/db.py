"""Async engine, session factory and the unit of work.

Inside a request the session comes from :data:`SessionDep`; the :class:`UnitOfWorkMiddleware`
(see ``vc_common.uow``) commits it before the response leaves when the answer is a success, and
rolls it back otherwise. Services and repositories only ``flush()``. Background jobs and consumers
use :meth:`Database.unit_of_work`, which commits on success and rolls back on error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


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
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @classmethod
    def from_engine(cls, engine: AsyncEngine | AsyncConnection, **session_kw: Any) -> Database:
        """Wrap an existing engine, or a connection (tests: every session joins its transaction)."""
        db = cls.__new__(cls)
        db.url = str(engine.engine.url if isinstance(engine, AsyncConnection) else engine.url)
        db.engine = engine  # type: ignore[assignment]
        db.sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, **session_kw
        )
        return db

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
