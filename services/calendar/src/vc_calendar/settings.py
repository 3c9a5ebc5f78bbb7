"""Settings of calendar (environment variables; the shared ones are in vc_common.settings)."""

from __future__ import annotations

from pydantic import Field
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "calendar"
    # The public base URL clients reach the gateway at: the feed URL is built on it.
    calendar_public_url: str = "http://127.0.0.1:8000"
    # How often the reminder scheduler looks for due reminders (seconds; 0 turns it off), and
    # how many reminders one tick fires in one transaction.
    calendar_reminder_interval_seconds: float = Field(default=2.0, ge=0)
    calendar_reminder_batch_size: int = Field(default=500, ge=1, le=10_000)
    # A reminder fired within this long after its moment is on time even if its occurrence has
    # just started (minutes_before 0); later than that (downtime) only if it has not started.
    calendar_reminder_grace_seconds: float = Field(default=60.0, ge=0, le=3600)
    # The ICS feed holds series and events ending at most this many days ago (and all later).
    calendar_feed_past_days: int = Field(default=180, ge=0, le=3660)
    # The longest range query, in days.
    calendar_max_range_days: int = Field(default=366, ge=1, le=3660)
