"""Startup hook: the fan-out, the presence store and the hub of this replica."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import orjson
from fastapi import FastAPI
from vc_common.db import Database
from vc_common.sockets.fanout import make_fanout
from vc_common.sockets.session import socket_index

from chat.messages import repository as messages_repo
from chat.messages.schemas import message_json
from chat.presence.store import MemoryPresence, PresenceStore, RedisPresence
from chat.realtime.hub import Hub
from chat.rooms import repository as rooms_repo
from chat.settings import Settings


def frame_text(seq: int, kind: str, message: object) -> str:
    return orjson.dumps({"type": kind, "message": message_json(message), "seq": seq}).decode()


def make_hub(app: FastAPI, settings: Settings) -> Hub:
    def db() -> Database:
        database: Database = app.state.db
        return database

    async def load(
        room_id: uuid.UUID, after: int, up_to: int | None, limit: int
    ) -> list[tuple[int, str]]:
        async with db().sessionmaker() as session:
            rows = await messages_repo.changes_between(session, room_id, after, up_to, limit)
        return [(seq, frame_text(seq, kind, msg)) for seq, kind, msg in rows]

    async def last_seq(room_id: uuid.UUID) -> int | None:
        async with db().sessionmaker() as session:
            return await rooms_repo.last_seq(session, room_id)

    presence: PresenceStore
    if app.state.redis is not None:
        presence = RedisPresence(app.state.redis, ttl=settings.chat_presence_ttl)
    else:
        presence = MemoryPresence()
    return Hub(
        make_fanout(settings, "chat"),
        presence,
        load=load,
        last_seq=last_seq,
        prefix=settings.chat_fanout_prefix,
        gap_wait=settings.chat_gap_wait,
        heartbeat_timeout=settings.chat_heartbeat_timeout,
        presence_ttl=settings.chat_presence_ttl,
        resume_limit=settings.chat_resume_limit,
        socket_queue=settings.chat_socket_queue,
    )


def realtime_runtime(settings: Settings):  # type: ignore[no-untyped-def]
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        hub = make_hub(app, settings)
        await hub.fanout.start()
        stack.push_async_callback(hub.fanout.close)
        await hub.start()
        stack.push_async_callback(hub.stop)
        socket_index(app.state.verifier)  # revocations pushed from now on, not at the 1st socket
        app.state.hub = hub  # requests (chat.deps.HubDep) and consumers (ctx.resource("hub"))
        stack.callback(setattr, app.state, "hub", None)

    return hook
