"""Identity's settings (environment variables, same names everywhere)."""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import model_validator
from vc_common.context import Context
from vc_common.settings import ServiceSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(ServiceSettings):
    service_name: str = "identity"

    # where alembic.ini is (readiness compares the database with its head); the source tree's
    # by default, /app/identity/alembic.ini in the image

    # links in e-mails point at the gateway
    public_url: str = "http://127.0.0.1:8000"

    # tokens
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30
    verification_token_ttl_hours: int = 72
    # PEM-encoded Ed25519 private keys, concatenated; the last one signs. When unset the keys
    # live in identity's database (generated at first start, rotated with `rotate-keys`).
    jwt_private_keys: str | None = None
    # how often a replica re-reads the signing keys from the database (rotation by another
    # replica or by the CLI)
    key_reload_seconds: float = 60.0

    # services that may act for a user (internal token exchange): "name:secret,name:secret".
    # Unset: none in production; in development the integrations service's development
    # credential, so `make run` works. Production refuses that development credential.
    service_credentials: str = ""
    service_token_ttl_seconds: int = 300

    # passwords (argon2id); changing them rehashes a password at its owner's next login
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 64 * 1024
    argon2_parallelism: int = 4

    # rate limits (vc_common.ratelimit syntax)
    login_rate_per_account: str = "10/minute"
    login_rate_per_ip: str = "30/minute"
    # failed sign-ins (identity.auth.throttle): free ones per (account, address) and per address,
    # then each further failure doubles the wait, from 1 s up to the cap
    login_free_failures_per_pair: int = 5
    login_free_failures_per_address: int = 20
    login_backoff_max_seconds: float = 900.0
    register_rate_per_account: str = "5/hour"
    register_rate_per_ip: str = "20/hour"
    # X-Forwarded-For is believed only from these peers (comma-separated CIDRs)
    trusted_proxies: str = "127.0.0.1/32,::1/128"

    # outgoing mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool | None = None  # None: STARTTLS when the server offers it
    smtp_timeout: float = 10.0
    mail_from: str = "VirtualCoworking <no-reply@virtualcoworking.dev>"
    mail_sender_enabled: bool = True
    mail_poll_interval: float = 1.0
    mail_batch_size: int = 20
    mail_max_attempts: int = 15

    @model_validator(mode="after")
    def _check(self) -> Settings:
        self.trusted_networks  # noqa: B018  (parse early: a typo fails at start, not per request)
        if self.access_token_ttl_seconds <= 0 or self.refresh_token_ttl_days <= 0:
            raise ValueError("token lifetimes must be positive")
        if self.is_production and "development-service-secret" in self.service_credentials:
            raise ValueError("ENVIRONMENT=production refuses the development SERVICE_CREDENTIALS")
        if not self.service_credentials and not self.is_production:
            self.service_credentials = "integrations:development-service-secret"
        return self

    @cached_property
    def services(self) -> dict[str, str]:
        """Service name -> its secret, from ``service_credentials``."""
        pairs = (p.strip().partition(":") for p in self.service_credentials.split(","))
        return {name: secret for name, _, secret in pairs if name and secret}

    @cached_property
    def trusted_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )


def settings_of(ctx: Context) -> Settings:
    """The app's settings (``ctx.settings``: those ``create_app`` was given), typed."""
    settings: Settings = ctx.settings
    return settings
