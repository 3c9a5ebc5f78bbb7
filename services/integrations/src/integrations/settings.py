"""Settings of integrations (environment variables; the shared ones are in vc_common.settings).

Every provider is reached at a configurable base URL (``GOOGLE_OAUTH_URL``, ``GOOGLE_API_URL``,
``SLACK_URL``, ``GITHUB_OAUTH_URL``, ``GITHUB_API_URL``, ``NOTION_URL``, ``ZOOM_OAUTH_URL``,
``ZOOM_API_URL``, ``MICROSOFT_LOGIN_URL``, ``MICROSOFT_GRAPH_URL``); the defaults are the real
providers. ``make run`` points them at tools/provider-sandbox when none is configured.

Tokens are encrypted at rest with ``INTEGRATIONS_ENCRYPTION_KEYS``: comma-separated Fernet keys,
the first one encrypts, every one decrypts (rotation: put a new key first, run
``python -m integrations rotate-keys``, then drop the old one). Production refuses the
development key.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from vc_common.settings import ServiceSettings

#: the development key (a fixed, public Fernet key): refused in production
DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZCEhISE="
DEVELOPMENT_SECRET = "development-client-secret"


class Settings(ServiceSettings):
    service_name: str = "integrations"

    #: where browsers reach the API (the gateway): the default OAuth redirect_uri is
    #: ``{public_url}/api/v1/integrations/{type}/callback``
    public_url: str = Field(
        "http://127.0.0.1:8000",
        validation_alias=AliasChoices("INTEGRATIONS_PUBLIC_URL", "PUBLIC_URL", "GATEWAY_URL"),
    )
    encryption_keys: str = Field(
        DEVELOPMENT_KEY,
        validation_alias=AliasChoices("INTEGRATIONS_ENCRYPTION_KEYS", "encryption_keys"),
    )

    # provider base URLs (the real ones by default)
    google_oauth_url: str = "https://accounts.google.com"
    google_token_url: str = "https://oauth2.googleapis.com"
    google_api_url: str = "https://www.googleapis.com"
    slack_url: str = "https://slack.com"
    github_oauth_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    notion_url: str = "https://api.notion.com"
    zoom_oauth_url: str = "https://zoom.us"
    zoom_api_url: str = "https://api.zoom.us"
    microsoft_login_url: str = "https://login.microsoftonline.com"
    microsoft_tenant: str = "common"
    microsoft_graph_url: str = "https://graph.microsoft.com"

    # OAuth clients registered with each provider
    google_client_id: str = "vc-google"
    google_client_secret: str = DEVELOPMENT_SECRET
    slack_client_id: str = "vc-slack"
    slack_client_secret: str = DEVELOPMENT_SECRET
    github_client_id: str = "vc-github"
    github_client_secret: str = DEVELOPMENT_SECRET
    notion_client_id: str = "vc-notion"
    notion_client_secret: str = DEVELOPMENT_SECRET
    zoom_client_id: str = "vc-zoom"
    zoom_client_secret: str = DEVELOPMENT_SECRET
    microsoft_client_id: str = "vc-microsoft"
    microsoft_client_secret: str = DEVELOPMENT_SECRET

    #: the secret GitHub signs webhook deliveries with (X-Hub-Signature-256)
    github_webhook_secret: str = "development-webhook-secret"

    #: the tasks public API (the gateway, or tasks itself) and identity's internal token
    #: exchange, with this service's credential (see README, "Acting on a user's behalf")
    tasks_url: str = "http://127.0.0.1:8000"
    identity_url: str = "http://127.0.0.1:8101"
    service_client_secret: str = "development-service-secret"

    #: false: the background loops do not start (tests run each job with ``run_job``)
    jobs_enabled: bool = True
    #: timeouts and pacing of the provider calls
    provider_timeout: float = 10.0
    state_ttl_seconds: int = 600
    refresh_ahead_seconds: int = 300
    refresh_batch: int = 200
    refresh_concurrency: int = 50
    refresh_max_backoff_seconds: int = 3600
    sync_batch: int = 5
    sync_lease_seconds: int = 900
    sync_interval_minutes: int = 30

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        if not self.is_production:
            return self
        if DEVELOPMENT_KEY in self.keys():
            raise ValueError(
                "ENVIRONMENT=production refuses the development INTEGRATIONS_ENCRYPTION_KEYS"
            )
        if self.service_client_secret == "development-service-secret":
            raise ValueError("ENVIRONMENT=production needs SERVICE_CLIENT_SECRET")
        if self.github_webhook_secret == "development-webhook-secret":
            raise ValueError("ENVIRONMENT=production needs GITHUB_WEBHOOK_SECRET")
        return self

    def keys(self) -> list[str]:
        return [k.strip() for k in self.encryption_keys.split(",") if k.strip()]
