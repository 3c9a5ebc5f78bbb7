"""Local disk: ``<FILES_DIR>/<key>``. An object is written to ``<key>.part`` and renamed into
place on commit (after ``fsync`` unless switched off), so a reader never sees half an object.
File I/O runs in threads, one block at a time, so the event loop never waits on the disk."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from files.storage import ObjectMissing

READ_BLOCK = 1024 * 1024


class LocalWriter:
    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        self.fsync = fsync
        self.file: BinaryIO | None = None

    def _open(self) -> None:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.part, "wb")  # noqa: SIM115 (closed in commit/abort)

    def write_blocking(self, data: bytes) -> None:
        """The same as ``write``, for a caller already in a thread (``Ingest``)."""
        if self.file is None:
            self._open()
        assert self.file is not None
        self.file.write(data)

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self.write_blocking, data)

    def _commit(self) -> None:
        if self.file is None:
            self._open()
        assert self.file is not None
        self.file.flush()
        if self.fsync:
            os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.part, self.path)
        if self.fsync:
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    async def commit(self) -> None:
        await asyncio.to_thread(self._commit)

    def _abort(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()

    async def abort(self) -> None:
        await asyncio.shield(asyncio.to_thread(self._abort))


class LocalStorage:
    kind = "local"

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).resolve()
        self.fsync = fsync

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    async def writer(self, key: str) -> LocalWriter:
        return LocalWriter(self.path(key), self.fsync)

    async def read(self, key: str, start: int, stop: int) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            f = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        try:
            await asyncio.to_thread(f.seek, start)
            left = stop - start
            while left > 0:
                block = await asyncio.to_thread(f.read, min(READ_BLOCK, left))
                if not block:
                    raise ObjectMissing(f"{key} is shorter than its row says")
                left -= len(block)
                yield block
        finally:
            await asyncio.to_thread(f.close)

    def _delete(self, key: str) -> None:
        path = self.path(key)
        for p in (path, path.with_name(path.name + ".part")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    async def delete(self, key: str, *, incomplete: bool = False) -> None:
        del incomplete  # the .part file goes in any case
        await asyncio.to_thread(self._delete, key)

    async def exists(self, key: str) -> bool:
        path = self.path(key)
        return await asyncio.to_thread(
            lambda: path.exists() or path.with_name(path.name + ".part").exists()
        )
