"""Settings shared by every service, read from the environment (pydantic-settings).

The names are the same everywhere (dev runner, compose, k8s): ``DATABASE_URL`` names a PostgreSQL
server and each service uses its own database on it, named after the service, unless
``<SERVICE>_DATABASE_URL`` is set. ``EVENT_BUS_URL`` is ``nats://`` or ``amqp://``.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_url_for(service: str, base_url: str | None = None) -> str:
    """The SQLAlchemy async URL of ``service``'s own database.

    ``<SERVICE>_DATABASE_URL`` wins; otherwise the database name of ``DATABASE_URL`` is replaced by
    the service name. The driver is always asyncpg.
    """
    own = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return to_async_url(own)
    base = base_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(base)
    return to_async_url(urlunsplit(parts._replace(path=f"/{service}")))


def package_name(service: str) -> str:
    """The import name of a service's package: its name, or ``vc_<name>`` when the standard
    library already owns that name (``calendar``), since the standard library wins on
    ``sys.path``."""
    name = service.replace("-", "_")
    return f"vc_{name}" if name in sys.stdlib_module_names else name


def to_async_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if scheme in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        scheme = "postgresql+asyncpg"
    return f"{scheme}://{rest}"


def to_plain_url(url: str) -> str:
    """A libpq URL (``postgresql://``) from any SQLAlchemy PostgreSQL URL."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and sets ``service_name``'s default."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)
    #: False for a service without a database of its own (the gateway)
    needs_database: ClassVar[bool] = True

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    event_bus_url: str = "nats://127.0.0.1:4222"
    #: false: no relay and no consumers (a test server that must not touch the broker)
    events_enabled: bool = True
    redis_url: str | None = None
    #: connections to Redis per process; a burst past them waits up to redis_pool_timeout
    #: seconds for one (then 503), instead of failing at once (vc_common.redisclient)
    redis_pool_size: int = 64
    redis_pool_timeout: float = 2.0
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    #: identity's revocation list (default: beside the JWKS), polled when there is no Redis
    revocations_url: str | None = None
    #: how often a verifier without Redis polls it: the bound on a revocation reaching it
    revocation_poll_seconds: float = 1.0
    jwt_issuer: str = "virtualcoworking-identity"
    jwt_audience: str = "virtualcoworking"
    #: the largest request body a route takes unless it says otherwise (vc_common.bodylimit)
    max_body_bytes: int = 1024 * 1024
    #: the largest WebSocket frame a service takes (a larger one closes the socket with 1009)
    ws_max_frame_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter_otlp_endpoint: str | None = None
    # a pool as large as the usual concurrency, and no overflow: an overflow connection is
    # closed on its return whenever the pool is full, so under a burst they were opened and
    # closed again and again (20 + 10 at 50 concurrent one-row reads: 73 new PostgreSQL
    # sessions in 5 s, half the throughput of 30 + 0 beside it); reconnecting (TLS included)
    # is the dearest thing a request can do. The most connections a replica holds is the same.
    db_pool_size: int = 30
    db_max_overflow: int = 0
    db_pool_pre_ping: bool = False
    db_echo: bool = False

    @model_validator(mode="after")
    def _resolve_database_url(self) -> ServiceSettings:
        if self.database_url is None or self.database_url == os.environ.get("DATABASE_URL"):
            self.database_url = database_url_for(self.service_name, self.database_url)
        else:
            self.database_url = to_async_url(self.database_url)
        return self

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> ServiceSettings:
        """In production every connection must be configured: the loopback, password-less
        defaults that make `make run` work are refused rather than silently used."""
        if self.environment != "production":
            return self
        own = os.environ.get(f"{self.service_name.upper()}_DATABASE_URL")
        if self.needs_database and not (own or os.environ.get("DATABASE_URL")):
            raise ValueError(
                "ENVIRONMENT=production needs DATABASE_URL (or "
                f"{self.service_name.upper()}_DATABASE_URL)"
            )
        if "EVENT_BUS_URL" not in os.environ and "event_bus_url" not in self.model_fields_set:
            raise ValueError("ENVIRONMENT=production needs EVENT_BUS_URL")
        if "JWKS_URL" not in os.environ and "jwks_url" not in self.model_fields_set:
            raise ValueError("ENVIRONMENT=production needs JWKS_URL")
        return self

    @cached_property
    def async_database_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
