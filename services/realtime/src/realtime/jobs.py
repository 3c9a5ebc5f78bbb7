"""The service's background work (every replica runs each; rows are claimed SKIP LOCKED)."""

from __future__ import annotations

from datetime import timedelta

from vc_common.context import Context
from vc_common.jobs import Job

from realtime.presence import service as presence
from realtime.sockets.runtime import Runtime
from realtime.stream import repository as stream_repo

PURGE_BATCH = 5000


def make_jobs(runtime: Runtime) -> list[Job]:
    settings = runtime.settings

    async def presence_due(ctx: Context) -> int:
        return await presence.due(ctx)

    async def heartbeat(ctx: Context) -> None:
        await presence.heartbeat(ctx, runtime.replica_id)

    async def sweep(ctx: Context) -> int:
        return await presence.sweep_dead_replicas(ctx, settings.realtime_replica_ttl)

    async def purge(ctx: Context) -> int:
        # a little past the window: a client resuming at its edge still finds its event
        cutoff = ctx.now() - timedelta(seconds=settings.realtime_resume_window + 300)
        return await stream_repo.purge(ctx.session, cutoff, PURGE_BATCH)

    return [
        Job("presence", presence_due, every=1.0, batch=200),
        Job("replica-heartbeat", heartbeat, every=settings.realtime_replica_heartbeat),
        Job("replica-sweep", sweep, every=settings.realtime_replica_heartbeat),
        Job("stream-purge", purge, every=60.0, batch=PURGE_BATCH),
    ]
