"""Analytics settings (environment variables, see vc_common.settings for the shared ones)."""

from __future__ import annotations

from pydantic import Field
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "analytics"
    # The longest range the read API and the rebuild accept, in days (both ends included).
    analytics_max_range_days: int = Field(default=366, ge=1, le=3660)
