"""Settings of realtime (environment variables; the shared ones are in vc_common.settings)."""

from __future__ import annotations

from typing import Literal

from vc_common.settings import ServiceSettings

# Every context whose events a client may show live. The first token of a consumer pattern must
# be literal (it names the NATS stream), so "every context" is this list; a new context is one
# more name here (or in REALTIME_CONTEXTS).
DEFAULT_CONTEXTS = (
    "teams",
    "tasks",
    "focus",
    "chat",
    "calendar",
    "meetings",
    "notifications",
    "files",
    "integrations",
    "realtime",
)


class Settings(ServiceSettings):
    service_name: str = "realtime"
    teams_url: str = "http://127.0.0.1:8102"

    # The contexts consumed (comma-separated in the environment): ``<context>.>`` each.
    realtime_contexts: str = ",".join(DEFAULT_CONTEXTS)
    # The durable consumer's name (tests give theirs a unique one).
    realtime_consumer: str = "realtime"

    # Fan-out between replicas: ``nats`` (core subjects), ``redis`` (pub/sub), ``local`` (one
    # process). ``auto``: redis when REDIS_URL is set, else nats when a NATS server is known.
    realtime_fanout: Literal["auto", "nats", "redis", "local"] = "auto"
    nats_url: str | None = None
    # Not under ``realtime.``: the JetStream stream of this context captures ``realtime.>``.
    realtime_fanout_prefix: str = "fanout.realtime"

    # What a client may catch up on with {"type":"resume"} (seconds), and at most how many frames.
    realtime_resume_window: float = 3600.0
    realtime_resume_limit: int = 5000
    # A socket without a token in its URL must authenticate with its first frame within this.
    realtime_auth_timeout: float = 10.0
    realtime_token_expiry_warning: float = 60.0
    realtime_revocation_check_interval: float = 30.0
    # Per socket: frames a client may send (token bucket), and how many refused frames close it.
    realtime_frame_rate: float = 10.0
    realtime_frame_burst: int = 30
    realtime_flood_close_after: int = 50
    realtime_max_frame_bytes: int = 16_384
    # Per-socket send queue; a client that falls this far behind is closed (1013) and resumes.
    realtime_socket_queue: int = 2000
    # How long a replica waits for a missing frame before reading it from the database.
    realtime_gap_wait: float = 0.2

    # Presence.
    realtime_away_after: float = 15 * 60.0
    # A user whose last socket closed stays as they were this long (a reconnect is no flap).
    realtime_offline_grace: float = 5.0
    # The grace focus gives a session nobody stopped (focus' FOCUS_GRACE_MINUTES).
    realtime_focus_grace_minutes: int = 5
    # A client's activity frames are written at most this often per socket.
    realtime_activity_write_interval: float = 30.0
    # Replicas mark themselves alive this often; one not seen for the ttl has its sockets dropped.
    realtime_replica_heartbeat: float = 5.0
    realtime_replica_ttl: float = 20.0

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.realtime_contexts.split(",") if c.strip())

    @property
    def fanout_kind(self) -> Literal["nats", "redis", "local"]:
        if self.realtime_fanout != "auto":
            return self.realtime_fanout
        if self.redis_url:
            return "redis"
        return "nats" if self.fanout_nats_url else "local"

    @property
    def fanout_nats_url(self) -> str | None:
        if self.nats_url:
            return self.nats_url
        if self.event_bus_url.startswith(("nats://", "tls://")):
            return self.event_bus_url
        return None
