"""The calendar service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.context import Context
from vc_common.jobs import Job
from vc_common.metrics import SqlGauge

from vc_calendar.calendar_events.endpoints import router as events_router
from vc_calendar.consumers import consumer
from vc_calendar.feeds.endpoints import router as feeds_router
from vc_calendar.models import Base, membership
from vc_calendar.permissions import PERMISSIONS
from vc_calendar.reminders import service as reminders
from vc_calendar.reminders.endpoints import router as reminders_router
from vc_calendar.settings import Settings

REMINDER_JOB = "reminders"
GAUGES = [
    SqlGauge(  # the job's queue: due and not yet fired (ix_reminders_due)
        "vc_calendar_reminders_due",
        "Reminders whose time has come and that have not fired yet",
        "SELECT count(*) FROM reminders WHERE next_fire_at IS NOT NULL AND next_fire_at <= now()",
    ),
]


def reminder_job(settings: Settings) -> Job:
    batch = settings.calendar_reminder_batch_size
    grace = settings.calendar_reminder_grace_seconds

    async def fire(ctx: Context) -> int:
        return await reminders.fire_due(ctx, batch=batch, grace_seconds=grace)

    return Job(
        REMINDER_JOB,
        fire,
        every=settings.calendar_reminder_interval_seconds or 3600.0,
        batch=batch,
        first_delay=0.5,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    job = reminder_job(settings)
    app = create_service_app(
        settings,
        title="VirtualCoworking calendar",
        description="Team and personal events, recurrence, reminders, ICS feeds, task deadlines "
        "and meetings.",
        # feeds first: `/events/{id}.ics` must win over `/events/{id}`
        routers=[feeds_router, events_router, reminders_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=[job] if settings.calendar_reminder_interval_seconds > 0 else [],
        gauges=GAUGES,
    )
    app.state.jobs = {job.name: job}  # run_job(app, "reminders") in tests, also when off
    return app
