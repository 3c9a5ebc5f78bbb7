"""The teams service app."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI
from vc_common.app import Hook, create_service_app
from vc_common.authz import Access

from teams.consumers import consumer
from teams.models import Base
from teams.permissions import PERMISSIONS
from teams.settings import Settings
from teams.teams.endpoints import internal_router, router
from teams.teams.memberships import OwnMemberships
from teams.users.client import IdentityClient


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
    app = create_service_app(
        settings,
        title="VirtualCoworking teams",
        description="Teams, memberships and roles: the unit of sharing of every other service.",
        routers=[router, internal_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, OwnMemberships()),
        on_startup=[identity_client(settings)],
    )
    app.state.identity = None
    return app
