"""The notifications service: ``create_app()`` (nothing connects at import time)."""

from __future__ import annotations

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.authz import Access
from vc_common.jobs import Job
from vc_common.metrics import SqlGauge

from notifications.consumers import consumer
from notifications.delivery.jobs import release_due_holds
from notifications.inbox.endpoints import router as inbox_router
from notifications.mail.sender import send_due_mail
from notifications.models import Base, membership
from notifications.permissions import PERMISSIONS
from notifications.preferences.endpoints import router as preferences_router
from notifications.settings import Settings

GAUGES = [  # the queues the two jobs work through (both by partial or plain index)
    SqlGauge(
        "vc_notifications_email_queue",
        "E-mails waiting to be sent",
        "SELECT count(*) FROM email_batches WHERE status = 'pending'",
    ),
    SqlGauge(
        "vc_notifications_held_users",
        "Users whose notifications are held (focusing or quiet hours)",
        "SELECT count(*) FROM holds",
    ),
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="VirtualCoworking notifications",
        description=(
            "Notifications made from domain events, held while their user focuses, "
            "delivered in the app, on the live socket and by e-mail."
        ),
        # preferences first: /notifications/preferences is not a notification id
        routers=[preferences_router, inbox_router],
        metadata=Base.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, membership.reader(settings)),
        jobs=[
            Job(
                "release_holds",
                release_due_holds,
                every=settings.notifications_release_interval_seconds,
                batch=settings.notifications_release_batch,
                first_delay=settings.notifications_release_interval_seconds,
            ),
            Job(
                "send_mail",
                send_due_mail,
                every=settings.notifications_mail_interval_seconds,
                batch=settings.notifications_mail_batch,
                first_delay=settings.notifications_mail_interval_seconds,
            ),
        ],
        gauges=GAUGES,
    )
