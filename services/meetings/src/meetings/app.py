"""The meetings service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.jobs import Job

from meetings.consumers import consumer
from meetings.meetings.endpoints import router
from meetings.meetings.service import complete_due_meetings
from meetings.models import Base, membership
from meetings.permissions import PERMISSIONS
from meetings.providers import providers_for
from meetings.settings import Settings

DESCRIPTION = (
    "Video calls of a team: meetings, their state machine, participants and attendance, "
    "with Jitsi Meet or LiveKit as the video provider."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    providers_for(settings)  # a misconfigured provider fails at start, not at the first join
    jobs = []
    if settings.meetings_auto_end_interval_seconds > 0:
        jobs.append(
            Job(
                "auto_end",
                complete_due_meetings,
                every=settings.meetings_auto_end_interval_seconds,
                batch=settings.meetings_auto_end_batch_size,
            )
        )
    app = create_service_app(
        settings,
        title="VirtualCoworking meetings",
        description=DESCRIPTION,
        routers=[router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=jobs,
    )
    # tests run one tick with run_job(app, "auto_end") even when the loop is off
    app.state.jobs.setdefault(
        "auto_end",
        Job("auto_end", complete_due_meetings, batch=settings.meetings_auto_end_batch_size),
    )
    return app
