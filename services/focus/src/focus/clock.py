"""The service's clock: ``app.state.clock`` is a callable returning an aware UTC ``datetime``.

Every rule that depends on "now" (start, stop, auto-end, "who is focusing now") reads it through
:func:`now_of`, so tests set ``app.state.clock`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def now_of(app: Any) -> datetime:
    clock: Clock = getattr(app.state, "clock", None) or system_clock
    now = clock()
    if now.tzinfo is None:
        raise ValueError("app.state.clock must return an aware datetime")
    return now.astimezone(UTC)


async def request_now(request: Request) -> datetime:
    return now_of(request.app)


Now = Annotated[datetime, Depends(request_now)]
