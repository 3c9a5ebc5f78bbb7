"""Taking an upload in: blocks to the backend as they arrive, hashed (SHA-256) and counted on
the way, cut off the moment they pass the limit; the same for every backend.

Incoming chunks (a socket read's worth, often 64 KiB) are gathered into blocks of ``BLOCK`` bytes;
each block is hashed in a thread (hashlib releases the GIL) while the writer stores it (a local
file: in the same trip to the thread, since every trip costs a wake-up, and a wake-up on a busy
machine costs milliseconds), and while both run the next block is being received (one block in
flight: order is kept, and memory per upload stays near two blocks whatever the file's size)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from files.storage import ObjectWriter

BLOCK = 1024 * 1024
HEAD = 4096  # the first bytes, kept for sniffing the content type


def _hash_and_write(digest: Any, write: Callable[[bytes], None], block: bytes) -> None:
    digest.update(block)
    write(block)


class TooLarge(Exception):
    """The stream passed ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Ingested:
    size: int
    sha256: str
    head: bytes


class Ingest:
    def __init__(
        self, writer: ObjectWriter, limit: int, *, check: Callable[[], None] | None = None
    ) -> None:
        self.writer = writer
        self.limit = limit
        self.check = check  # called per chunk (e.g. a deadline); raises to stop
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.buffer = bytearray()
        self.inflight: asyncio.Future[Any] | None = None

    async def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(self.limit)
        if self.check is not None:
            self.check()
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.buffer += chunk
        if len(self.buffer) >= BLOCK:
            await self._flush()

    async def _flush(self) -> None:
        await self._settle()
        if not self.buffer:
            return
        block = bytes(self.buffer)
        self.buffer.clear()
        blocking = getattr(self.writer, "write_blocking", None)
        if blocking is not None:  # a local file: hash and write in one trip to a thread
            self.inflight = asyncio.ensure_future(
                asyncio.to_thread(_hash_and_write, self.hash, blocking, block)
            )
        else:
            self.inflight = asyncio.gather(
                asyncio.to_thread(self.hash.update, block), self.writer.write(block)
            )

    async def _settle(self) -> None:
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            await inflight

    async def finish(self) -> Ingested:
        await self._flush()
        await self._settle()
        await self.writer.commit()
        return Ingested(self.size, self.hash.hexdigest(), self.head)

    async def cancel(self) -> None:
        """Stop what is in flight (before the writer aborts)."""
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            inflight.cancel()
            with contextlib.suppress(BaseException):
                await inflight
