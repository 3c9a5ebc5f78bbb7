"""The chat service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.health import CheckResult

from chat.consumers import consumer
from chat.messages.endpoints import router as messages_router
from chat.messages.grouping import group_commit
from chat.models import Base, membership
from chat.permissions import PERMISSIONS
from chat.presence.endpoints import router as presence_router
from chat.realtime.endpoints import router as realtime_router
from chat.realtime.runtime import realtime_runtime
from chat.rooms.endpoints import router as rooms_router
from chat.settings import Settings


async def fanout_readiness(app: Any) -> CheckResult:
    hub = getattr(app.state, "hub", None)
    if hub is None:
        return CheckResult(False, {"fanout": "not started"})
    ok = await hub.fanout.healthy()
    return CheckResult(
        ok, {"fanout": hub.fanout.kind, "sockets": sum(len(r.conns) for r in hub.rooms.values())}
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking chat",
        description="Team rooms, messages, real-time delivery over WebSockets, presence.",
        routers=[rooms_router, messages_router, presence_router, realtime_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        on_startup=[realtime_runtime(settings), group_commit(settings)],
        readiness={"fanout": fanout_readiness},
    )
