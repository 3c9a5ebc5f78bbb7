"""The tasks service: the team's kanban boards (``create_app`` is the ASGI factory)."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access

from tasks.attachments.endpoints import router as attachments_router
from tasks.boards.endpoints import router as boards_router
from tasks.comments.endpoints import router as comments_router
from tasks.consumers import consumer
from tasks.labels.endpoints import router as labels_router
from tasks.models import Base, membership
from tasks.permissions import PERMISSIONS
from tasks.settings import Settings
from tasks.subtasks.endpoints import router as subtasks_router
from tasks.tasks.endpoints import router as tasks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking tasks",
        description="The team's kanban: boards, columns, tasks, subtasks, comments, labels.",
        routers=[
            boards_router,
            tasks_router,
            subtasks_router,
            attachments_router,
            comments_router,
            labels_router,
        ],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
    )
