"""The auto-end job: ends sessions nobody stopped, at their planned end.

Started in the lifespan (:func:`auto_end_runtime`), every ``FOCUS_AUTO_END_INTERVAL_SECONDS``.
Each pass claims overdue sessions with ``SELECT ... FOR UPDATE SKIP LOCKED`` (planned end +
grace before now) and ends them in the same transaction, batch by batch, so any number of
replicas can run it at once: a session is ended by exactly one of them, or by the user's stop,
which takes the same row lock. "Now" is the app's clock (``app.state.clock``), not the
database's, so tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from focus.clock import now_of
from focus.sessions.service import auto_end_due
from focus.settings import Settings

log = logging.getLogger("focus.auto_end")


async def run_auto_end_once(app: Any) -> int:
    """End every session overdue now; returns how many."""
    settings: Settings = app.state.settings
    total = 0
    while True:
        async with app.state.db.unit_of_work() as session:
            n = await auto_end_due(
                session,
                now_of(app),
                settings.focus_grace_minutes,
                settings.focus_auto_end_batch_size,
            )
        total += n
        if n < settings.focus_auto_end_batch_size:
            break
    if total:
        log.info("auto-ended %d focus session(s)", total)
    return total


async def _loop(app: Any, interval: float) -> None:
    while True:
        try:
            await run_auto_end_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("auto-end pass failed; retrying in %.0fs", interval)
        await asyncio.sleep(interval)


async def auto_end_runtime(app: FastAPI, stack: AsyncExitStack) -> None:
    """Startup hook: run the job in the background until shutdown (off when the interval is 0)."""
    settings: Settings = app.state.settings
    interval = settings.focus_auto_end_interval_seconds
    db = getattr(app.state, "db", None)
    if interval <= 0 or db is None or not isinstance(db.engine, AsyncEngine):
        # off, or the test plugin's single rolled-back connection: tests call
        # run_auto_end_once() themselves
        return
    task = asyncio.create_task(_loop(app, interval), name="focus-auto-end")
    app.state.auto_end_task = task

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
