"""Settings of notifications (environment variables; the shared ones are in vc_common.settings).

The SMTP names are the platform's (``SMTP_HOST``/``SMTP_PORT``, printed by ``make run``'s sink);
the rest are prefixed ``NOTIFICATIONS_``.
"""

from __future__ import annotations

from pydantic import Field
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "notifications"

    # --- e-mail (SMTP) ---
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool | None = None  # None: STARTTLS when the server offers it
    smtp_timeout: float = Field(default=10.0, gt=0)
    mail_from: str = "VirtualCoworking <notifications@virtualcoworking.dev>"
    #: where the links of a mail point (the gateway clients use)
    public_url: str = "http://127.0.0.1:8000"

    # --- delivery rules ---
    #: a mail collects every notification of its user made within this window (Zulip: 2 min)
    notifications_email_batch_seconds: float = Field(default=120.0, ge=0, le=24 * 3600)
    #: focus ends a session nobody stops at its planned end plus this grace (focus's setting)
    notifications_focus_grace_minutes: int = Field(default=5, ge=0, le=24 * 60)
    #: a reminder of something starting within this many minutes is never held
    notifications_urgent_within_minutes: int = Field(default=15, ge=0, le=24 * 60)
    #: failed sends are retried with backoff this many times, then the mail is given up
    notifications_mail_max_attempts: int = Field(default=8, ge=1, le=100)

    # --- background jobs ---
    notifications_release_interval_seconds: float = Field(default=2.0, gt=0)
    notifications_release_batch: int = Field(default=100, ge=1, le=10_000)
    notifications_mail_interval_seconds: float = Field(default=2.0, gt=0)
    notifications_mail_batch: int = Field(default=20, ge=1, le=1_000)
