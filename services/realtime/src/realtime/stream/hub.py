"""The replica's sockets, and how every stream entry reaches each of them once, in order.

- :class:`Conn`: one socket; a bounded send queue drained by its own writer task, so one slow
  client never delays the others (one that falls ``realtime_socket_queue`` frames behind is
  closed with 1013 and resumes).
- The stream: entries arrive from the fan-out in batches, numbered by ``seq`` (dense, in commit
  order, see :mod:`realtime.stream.log`). The hub dispatches them strictly in ``seq`` order. An
  entry that arrives early waits; a missing one is read from ``stream_log`` after
  ``realtime_gap_wait``, and a periodic look at ``stream_state`` catches a lost last batch, so
  a lost fan-out message never becomes a gap.
- Memberships: for the users with a socket here, which teams they are in (with the seq of
  teams' last change, so a late or replayed change never undoes a newer one). Entries that
  change a membership update it as they pass, in stream order: from the entry of a removal on,
  nothing of that team reaches the removed member.
- Joining: a socket registers *before* its memberships are read (entries meanwhile are kept),
  so nothing committed around its start is lost or doubled. Resume walks ``stream_log`` for the
  user and then the entries kept meanwhile, skipping what was sent (by ``seq``). A socket that
  connects to resume keeps holding from its join to the end of its replay, so an entry that
  arrives in between comes after the replayed ones, not before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from vc_common.sockets.fanout import Fanout
from vc_common.sockets.outbound import CLOSE_TOO_SLOW as CLOSE_TOO_SLOW
from vc_common.sockets.outbound import BoundedSender

from realtime.stream.repository import Item

log = logging.getLogger("realtime.hub")

CLOSE_FLOOD = 4429
CLOSE_RESTART = 1012
CLOSE_TOO_BIG = 1009

# (after, up_to, limit) -> items
Loader = Callable[[int, int | None, int], Awaitable[list[Item]]]
LastSeq = Callable[[], Awaitable[int]]
# the memberships of a user, read after the socket registered: {team: (present, team seq)}
Memberships = dict[uuid.UUID, tuple[bool, int]]


@dataclass(eq=False)
class Conn(BoundedSender):
    too_slow_reason: ClassVar[str] = "too far behind; reconnect and resume"

    user_id: uuid.UUID
    max_queue: int = 2000
    send_text: Callable[[str], Awaitable[None]] | None = None
    close: Callable[[int, str], Awaitable[None]] | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    # everything for this socket in (floor, last_seq] has been queued to it
    last_seq: int = 0
    floor: int = 0
    holding: bool = False  # joining or replaying: entries are kept in `held`
    held: list[Item] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def deliver(self, seq: int, text: str) -> None:
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        self.send(text)


def _json(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


class Hub:
    def __init__(
        self,
        fanout: Fanout,
        *,
        load: Loader,
        last_seq: LastSeq,
        subject: str,
        gap_wait: float = 0.2,
        catch_up_every: float = 2.0,
        socket_queue: int = 2000,
    ) -> None:
        self.fanout = fanout
        self.load = load
        self.last_seq = last_seq
        self.subject = subject
        self.gap_wait = gap_wait
        self.catch_up_every = catch_up_every
        self.socket_queue = socket_queue
        self.next_seq: int | None = None  # None: not started (entries are kept)
        self.early: dict[int, Item] = {}
        self.conns: dict[uuid.UUID, set[Conn]] = {}  # user -> sockets here
        self.holding: set[Conn] = set()
        self.members: dict[tuple[uuid.UUID, uuid.UUID], tuple[bool, int]] = {}
        self.team_users: dict[uuid.UUID, set[uuid.UUID]] = {}
        self._sub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[list[Item]] = asyncio.Queue()
        self._gap: asyncio.Task[None] | None = None
        self.delivered = 0

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, catch_up: bool = True) -> None:
        """``catch_up`` False: no periodic look at the database (the test plugin's ``app``,
        whose one connection belongs to the test)."""
        self._sub = await self.fanout.subscribe(self.subject, self.on_payload)
        # subscribed first, then read: anything committed later arrives live
        self.start_at(await self.last_seq())
        self._tasks = [asyncio.create_task(self._publish_loop(), name="realtime-publisher")]
        if catch_up:
            self._tasks.append(asyncio.create_task(self._catch_up_loop(), name="realtime-catch-up"))

    async def stop(self) -> None:
        for conns in list(self.conns.values()):
            for conn in list(conns):
                conn.kill(CLOSE_RESTART, "the server is restarting; reconnect and resume")
        for conn in list(self.holding):
            conn.kill(CLOSE_RESTART, "the server is restarting; reconnect and resume")
        # what was committed is published before the fan-out closes
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self._outbox.join()
        for t in self._tasks:
            t.cancel()
        if self._gap is not None:
            self._gap.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        if self._sub is not None:
            await self.fanout.unsubscribe(self._sub)

    @property
    def sockets(self) -> int:
        return sum(len(c) for c in self.conns.values())

    # ---- publishing (after commit, the leader's consumer) ------------------------------------

    def publish(self, items: list[Item]) -> None:
        """The stream log's publisher: committed entries, in commit order."""
        self._outbox.put_nowait(items)

    async def _publish_loop(self) -> None:
        while True:
            items = list(await self._outbox.get())
            taken = 1
            while not self._outbox.empty() and len(items) < 500:
                items.extend(self._outbox.get_nowait())
                taken += 1
            try:
                await self.fanout.publish(self.subject, orjson.dumps(items))
            except Exception:
                # the replicas read it from stream_log (gap repair / catch-up)
                log.warning("fan-out publish of %d entries failed", len(items), exc_info=True)
            finally:
                for _ in range(taken):
                    self._outbox.task_done()

    # ---- the ordered stream ------------------------------------------------------------------

    async def on_payload(self, data: bytes) -> None:
        for raw in orjson.loads(data):
            seq, team, recipient, change, frame = raw
            self.on_item((int(seq), team, recipient, change, frame))

    def start_at(self, last_seq: int) -> None:
        self.next_seq = last_seq + 1
        self.early = {s: i for s, i in self.early.items() if s > last_seq}
        self._drain()

    @property
    def position(self) -> int:
        """The seq of the last entry dispatched here."""
        return (self.next_seq or 1) - 1

    def on_item(self, item: Item) -> None:
        seq = item[0]
        if self.next_seq is not None and seq < self.next_seq:
            return  # dispatched already
        self.early[seq] = item
        if self.next_seq is not None:
            self._drain()

    def _drain(self) -> None:
        assert self.next_seq is not None
        while self.next_seq in self.early:
            self.dispatch(self.early.pop(self.next_seq))
            self.next_seq += 1
        if self.early and (self._gap is None or self._gap.done()):
            self._gap = asyncio.create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        await asyncio.sleep(self.gap_wait)
        for _ in range(20):
            if not self.early or self.next_seq is None:
                return
            first = min(self.early)
            if first <= self.next_seq:
                self._drain()
                continue
            await self._read(first - 1)
            if self.next_seq < first:
                await asyncio.sleep(self.gap_wait)

    async def _read(self, up_to: int | None) -> None:
        assert self.next_seq is not None
        try:
            items = await self.load(self.next_seq - 1, up_to, 1000)
        except Exception:
            log.exception("reading the stream log failed")
            await asyncio.sleep(0.5)
            return
        if items:
            log.info("stream: read seq %s..%s from the database", items[0][0], items[-1][0])
        for item in items:
            self.on_item(item)

    async def _catch_up_loop(self) -> None:
        """A lost *last* batch leaves no gap to notice: compare with the database now and then."""
        while True:
            await asyncio.sleep(self.catch_up_every)
            try:
                last = await self.last_seq()
            except Exception:
                log.warning("stream catch-up: cannot read stream_state", exc_info=True)
                continue
            if self.next_seq is not None and last >= self.next_seq and not self.early:
                await asyncio.sleep(self.gap_wait)  # it may be on its way
                if self.next_seq is not None and last >= self.next_seq:
                    await self._read(last)

    # ---- dispatch ----------------------------------------------------------------------------

    def dispatch(self, item: Item) -> None:
        seq, team, recipient, change, frame = item
        for conn in self.holding:
            conn.held.append(item)
        team_id = uuid.UUID(team) if team else None
        if change is not None and change.get("role") is not None:
            self._apply_change(change)  # an added member receives their own addition
        if team_id is not None:
            for user in list(self.team_users.get(team_id, ())):
                for conn in self.conns.get(user, ()):
                    if not conn.holding:  # a replaying socket gets it from `held`, after
                        conn.deliver(seq, frame)
                        self.delivered += 1
        elif recipient is not None:
            for conn in self.conns.get(uuid.UUID(recipient), ()):
                if not conn.holding:
                    conn.deliver(seq, frame)
                    self.delivered += 1
        if change is not None and change.get("role") is None:
            self._apply_change(change)  # removed after being told

    def _apply_change(self, change: dict[str, Any]) -> None:
        team = uuid.UUID(change["team"])
        if change.get("deleted"):
            for user in list(self.team_users.pop(team, ())):
                self.members[(team, user)] = (False, 1 << 62)
            return
        user = uuid.UUID(change["user"])
        if user in self.conns:
            self.set_member(team, user, change.get("role") is not None, int(change["seq"]))

    def set_member(self, team: uuid.UUID, user: uuid.UUID, present: bool, seq: int) -> bool:
        """Apply a membership unless a change as new or newer is known. True if applied."""
        known = self.members.get((team, user))
        if known is not None and known[1] >= seq:
            return False
        self.members[(team, user)] = (present, seq)
        users = self.team_users.setdefault(team, set())
        if present:
            users.add(user)
        else:
            users.discard(user)
            if not users:
                self.team_users.pop(team, None)
        return True

    def is_member(self, team: uuid.UUID, user: uuid.UUID) -> bool:
        return user in self.team_users.get(team, ())

    def teams_of(self, user: uuid.UUID) -> list[uuid.UUID]:
        return sorted(t for (t, u), (present, _) in self.members.items() if u == user and present)

    # ---- joining and leaving -----------------------------------------------------------------

    def connection(self, user_id: uuid.UUID) -> Conn:
        return Conn(user_id=user_id, max_queue=self.socket_queue)

    async def join(
        self,
        conn: Conn,
        memberships: Callable[[], Awaitable[Memberships]],
        *,
        hold: bool = False,
    ) -> None:
        """Register ``conn``, read its user's memberships, then go live: entries dispatched
        while the memberships were read are applied and sent after them, in order.

        ``hold``: the socket resumes next, so it stays holding until :meth:`release` (which
        :meth:`replay` calls); an entry dispatched before the replay then follows the entries
        replayed instead of overtaking them."""
        conn.last_seq = conn.floor = self.position
        self._hold(conn)
        try:
            known = await memberships()
        except BaseException:
            self.holding.discard(conn)
            raise
        self.conns.setdefault(conn.user_id, set()).add(conn)
        for team, (present, seq) in known.items():
            self.set_member(team, conn.user_id, present, seq)
        if not hold:
            self.release(conn)

    def _hold(self, conn: Conn) -> None:
        """Keep what is dispatched to ``conn`` in its ``held`` until :meth:`release`."""
        conn.holding = True
        self.holding.add(conn)

    def release(self, conn: Conn) -> None:
        """Go live: the entries kept while ``conn`` was holding, as dispatch would have sent them
        (a no-op for a socket that is not holding)."""
        self.holding.discard(conn)
        held, conn.held = conn.held, []
        conn.holding = False
        for item in held:
            self._replay_one(conn, item)

    def _replay_one(self, conn: Conn, item: Item) -> None:
        """An entry dispatched while ``conn`` was holding: as dispatch would have done for it."""
        seq, team, recipient, change, frame = item
        if seq <= conn.last_seq:
            return
        if change is not None and change.get("role") is not None:
            self._apply_change(change)
        if (team is not None and self.is_member(uuid.UUID(team), conn.user_id)) or (
            team is None and recipient == str(conn.user_id)
        ):
            conn.deliver(seq, frame)
        else:
            conn.last_seq = seq
        if change is not None and change.get("role") is None:
            self._apply_change(change)

    def leave(self, conn: Conn) -> None:
        self.holding.discard(conn)
        conns = self.conns.get(conn.user_id)
        if conns is None or conn not in conns:
            return
        conns.discard(conn)
        if not conns:
            del self.conns[conn.user_id]
            for key in [k for k in self.members if k[1] == conn.user_id]:
                present, _ = self.members.pop(key)
                if present:
                    users = self.team_users.get(key[0])
                    if users is not None:
                        users.discard(conn.user_id)
                        if not users:
                            self.team_users.pop(key[0], None)

    # ---- resume ------------------------------------------------------------------------------

    async def replay(
        self,
        conn: Conn,
        after: int,
        rows: Callable[[int, int, int], Awaitable[list[Item]]],
        limit: int,
    ) -> int | None:
        """Send what ``conn``'s user was sent after ``after`` and this socket has not had, in
        order, then the entries dispatched meanwhile. The number replayed, or None when more
        than ``limit`` were missed (nothing is sent: the client reloads)."""
        self._hold(conn)
        try:
            if after >= conn.floor:
                return 0
            up_to = conn.floor
            items = await rows(after, up_to, limit + 1)
            if len(items) > limit:
                return None
            sent = 0
            state = self._membership_before(conn.user_id, items)
            for seq, team, recipient, change, frame in items:
                ours = change is not None and change.get("user") == str(conn.user_id)
                if ours and change is not None and change.get("role") is not None:
                    state[change["team"]] = True
                if (team is not None and state.get(team, False)) or (
                    team is None and recipient == str(conn.user_id)
                ):
                    conn.send(frame)
                    sent += 1
                if ours and change is not None and change.get("role") is None:
                    state[change["team"]] = False
                if change is not None and change.get("deleted"):
                    state[change["team"]] = False
                del seq
            conn.floor = after
            return sent
        finally:
            self.release(conn)

    def _membership_before(self, user: uuid.UUID, items: list[Item]) -> dict[str, bool]:
        """The user's memberships just before ``items``: now, undone by their own changes."""
        state = {str(t): True for t in self.teams_of(user)}
        seen: set[str] = set()
        for _, _, _, change, _ in items:
            if change is None or change.get("user") != str(user) or change["team"] in seen:
                continue
            seen.add(change["team"])
            # the first change of a team tells what it was before: removed -> was a member
            state[change["team"]] = change.get("role") is None
        return state


def frame(body: dict[str, Any]) -> str:
    return _json(body)
