"""A socket's outbound side: a bounded send queue drained by the socket's own writer task, so one
slow client never delays the others; a client that falls ``max_queue`` frames behind is closed
with 1013 ("try again later") and resumes. Chat's room sockets and realtime's live socket mix it
into their connection dataclass, which holds the fields named below."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import ClassVar

CLOSE_TOO_SLOW = 1013


class BoundedSender:
    """``send`` queues a frame (or closes a socket too far behind), ``kill`` closes it with a
    code once, ``writer`` is the task that sends what is queued, then closes with the code."""

    # fields of the dataclass this is mixed into
    queue: asyncio.Queue[str | None]
    max_queue: int
    close_code: int | None
    close_reason: str
    send_text: Callable[[str], Awaitable[None]] | None
    close: Callable[[int, str], Awaitable[None]] | None
    #: what a client too far behind is told (how it resumes)
    too_slow_reason: ClassVar[str] = "too far behind; reconnect"

    def send(self, text: str) -> None:
        if self.close_code is not None:
            return
        if self.queue.qsize() >= self.max_queue:
            self.kill(CLOSE_TOO_SLOW, self.too_slow_reason)
            return
        self.queue.put_nowait(text)

    def kill(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self.queue.put_nowait(None)

    async def writer(self) -> None:
        """Sends queued frames until killed; then closes the socket with the code."""
        assert self.send_text is not None
        assert self.close is not None
        queue, send_text = self.queue, self.send_text
        try:
            while True:
                text = queue.get_nowait() if queue.qsize() else await queue.get()
                if text is None or self.close_code is not None:
                    break
                await send_text(text)
        finally:
            if self.close_code is not None:
                with contextlib.suppress(Exception):
                    await self.close(self.close_code, self.close_reason)
