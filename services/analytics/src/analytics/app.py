"""The analytics service: daily team and user aggregates built from domain events."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access

from analytics.aggregates.endpoints import router as aggregates_router
from analytics.consumers import consumer
from analytics.models import Base, membership
from analytics.permissions import PERMISSIONS
from analytics.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking analytics",
        description="Daily team and user aggregates, built only from domain events.",
        routers=[aggregates_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
    )
