"""The files service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.jobs import Job

from files.avatars.endpoints import router as avatars_router
from files.consumers import consumer
from files.files.endpoints import router as files_router
from files.lifecycle import StorageRef, sweeper
from files.models import Base, membership
from files.permissions import PERMISSIONS
from files.settings import Settings
from files.storage import open_storage


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ref = StorageRef()

    async def start_storage(app: FastAPI, stack: AsyncExitStack) -> None:
        storage = await open_storage(settings, stack)
        ref.set(storage)
        app.state.storage = storage
        stack.callback(ref.set, None)

    app = create_service_app(
        settings,
        title="VirtualCoworking files",
        description="Team files and avatars, streamed to local disk or any S3-compatible store.",
        routers=[files_router, avatars_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=[
            Job(
                "sweeper",
                sweeper(ref),
                every=settings.files_sweep_every,
                batch=settings.files_sweep_batch,
            )
        ],
        on_startup=[start_storage],
    )
    app.state.storage = None
    return app
