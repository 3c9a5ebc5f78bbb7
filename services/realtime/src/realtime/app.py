"""The realtime service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.health import CheckResult

from realtime.consumers import make_consumer
from realtime.jobs import make_jobs
from realtime.models import Base, membership
from realtime.permissions import PERMISSIONS
from realtime.presence.endpoints import router as presence_router
from realtime.settings import Settings
from realtime.sockets.endpoints import router as sockets_router
from realtime.sockets.runtime import Runtime, realtime_runtime


async def stream_readiness(app: Any) -> CheckResult:
    rt: Runtime | None = getattr(app.state, "realtime", None)
    if rt is None or rt.hub is None:
        return CheckResult(False, {"stream": "not started"})
    hub = rt.hub
    ok = await hub.fanout.healthy()
    consumer = app.state.consumers[0] if app.state.consumers else None
    return CheckResult(
        ok,
        {
            "fanout": hub.fanout.kind,
            "sockets": hub.sockets,
            "position": hub.position,
            "leader": bool(getattr(consumer, "leading", False)),
            "replica": str(rt.replica_id),
        },
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings)
    return create_service_app(
        settings,
        title="VirtualCoworking realtime",
        description="One live socket per client for all their teams, and the team's now.",
        routers=[sockets_router, presence_router],
        metadata=Base.metadata,
        consumers=[make_consumer(settings)],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=make_jobs(runtime),
        on_startup=[realtime_runtime(runtime)],
        readiness={"stream": stream_readiness},
    )
