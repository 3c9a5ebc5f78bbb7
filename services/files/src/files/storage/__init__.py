"""Where the bytes live, behind one interface: local disk or any S3-compatible store.

Every backend takes an object as a stream of blocks and gives it back as a stream of blocks of a
byte range, so nothing above it holds a whole file::

    writer = await storage.writer(key)
    await writer.write(block)       # as the upload arrives
    await writer.commit()           # or abort(): nothing of it is left
    async for block in storage.read(key, start, stop): ...
    await storage.delete(key)       # idempotent: a missing object is not an error

Hashing, counting and the size limit are the same for every backend (:mod:`files.storage.ingest`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Protocol

from files.settings import Settings


class ObjectWriter(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def commit(self) -> None: ...

    async def abort(self) -> None: ...


class Storage(Protocol):
    kind: str

    async def writer(self, key: str) -> ObjectWriter: ...

    def read(self, key: str, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` (inclusive) to ``stop`` (exclusive) of the object."""
        ...

    async def delete(self, key: str, *, incomplete: bool = False) -> None:
        """The object (and, with ``incomplete``, whatever an interrupted upload left of it)."""
        ...

    async def exists(self, key: str) -> bool: ...


class ObjectMissing(Exception):
    """The object a row names is not in the store (it was deleted underneath)."""


async def open_storage(settings: Settings, stack: AsyncExitStack) -> Storage:
    """The configured backend, started; closed with ``stack``."""
    if settings.storage_kind == "s3":
        from files.storage.s3 import S3Storage

        return await S3Storage.open(settings, stack)
    from files.storage.local import LocalStorage

    return LocalStorage(settings.files_dir, fsync=settings.files_fsync)


async def put_bytes(storage: Storage, key: str, data: bytes) -> None:
    """A small object in one go (an avatar's thumbnail)."""
    writer = await storage.writer(key)
    try:
        await writer.write(data)
        await writer.commit()
    except BaseException:
        await writer.abort()
        raise
