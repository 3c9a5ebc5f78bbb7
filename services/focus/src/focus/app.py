"""The focus service: the focus timer, daily goals and stats, who is focusing now."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.jobs import Job
from vc_common.metrics import SqlGauge

from focus.consumers import consumer
from focus.goals.endpoints import router as goals_router
from focus.models import Base, membership
from focus.permissions import PERMISSIONS
from focus.sessions.endpoints import router as sessions_router
from focus.sessions.service import auto_end_due
from focus.settings import Settings
from focus.stats.endpoints import router as stats_router

AUTO_END = "auto_end"
GAUGES = [
    SqlGauge(  # the partial index of running sessions answers it
        "vc_focus_sessions_running",
        "Focus sessions running now",
        "SELECT count(*) FROM focus_sessions WHERE end_time IS NULL",
    ),
]


def jobs(settings: Settings) -> list[Job]:
    """The auto-end job (ends sessions nobody stopped), off when its interval is 0."""
    every = settings.focus_auto_end_interval_seconds
    if every <= 0:
        return []
    return [Job(AUTO_END, auto_end_due, every=every, batch=settings.focus_auto_end_batch_size)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking focus",
        description="The focus timer, daily focus goals and stats, who is focusing now.",
        routers=[sessions_router, goals_router, stats_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=jobs(settings),
        gauges=GAUGES,
    )
