"""Focus settings (environment variables, see vc_common.settings for the shared ones)."""

from __future__ import annotations

from pydantic import Field
from vc_common.context import Context
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "focus"
    # A session nobody stops is ended at its planned end plus this grace period.
    focus_grace_minutes: int = Field(default=5, ge=0, le=24 * 60)
    # How often the auto-end job looks for overdue sessions; 0 turns the job off.
    focus_auto_end_interval_seconds: float = Field(default=30.0, ge=0)
    # How many overdue sessions one pass of the job ends in one transaction.
    focus_auto_end_batch_size: int = Field(default=100, ge=1, le=10_000)


def settings_of(ctx: Context) -> Settings:
    """The app's settings (``ctx.settings``: those ``create_app`` was given), typed."""
    settings: Settings = ctx.settings
    return settings
