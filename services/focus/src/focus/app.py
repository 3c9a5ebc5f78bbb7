"""The focus service: the focus timer, daily goals and stats, who is focusing now."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.events.runtime import event_runtime, outbox_readiness
from vc_common.membership import membership_runtime

from focus.clock import system_clock
from focus.consumers import consumer
from focus.goals.endpoints import router as goals_router
from focus.models import Base, event_tables, membership_tables
from focus.sessions.endpoints import router as sessions_router
from focus.sessions.jobs import auto_end_runtime
from focus.settings import Settings
from focus.stats.endpoints import router as stats_router

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="VirtualCoworking focus",
        description="The focus timer, daily focus goals and stats, who is focusing now.",
        routers=[sessions_router, goals_router, stats_router],
        metadata=Base.metadata,
        alembic_ini=Path(settings.alembic_ini) if settings.alembic_ini else ALEMBIC_INI,
        on_startup=[
            membership_runtime(membership_tables),
            event_runtime(source="focus", tables=event_tables, consumers=[consumer]),
            auto_end_runtime,
        ],
        readiness={"outbox": outbox_readiness},
    )
    # "now" for every rule of the service; tests replace it (see focus.clock)
    app.state.clock = system_clock
    return app
