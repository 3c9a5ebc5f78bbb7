"""Settings of meetings (environment variables; the shared ones are in vc_common.settings).

The video provider is chosen by configuration: LiveKit when ``LIVEKIT_URL``,
``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET`` are all set, else Jitsi Meet on
``MEETINGS_JITSI_BASE_URL`` (with signed Jitsi JWTs when ``MEETINGS_JITSI_JWT_SECRET`` is set).
"""

from __future__ import annotations

from pydantic import Field, model_validator
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "meetings"

    # --- the state machine's clock-driven ends (the auto-end job)
    #: a meeting in progress whose participants all left completes this long after the last left
    meetings_empty_grace_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    #: a meeting in progress still open this long after its ``end_time`` completes then
    meetings_overrun_minutes: float = Field(default=60.0, ge=0, le=7 * 24 * 60)
    #: how often the auto-end job looks for meetings to complete (0: the job is off)
    meetings_auto_end_interval_seconds: float = Field(default=15.0, ge=0)
    #: meetings completed per transaction by the job
    meetings_auto_end_batch_size: int = Field(default=100, ge=1, le=10_000)

    # --- Jitsi Meet (the default provider)
    meetings_jitsi_base_url: str = "https://meet.jit.si"
    #: the shared secret of the Jitsi deployment's token auth (prosody ``app_secret``); when set,
    #: the join answer carries a signed Jitsi JWT
    meetings_jitsi_jwt_secret: str | None = None
    #: ``aud``/``iss`` of the Jitsi JWT (prosody ``app_id``)
    meetings_jitsi_app_id: str = "virtualcoworking"
    #: ``sub`` of the Jitsi JWT: the Jitsi domain (default: the host of the base URL)
    meetings_jitsi_domain: str | None = None
    meetings_jitsi_token_ttl_seconds: int = Field(default=4 * 3600, ge=60, le=24 * 3600)

    # --- Zoom and Microsoft Teams links, made by the integrations service with the creator's token
    integrations_url: str = "http://127.0.0.1:8111"
    meetings_integrations_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # --- LiveKit (the provider when all three are set); names as LiveKit's own tools use them
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = None
    #: where a browser opens a LiveKit room (``<url>/rooms/<room>``); default: LIVEKIT_URL
    meetings_livekit_app_url: str | None = None
    meetings_livekit_token_ttl_seconds: int = Field(default=4 * 3600, ge=60, le=24 * 3600)

    @model_validator(mode="after")
    def _livekit_all_or_nothing(self) -> Settings:
        given = [self.livekit_url, self.livekit_api_key, self.livekit_api_secret]
        if any(given) and not all(given):
            raise ValueError(
                "LiveKit needs all of LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
            )
        return self

    @property
    def uses_livekit(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)
