"""The replica's realtime runtime: its id, the hub, the fan-out, the teams directory; started
and stopped with the app (``on_startup`` hook)."""

from __future__ import annotations

import logging
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from vc_common.context import context_for
from vc_common.db import Database
from vc_common.sockets.fanout import LocalFanout, make_fanout
from vc_common.sockets.session import socket_index

from realtime.presence import service as presence
from realtime.settings import Settings
from realtime.stream import repository as stream_repo
from realtime.stream.hub import Hub
from realtime.stream.repository import Item
from realtime.teams_directory import TeamsDirectory

log = logging.getLogger("realtime.runtime")


@dataclass
class Runtime:
    settings: Settings
    replica_id: uuid.UUID = field(default_factory=uuid.uuid4)
    hub: Hub | None = None
    directory: TeamsDirectory | None = None


def make_hub(app: FastAPI, settings: Settings, *, shared: bool = True) -> Hub:
    """``shared`` False: an in-process fan-out (the test plugin's rolled-back ``app``, whose
    commits are savepoints: they must never reach other processes' sockets)."""

    def db() -> Database:
        database: Database = app.state.db
        return database

    async def load(after: int, up_to: int | None, limit: int) -> list[Item]:
        async with db().sessionmaker() as session:
            return await stream_repo.between(session, after, up_to, limit)

    async def last_seq() -> int:
        async with db().sessionmaker() as session:
            return await stream_repo.last_seq(session)

    return Hub(
        make_fanout(settings, "realtime") if shared else LocalFanout(),
        load=load,
        last_seq=last_seq,
        subject=f"{settings.realtime_fanout_prefix}.stream",
        gap_wait=settings.realtime_gap_wait,
        socket_queue=settings.realtime_socket_queue,
    )


def realtime_runtime(runtime: Runtime) -> Any:
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        settings = runtime.settings
        owns_engine = isinstance(app.state.db.engine, AsyncEngine)
        hub = make_hub(app, settings, shared=owns_engine)
        await hub.fanout.start()
        stack.push_async_callback(hub.fanout.close)
        runtime.directory = TeamsDirectory(settings.teams_url)
        stack.push_async_callback(runtime.directory.aclose)
        await hub.start(catch_up=owns_engine)
        socket_index(app.state.verifier)  # revocations pushed from now on, not at the 1st socket
        runtime.hub = hub
        app.state.realtime = runtime

        async def forget_own_sockets() -> None:
            try:
                async with app.state.db.unit_of_work() as session:
                    await presence.drop_own_replica(context_for(app, session), runtime.replica_id)
            except Exception:
                log.warning("could not drop this replica's sockets on shutdown", exc_info=True)

        stack.push_async_callback(forget_own_sockets)
        stack.push_async_callback(hub.stop)
        async with app.state.db.unit_of_work() as session:
            await presence.heartbeat(context_for(app, session), runtime.replica_id)

    return hook
