"""Group commit of the posts to one room: the posts a replica receives for a room while that
room's previous write is in flight are written together, in ONE transaction of their own.

Why: every post to a room takes the room's row lock (``UPDATE rooms SET last_seq = ...``, which
keeps its seqs dense and in commit order) and holds it until its commit, so a room's posts
serialise on that hold: one statement and one ``COMMIT`` round trip each, on a busy event loop
(profiled at ~25-40 ms: 30-40 msgs/s per room whatever the CPU). Here a room has at most one
write in flight per replica; what queues meanwhile is the next batch: one statement for its N
posts (N seqs in queue order, N messages, N ``room_events`` rows, N outbox events:
``chat.messages.repository.append_many``) and one commit, so the lock is held once per batch.

What stays the same:

* seqs: the batch takes them under the same row lock, so posts of several replicas (each with
  its own batches) still get dense seqs in commit order;
* the outbox: each post's event is in the transaction of its message;
* each caller gets its own message with its own seq, only after the batch committed; its
  frames go to the sockets after that commit (``after_commit``), in seq order;
* a post is validated, authorised and rate-limited before it queues (``service.post_message``),
  so one refused post fails nobody else; if the batch's transaction fails, every post in it
  gets that error (nothing of it was written); the room deleted meanwhile: every post gets 404;
* a request with an ``Idempotency-Key`` does not queue: its key row and its message must commit
  together, so it is written in its request's own transaction as before (``chat.deps``).

The batches run on connections of their own (``CHAT_POST_CONNECTIONS``), never the requests'
pool: every request waiting for its batch holds its request's connection, and a batch that
needed one of those could wait forever.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass

import orjson
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from vc_common.db import Database
from vc_common.errors import NotFound
from vc_common.events.envelope import CloudEvent
from vc_common.telemetry import current_traceparent

from chat import events
from chat.messages import repository as repo
from chat.messages.service import POSTED, push_after_commit
from chat.models import Message
from chat.realtime.hub import Hub
from chat.settings import Settings


@dataclass(slots=True)
class _Post:
    message: Message
    event: CloudEvent
    hub: Hub
    done: asyncio.Future[int]


class GroupCommit:
    """One per replica (``app.state.posts``). ``await post(hub, message)``: the message's seq."""

    def __init__(self, db: Database, *, max_batch: int = 200) -> None:
        self.db = db
        self.max_batch = max_batch
        self._rooms: dict[uuid.UUID, list[_Post]] = {}  # a room with a write in flight
        self._tasks: set[asyncio.Task[None]] = set()
        #: how many batches and posts were written (for tests and the bench's reading)
        self.batches = 0
        self.posts = 0

    async def post(self, hub: Hub, message: Message) -> int:
        """Write ``message`` (validated and authorised: nothing here refuses it) with the room's
        other queued posts; its seq once that transaction committed. ``NotFound``: the room was
        deleted meanwhile (nothing written); the batch's error if its transaction failed."""
        loop = asyncio.get_running_loop()
        post = _Post(
            message,
            events.message_posted_event(message, current_traceparent()),
            hub,
            loop.create_future(),
        )
        queue = self._rooms.get(message.room_id)
        if queue is not None:
            queue.append(post)  # the write in flight takes it next
        else:
            self._rooms[message.room_id] = [post]
            task = loop.create_task(self._drain(message.room_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await post.done

    async def _drain(self, room_id: uuid.UUID) -> None:
        queue = self._rooms[room_id]
        try:
            while queue:
                batch = [p for p in queue[: self.max_batch] if not p.done.done()]  # not gone
                del queue[: self.max_batch]
                if batch:
                    await self._write(room_id, batch)
        finally:
            # no await since the last look at the queue: a post arriving from now on starts
            # the room's next drain
            del self._rooms[room_id]
            for p in queue:  # only on cancellation (shutdown)
                p.done.cancel()

    async def _write(self, room_id: uuid.UUID, batch: list[_Post]) -> None:
        messages = [p.message for p in batch]
        try:
            async with self.db.unit_of_work() as session:
                seqs = await repo.append_many(
                    session,
                    room_id,
                    messages,
                    POSTED,
                    [(p.event.id, orjson.dumps(p.event.to_dict()).decode()) for p in batch],
                    event_type=events.MESSAGE_POSTED,
                    channel=events.OUTBOX_CHANNEL,
                )
                for p, seq in zip(batch, seqs, strict=False):
                    p.message.seq = seq
                    push_after_commit(session, p.hub, p.message, seq, POSTED)
        except asyncio.CancelledError:
            for p in batch:
                p.done.cancel()
            raise
        except Exception as exc:
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(exc)
            return
        self.batches += 1
        if not seqs:  # deleted meanwhile: nothing was written
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(NotFound("Room not found."))
            return
        self.posts += len(batch)
        for p, seq in zip(batch, seqs, strict=True):
            if not p.done.done():  # (a caller gone meanwhile: its message is posted all the same)
                p.done.set_result(seq)


def group_commit(settings: Settings):  # type: ignore[no-untyped-def]
    """Startup hook: ``app.state.posts`` (``None`` with ``CHAT_POST_BATCH=0``)."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        app.state.posts = None
        if settings.chat_post_batch <= 0:
            return
        db: Database = app.state.db
        if isinstance(db.engine, AsyncEngine):  # (else: joined to a test's connection)
            db = Database(
                settings.async_database_url,
                pool_size=settings.chat_post_connections,
                max_overflow=0,
                pre_ping=settings.db_pool_pre_ping,
            )
            stack.push_async_callback(db.dispose)
        app.state.posts = GroupCommit(db, max_batch=settings.chat_post_batch)
        stack.callback(setattr, app.state, "posts", None)

    return hook
