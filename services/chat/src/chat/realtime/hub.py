"""The replica's sockets, and how every change reaches each of them once, in order.

- :class:`Connection`: one socket; a bounded send queue drained by its own writer task, so one
  slow client never delays the others (a client that falls ``chat_socket_queue`` frames behind
  is closed with 1013 and resumes with ``since``).
- :class:`RoomChannel`: the room's stream on this replica. Frames arrive from the fan-out with
  the room's ``seq``; the channel hands them to its sockets strictly in ``seq`` order. A frame
  that arrives early (two replicas published concurrently) waits; a missing one is read from
  ``room_events`` after ``chat_gap_wait`` (committed seqs of a room have no holes, see
  ``chat.models``), so a lost or late fan-out frame never becomes a gap.
- Resume: a socket registers *before* its replay is read, collects live frames meanwhile, then
  skips those the replay already covered: no gap, no duplicate.
- Presence: per (team, user) socket counts here; the :class:`PresenceStore` decides whether the
  user's state changed, and only a change is published (on the team's fan-out subject).
- Control (every replica): a removed member's sockets, a deleted room's, a deleted team's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from vc_common.sockets.fanout import Fanout
from vc_common.sockets.outbound import CLOSE_TOO_SLOW as CLOSE_TOO_SLOW
from vc_common.sockets.outbound import BoundedSender
from vc_common.sockets.session import CLOSE_FORBIDDEN

from chat.presence.store import PresenceStore

log = logging.getLogger("chat.hub")

# close codes (4000-4999: application); documented in the README
CLOSE_GONE = 4404  # the room (or its team) was deleted
CLOSE_IDLE = 4408  # no heartbeat within chat_heartbeat_timeout
CLOSE_RESTART = 1012
CLOSE_TOO_BIG = 1009  # a frame over ws_max_frame_bytes

# (after_seq, up_to, limit) -> [(seq, frame text)]
Loader = Callable[[uuid.UUID, int, int | None, int], Awaitable[list[tuple[int, str]]]]
LastSeq = Callable[[uuid.UUID], Awaitable[int | None]]


@dataclass(eq=False)
class Connection(BoundedSender):
    too_slow_reason: ClassVar[str] = "too far behind; reconnect with ?since="

    user_id: uuid.UUID
    team_id: uuid.UUID
    room_id: uuid.UUID
    max_queue: int = 1000
    send_text: Callable[[str], Awaitable[None]] | None = None
    close: Callable[[int, str], Awaitable[None]] | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    last_seq: int = 0
    replaying: bool = False
    pending: list[tuple[int, str]] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)
    close_code: int | None = None
    close_reason: str = ""
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def deliver(self, seq: int, text: str) -> None:
        """A frame of the room's ordered stream."""
        if self.replaying:
            self.pending.append((seq, text))
            return
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        self.send(text)


class RoomChannel:
    def __init__(self, hub: Hub, room_id: uuid.UUID, team_id: uuid.UUID) -> None:
        self.hub = hub
        self.room_id = room_id
        self.team_id = team_id
        self.conns: set[Connection] = set()
        self.next_seq: int | None = None  # None: still starting (frames are kept)
        self.early: dict[int, str] = {}
        self.sub: Any = None
        self._gap: asyncio.Task[None] | None = None

    async def on_payload(self, data: bytes) -> None:
        head, _, text = data.partition(b"\n")
        seq = int(head)
        if self.next_seq is not None and seq < self.next_seq:
            return  # delivered already (this replica's own frames come back from the fan-out)
        self.on_frame(seq, text.decode())

    def start_at(self, last_seq: int) -> None:
        self.next_seq = last_seq + 1
        self.early = {s: t for s, t in self.early.items() if s > last_seq}
        self._drain()

    def on_frame(self, seq: int, text: str) -> None:
        if self.next_seq is not None and seq < self.next_seq:
            return  # already delivered
        self.early[seq] = text
        if self.next_seq is not None:
            self._drain()

    def _drain(self) -> None:
        assert self.next_seq is not None
        while self.next_seq in self.early:
            text = self.early.pop(self.next_seq)
            for conn in list(self.conns):
                conn.deliver(self.next_seq, text)
            self.next_seq += 1
        if self.early and (self._gap is None or self._gap.done()):
            self._gap = asyncio.create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        await asyncio.sleep(self.hub.gap_wait)
        for _ in range(10):
            if not self.early or self.next_seq is None:
                return
            first = min(self.early)
            if first <= self.next_seq:
                self._drain()
                continue
            try:
                rows = await self.hub.load(self.room_id, self.next_seq - 1, first - 1, 1000)
            except Exception:
                log.exception("gap repair of room %s failed", self.room_id)
                await asyncio.sleep(0.5)
                continue
            log.info(
                "room %s: repaired seq %s..%s from the database",
                self.room_id,
                self.next_seq,
                first - 1,
            )
            for seq, text in rows:
                self.on_frame(seq, text)
            if self.next_seq < first:  # not there yet (should not happen: seqs are dense)
                await asyncio.sleep(self.hub.gap_wait)

    def close(self) -> None:
        if self._gap is not None:
            self._gap.cancel()


