"""The analytics service: daily team and user aggregates built from domain events."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.events.runtime import event_runtime, outbox_readiness
from vc_common.membership import membership_runtime

from analytics.aggregates.endpoints import router as aggregates_router
from analytics.consumers import consumer
from analytics.models import Base, event_tables, membership_tables
from analytics.settings import Settings

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking analytics",
        description="Daily team and user aggregates, built only from domain events.",
        routers=[aggregates_router],
        metadata=Base.metadata,
        alembic_ini=ALEMBIC_INI,
        on_startup=[
            membership_runtime(membership_tables),
            event_runtime(source="analytics", tables=event_tables, consumers=[consumer]),
        ],
        readiness={"outbox": outbox_readiness},
    )
