"""The integrations service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI
from vc_common.app import Hook, create_service_app
from vc_common.authz import Access
from vc_common.jobs import Job

from integrations import runtime
from integrations.connections import service as connections
from integrations.connections.endpoints import router as connections_router
from integrations.consumers import consumer
from integrations.github.endpoints import router as github_router
from integrations.meetings.endpoints import internal_router as meetings_router
from integrations.models import Base, membership
from integrations.permissions import PERMISSIONS
from integrations.settings import Settings
from integrations.syncs import service as syncs
from integrations.syncs.endpoints import router as syncs_router


def _runtime(settings: Settings) -> Hook:
    """Startup hook: the runtime (cipher, OAuth clients, pooled HTTP clients), closed last."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        rt = runtime.build(settings)
        app.state.runtime = rt
        stack.push_async_callback(rt.aclose)

    return hook


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    jobs = [
        Job("refresh", connections.refresh_due, every=5.0, batch=settings.refresh_batch),
        Job("syncs", syncs.run_syncs, every=2.0, batch=settings.sync_batch),
        Job("sync-sweeper", syncs.sweep, every=60.0, batch=100),
        Job("schedule", syncs.schedule, every=30.0, batch=500),
        Job("housekeeping", connections.purge, every=3600.0),
    ]
    app = create_service_app(
        settings,
        title="VirtualCoworking integrations",
        description="OAuth connections to Google Calendar, Slack, GitHub, Notion, Zoom and "
        "Microsoft Teams: their tokens (encrypted, refreshed) and their syncs.",
        routers=[github_router, connections_router, syncs_router, meetings_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        on_startup=[_runtime(settings)],
        jobs=jobs if settings.jobs_enabled else [],
    )
    app.state.jobs = {j.name: j for j in jobs}  # run_job works even when the loops are off
    return app
