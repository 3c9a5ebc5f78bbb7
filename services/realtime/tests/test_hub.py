"""The hub on its own (no sockets, no database): the order in which a resuming socket gets the
entries it missed and the ones that arrive while it resumes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from realtime.stream.hub import Conn, Hub
from realtime.stream.repository import Item

TEAM = uuid.uuid4()


def _item(seq: int) -> Item:
    return (seq, str(TEAM), None, None, f"entry {seq}")


async def _rows(after: int, up_to: int, limit: int) -> list[Item]:
    return [_item(s) for s in range(after + 1, up_to + 1)][:limit]


async def _memberships() -> dict[uuid.UUID, tuple[bool, int]]:
    return {TEAM: (True, 0)}


def _hub(dispatched: int) -> Hub:
    async def nothing(*_: Any) -> Any:
        raise AssertionError("the hub read the database")

    hub = Hub(None, load=nothing, last_seq=nothing, subject="test")  # type: ignore[arg-type]
    hub.start_at(0)
    for seq in range(1, dispatched + 1):
        hub.on_item(_item(seq))
    return hub


def _sent(conn: Conn) -> list[str]:
    frames: list[str] = []
    while not conn.queue.empty():
        frame = conn.queue.get_nowait()
        assert frame is not None
        frames.append(frame)
    return frames


async def test_an_entry_arriving_before_the_replay_follows_the_replayed_ones() -> None:
    hub = _hub(dispatched=3)
    conn = hub.connection(uuid.uuid4())
    await hub.join(conn, _memberships, hold=True)  # the socket came with `after`: it resumes
    hub.on_item(_item(4))  # committed while the socket looks its resume point up
    assert _sent(conn) == []
    assert await hub.replay(conn, 1, _rows, 100) == 2
    hub.on_item(_item(5))
    assert _sent(conn) == ["entry 2", "entry 3", "entry 4", "entry 5"]


async def test_a_refused_resume_releases_what_was_held() -> None:
    hub = _hub(dispatched=2)
    conn = hub.connection(uuid.uuid4())
    await hub.join(conn, _memberships, hold=True)
    hub.on_item(_item(3))
    hub.release(conn)  # the resume point was unknown: the client reloads, and is live
    hub.on_item(_item(4))
    assert _sent(conn) == ["entry 3", "entry 4"]
    assert conn not in hub.holding


async def test_a_socket_that_does_not_resume_is_live_from_its_join() -> None:
    hub = _hub(dispatched=2)
    conn = hub.connection(uuid.uuid4())
    gate = asyncio.Event()

    async def slow_memberships() -> dict[uuid.UUID, tuple[bool, int]]:
        await gate.wait()
        return await _memberships()

    joining = asyncio.create_task(hub.join(conn, slow_memberships))
    await asyncio.sleep(0)
    hub.on_item(_item(3))  # while its memberships are read: kept, then sent
    gate.set()
    await joining
    hub.on_item(_item(4))
    assert _sent(conn) == ["entry 3", "entry 4"]
    # a resume frame later on replays in order what came before the join, without doubles
    assert await hub.replay(conn, 0, _rows, 100) == 2
    assert _sent(conn) == ["entry 1", "entry 2"]
