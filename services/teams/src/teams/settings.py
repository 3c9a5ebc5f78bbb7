"""Teams settings (environment variables; see vc_common.settings for the shared ones)."""

from __future__ import annotations

from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "teams"
    #: identity, asked when adding a member the ``known_users`` projection has not seen yet
    identity_url: str = "http://127.0.0.1:8101"
    identity_timeout: float = 3.0
