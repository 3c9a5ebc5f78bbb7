"""The teams service app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import FastAPI
from vc_common.app import Hook, create_service_app
from vc_common.events.consumer import Consumer
from vc_common.events.runtime import event_runtime, outbox_readiness

from teams.models import Base, event_tables
from teams.settings import Settings
from teams.teams.endpoints import internal_router, router
from teams.users import consumers as user_consumers
from teams.users.client import IdentityClient

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def build_consumer() -> Consumer:
    consumer = Consumer("teams")
    user_consumers.register(consumer)
    return consumer


def identity_client(settings: Settings) -> Hook:
    """Startup hook: one pooled client of identity (for users not yet in ``known_users``)."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        if getattr(app.state, "identity", None) is None:
            client = IdentityClient(settings.identity_url, timeout=settings.identity_timeout)
            app.state.identity = client
            stack.push_async_callback(client.aclose)

    return hook


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    consumer = build_consumer()
    app = create_service_app(
        settings,
        title="VirtualCoworking teams",
        description="Teams, memberships and roles: the unit of sharing of every other service.",
        routers=[router, internal_router],
        metadata=Base.metadata,
        alembic_ini=Path(settings.alembic_ini) if settings.alembic_ini else ALEMBIC_INI,
        on_startup=[
            identity_client(settings),
            event_runtime(source="teams", tables=event_tables, consumers=[consumer]),
        ],
        readiness={"outbox": outbox_readiness},
    )
    app.state.identity = None
    app.state.consumer = consumer
    return app
