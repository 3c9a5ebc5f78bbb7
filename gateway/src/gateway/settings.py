"""Gateway settings, from the environment (the same names in the dev runner, compose and k8s)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator
from vc_common.ratelimit import Rate
from vc_common.settings import ServiceSettings

_OFF = {"", "0", "off", "none", "false", "unlimited"}


def parse_rate(text: str) -> Rate | None:
    """``"600/minute"`` -> Rate; ``"off"``/``"0"``/``""`` -> no limit."""
    if text.strip().lower() in _OFF:
        return None
    return Rate.parse(text.strip())


class GatewaySettings(ServiceSettings):
    needs_database: ClassVar[bool] = False  # the gateway keeps no data of its own

    service_name: str = "gateway"

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Processes sharing the port (SO_REUSEPORT); each has its own pools, caches and memory limits.
    gateway_workers: int = 1
    # Seconds to wait for an upstream's answer (between reads); 504 past it.
    gateway_upstream_timeout: float = 30.0
    gateway_connect_timeout: float = 2.0
    gateway_health_timeout: float = 2.0
    gateway_openapi_ttl: float = 60.0
    # Keep-alive connections per upstream service.
    gateway_upstream_pool: int = 512
    # Bodies up to this size are read whole (fast path); larger or chunked ones are streamed.
    gateway_buffer_limit: int = 256 * 1024
    gateway_rate_per_user: str = "600/minute"
    gateway_rate_per_ip: str = "1200/minute"
    gateway_access_log: bool = True
    # WebSockets: after the 101, splice the two TCP connections (raw bytes both ways); off: frames
    # decoded and re-encoded by aiohttp on both sides (the fallback path).
    gateway_ws_tunnel: bool = True
    # A service replica that refused a connection is tried last for this many seconds.
    gateway_replica_down_seconds: float = 5.0
    # With several replicas of a service, answers carry ``X-Served-By: <service>#<k>``.
    gateway_served_by: bool = True
    # Prometheus metrics on their own port (never the public one); 0: not served.
    gateway_metrics_port: int = 0
    gateway_metrics_host: str = "0.0.0.0"
    cors_origins: str = ""
    # The web client's build served at `/` (see gateway.web): "" = web/dist next to
    # platform.toml, "off" = none.
    gateway_web_dir: str = ""
    platform_config: str | None = Field(default=None)

    @model_validator(mode="after")
    def _check(self) -> GatewaySettings:
        parse_rate(self.gateway_rate_per_user)
        parse_rate(self.gateway_rate_per_ip)
        if "*" in self.cors_origin_list and self.environment != "development":
            raise ValueError("CORS_ORIGINS='*' is only allowed when ENVIRONMENT=development")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def rate_per_user(self) -> Rate | None:
        return parse_rate(self.gateway_rate_per_user)

    @property
    def rate_per_ip(self) -> Rate | None:
        return parse_rate(self.gateway_rate_per_ip)
