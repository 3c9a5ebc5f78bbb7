"""Run work only after the session's transaction has committed (never after a rollback).

Real-time fan-out must not announce a message that was rolled back, and must not wait for the
HTTP response to leave either: ``after_commit(session, fn)`` schedules ``fn()`` on the event loop
the moment SQLAlchemy reports the commit. A rollback discards what was registered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger("chat.aftercommit")

Callback = Callable[[], Awaitable[None]]
_KEY = "chat_after_commit"
_background: set[asyncio.Task[Any]] = set()


def _pending(session: Session) -> list[Callback]:
    callbacks: list[Callback] = session.info.setdefault(_KEY, [])
    return callbacks


def _on_commit(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    if not callbacks:
        return
    loop = asyncio.get_running_loop()

    async def run() -> None:
        for cb in callbacks:  # in registration order
            try:
                await cb()
            except Exception:
                log.exception("after-commit callback failed")

    task = loop.create_task(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _on_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_KEY, None)


def after_commit(session: AsyncSession, callback: Callback) -> None:
    sync = session.sync_session
    if not event.contains(sync, "after_commit", _on_commit):
        event.listen(sync, "after_commit", _on_commit)
        event.listen(sync, "after_rollback", _on_rollback)
        event.listen(sync, "after_soft_rollback", _on_rollback)
    _pending(sync).append(callback)
