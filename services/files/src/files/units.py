"""Short units of work of their own, beside the request's.

A transfer can last minutes; the request's unit of work must not hold a database connection (and
an open transaction) all that while. So what has to be settled before the bytes flow (the
caller may upload, the quota reserved, the ``pending`` row committed) and what a download needs
(the row, the caller's right to it) run in a unit of their own, committed and closed before the
first byte moves. The request's own session then only writes the outcome (the ``stored`` row and
its event), in the transaction the middleware commits."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context


@asynccontextmanager
async def own_unit(ctx: Context) -> AsyncIterator[Context]:
    """``ctx`` around a new session on the same database; committed on success, rolled back on
    error, closed (its connection back in the pool) either way."""
    session = AsyncSession(
        bind=ctx.session.bind,
        expire_on_commit=False,
        autoflush=False,
        # in tests the bind is one connection inside a rolled-back transaction: join it
        join_transaction_mode="create_savepoint",
    )
    try:
        yield dataclasses.replace(ctx, session=session)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()
