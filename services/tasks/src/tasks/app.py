"""The tasks service: the team's kanban boards (``create_app`` is the ASGI factory)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.events.runtime import event_runtime, outbox_readiness
from vc_common.membership import membership_runtime

from tasks.boards.endpoints import router as boards_router
from tasks.comments.endpoints import router as comments_router
from tasks.consumers import consumer
from tasks.labels.endpoints import router as labels_router
from tasks.models import Base, event_tables, membership
from tasks.settings import Settings
from tasks.tasks.endpoints import router as tasks_router

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking tasks",
        description="The team's kanban: boards, columns, tasks, subtasks, comments, labels.",
        routers=[boards_router, tasks_router, comments_router, labels_router],
        metadata=Base.metadata,
        alembic_ini=ALEMBIC_INI,
        on_startup=[
            membership_runtime(membership),
            event_runtime(source="tasks", tables=event_tables, consumers=[consumer]),
        ],
        readiness={"outbox": outbox_readiness},
    )