class TeamChannel:
    def __init__(self) -> None:
        self.conns: set[Connection] = set()
        self.users: dict[uuid.UUID, int] = {}
        self.sub: Any = None


class Hub:
    def __init__(
        self,
        fanout: Fanout,
        presence: PresenceStore,
        *,
        load: Loader,
        last_seq: LastSeq,
        prefix: str = "fanout.chat",
        gap_wait: float = 0.2,
        heartbeat_timeout: float = 60.0,
        presence_ttl: float = 30.0,
        resume_limit: int = 5000,
        socket_queue: int = 1000,
    ) -> None:
        self.fanout = fanout
        self.presence = presence
        self.load = load
        self.last_seq = last_seq
        self.prefix = prefix
        self.gap_wait = gap_wait
        self.heartbeat_timeout = heartbeat_timeout
        self.presence_ttl = presence_ttl
        self.resume_limit = resume_limit
        self.socket_queue = socket_queue
        self.rooms: dict[uuid.UUID, RoomChannel] = {}
        self.teams: dict[uuid.UUID, TeamChannel] = {}
        self._room_locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._team_lock = asyncio.Lock()
        self._control: Any = None
        self._loop: asyncio.Task[None] | None = None

    # ---- subjects ----------------------------------------------------------------------------

    def room_subject(self, room_id: uuid.UUID) -> str:
        return f"{self.prefix}.room.{room_id}"

    def team_subject(self, team_id: uuid.UUID) -> str:
        return f"{self.prefix}.team.{team_id}"

    @property
    def control_subject(self) -> str:
        return f"{self.prefix}.control"

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._control = await self.fanout.subscribe(self.control_subject, self._on_control)
        self._loop = asyncio.create_task(self._maintenance(), name="chat-hub-maintenance")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(BaseException):
                await self._loop
        for room in list(self.rooms.values()):
            for conn in list(room.conns):
                conn.kill(CLOSE_RESTART, "the server is restarting; reconnect with ?since=")
        for team_id, team in list(self.teams.items()):
            for user_id in list(team.users):
                with contextlib.suppress(Exception):
                    if await self.presence.disconnect(team_id, user_id):
                        await self._publish_presence(team_id, user_id, "offline")

    # ---- joining and leaving -----------------------------------------------------------------

    def connection(self, user_id: uuid.UUID, team_id: uuid.UUID, room_id: uuid.UUID) -> Connection:
        return Connection(
            user_id=user_id, team_id=team_id, room_id=room_id, max_queue=self.socket_queue
        )

    async def join(self, conn: Connection, since_seq: int | None) -> None:
        lock = self._room_locks.setdefault(conn.room_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(conn.room_id)
            if room is None:
                room = RoomChannel(self, conn.room_id, conn.team_id)
                room.sub = await self.fanout.subscribe(
                    self.room_subject(conn.room_id), room.on_payload
                )
                self.rooms[conn.room_id] = room
                # subscribed first, then read: anything committed later arrives live
                room.start_at(await self.last_seq(conn.room_id) or 0)
            assert room.next_seq is not None
            conn.last_seq = room.next_seq - 1
            if since_seq is not None:
                conn.replaying = True
            room.conns.add(conn)
        await self._join_team(conn)
        if since_seq is not None:
            await self.replay(conn, since_seq)

    async def replay(self, conn: Connection, since_seq: int) -> None:
        """Send the room's changes after ``since_seq`` (as they are now), then the live frames
        that arrived meanwhile, skipping what the replay covered."""
        conn.replaying = True
        sent, last = 0, since_seq
        try:
            while True:
                batch = min(500, self.resume_limit - sent)
                rows = await self.load(conn.room_id, last, None, batch) if batch > 0 else []
                for seq, text in rows:
                    conn.send(text)
                    last = seq
                sent += len(rows)
                if len(rows) < batch:
                    break
                if sent >= self.resume_limit:
                    conn.send(
                        orjson.dumps(
                            {
                                "type": "resync",
                                "reason": "too many missed changes; reload the history",
                            }
                        ).decode()
                    )
                    last = max(last, conn.last_seq)
                    break
        finally:
            conn.last_seq = max(conn.last_seq, last)
            pending, conn.pending = conn.pending, []
            conn.replaying = False
            for seq, text in pending:
                conn.deliver(seq, text)

    async def leave(self, conn: Connection) -> None:
        lock = self._room_locks.setdefault(conn.room_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(conn.room_id)
            if room is not None:
                room.conns.discard(conn)
                if not room.conns:
                    self.rooms.pop(conn.room_id, None)
                    room.close()
                    await self.fanout.unsubscribe(room.sub)
        await self._leave_team(conn)

    async def _join_team(self, conn: Connection) -> None:
        async with self._team_lock:
            team = self.teams.get(conn.team_id)
            if team is None:
                team = self.teams[conn.team_id] = TeamChannel()

                async def on_team(data: bytes, team: TeamChannel = team) -> None:
                    text = data.decode()
                    for c in list(team.conns):
                        c.send(text)

                team.sub = await self.fanout.subscribe(self.team_subject(conn.team_id), on_team)
            team.conns.add(conn)
            count = team.users.get(conn.user_id, 0)
            team.users[conn.user_id] = count + 1
            first = count == 0
        if first and await self.presence.connect(conn.team_id, conn.user_id):
            await self._publish_presence(conn.team_id, conn.user_id, "online")

    async def _leave_team(self, conn: Connection) -> None:
        last = False
        async with self._team_lock:
            team = self.teams.get(conn.team_id)
            if team is None or conn not in team.conns:
                return
            team.conns.discard(conn)
            count = team.users.get(conn.user_id, 1) - 1
            if count <= 0:
                team.users.pop(conn.user_id, None)
                last = True
            else:
                team.users[conn.user_id] = count
            if not team.conns:
                self.teams.pop(conn.team_id, None)
                await self.fanout.unsubscribe(team.sub)
        if last and await self.presence.disconnect(conn.team_id, conn.user_id):
            await self._publish_presence(conn.team_id, conn.user_id, "offline")

    # ---- publishing (after commit) -----------------------------------------------------------

    async def publish_room_event(
        self, room_id: uuid.UUID, team_id: uuid.UUID, seq: int, frame: dict[str, Any]
    ) -> None:
        """After the commit: serialised once, handed to this replica's sockets at once (no round
        trip through the fan-out for them), then published for the other replicas. The copy
        that comes back from the fan-out is dropped by its ``seq``."""
        del team_id
        body = orjson.dumps(frame)
        room = self.rooms.get(room_id)
        if room is not None:
            room.on_frame(seq, body.decode())
        await self.fanout.publish(self.room_subject(room_id), str(seq).encode() + b"\n" + body)

    async def _publish_presence(self, team_id: uuid.UUID, user_id: uuid.UUID, status: str) -> None:
        frame = {
            "type": "presence",
            "team_id": str(team_id),
            "user_id": str(user_id),
            "status": status,
        }
        await self.fanout.publish(self.team_subject(team_id), orjson.dumps(frame))

    async def _control_publish(self, body: dict[str, Any]) -> None:
        await self.fanout.publish(self.control_subject, orjson.dumps(body))

    async def announce_room_deleted(self, room_id: uuid.UUID) -> None:
        await self._control_publish({"k": "room_deleted", "room_id": str(room_id)})

    async def announce_team_deleted(self, team_id: uuid.UUID) -> None:
        await self._control_publish({"k": "team_deleted", "team_id": str(team_id)})

    async def announce_member_removed(self, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self._control_publish(
            {"k": "member_removed", "team_id": str(team_id), "user_id": str(user_id)}
        )

    async def _on_control(self, data: bytes) -> None:
        body = orjson.loads(data)
        kind = body.get("k")
        if kind == "room_deleted":
            room = self.rooms.get(uuid.UUID(body["room_id"]))
            for conn in list(room.conns if room else ()):
                conn.kill(CLOSE_GONE, "the room was deleted")
        elif kind == "team_deleted":
            team = self.teams.get(uuid.UUID(body["team_id"]))
            for conn in list(team.conns if team else ()):
                conn.kill(CLOSE_GONE, "the team was deleted")
        elif kind == "member_removed":
            team = self.teams.get(uuid.UUID(body["team_id"]))
            user_id = uuid.UUID(body["user_id"])
            for conn in list(team.conns if team else ()):
                if conn.user_id == user_id:
                    conn.kill(CLOSE_FORBIDDEN, "no longer a member of the team")

    # ---- heartbeats, presence refresh and sweep ----------------------------------------------

    def local_presence(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        return [(t, u) for t, team in self.teams.items() for u in team.users]

    async def _maintenance(self) -> None:
        tick = max(0.1, min(self.heartbeat_timeout / 4, self.presence_ttl / 3, 5.0))
        refresh_every = self.presence_ttl / 3
        last_refresh = last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            try:
                for team in list(self.teams.values()):
                    for conn in list(team.conns):
                        if now - conn.last_seen > self.heartbeat_timeout:
                            conn.kill(CLOSE_IDLE, 'no heartbeat; send {"type":"ping"}')
                if now - last_refresh >= refresh_every:
                    last_refresh = now
                    await self.presence.refresh(self.local_presence())
                if now - last_sweep >= self.presence_ttl / 2:
                    last_sweep = now
                    for team_id, user_id in await self.presence.sweep():
                        await self._publish_presence(team_id, user_id, "offline")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat hub maintenance failed")
