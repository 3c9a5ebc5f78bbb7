"""Reading a WebSocket in tests (chat's room sockets, realtime's live socket): the next frame of
a kind, the absence of one, the code the server closed with."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest


async def next_frame(
    ws: Any, *, kind: str | tuple[str, ...], within: float = 5.0
) -> dict[str, Any]:
    """The next JSON frame whose ``type`` is ``kind`` (other frames are skipped)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        frame: dict[str, Any] = orjson.loads(raw)
        if frame.get("type") in kinds:
            return frame


async def no_frame(ws: Any, *, kind: str | tuple[str, ...], wait: float = 0.5) -> None:
    """No frame of ``kind`` arrives within ``wait`` seconds."""
    with pytest.raises(TimeoutError):
        await next_frame(ws, kind=kind, within=wait)


async def close_code(ws: Any, within: float = 5.0) -> int:
    """Read until the server closes the socket; its close code (-1: closed without one)."""
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except ConnectionClosed as closed:
        return int(closed.rcvd.code) if closed.rcvd is not None else -1
