"""Settings of the chat service (environment variables, see vc_common.settings)."""

from __future__ import annotations

from typing import Literal

from vc_common.context import Context
from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "chat"
    teams_url: str = "http://127.0.0.1:8102"
    # Run the outbox relay and the event consumers in this process (off: tests of the sockets
    # alone, or a replica dedicated to sockets).

    # Fan-out between replicas: ``nats`` (core subjects, no JetStream), ``redis`` (pub/sub) or
    # ``local`` (one process). ``auto``: redis when REDIS_URL is set, else nats.
    chat_fanout: Literal["auto", "nats", "redis", "local"] = "auto"
    # NATS server for the fan-out; default: EVENT_BUS_URL when it is nats://.
    nats_url: str | None = None
    # Core-NATS subjects / Redis channels are ``<prefix>.room.<room_id>``, ``<prefix>.team.<id>``
    # and ``<prefix>.control``. Deliberately not under ``chat.``: the event backbone's JetStream
    # stream for this context captures ``chat.>``, and fan-out frames are not domain events.
    chat_fanout_prefix: str = "fanout.chat"

    # Posting: per user, over HTTP and WebSocket together.
    chat_message_rate: str = "20/10s"
    # Group commit (``chat.messages.grouping``): a room's posts that queue while its previous
    # write is in flight are written together, at most this many to a transaction; 0: each post
    # in its own request's transaction (as a post with an Idempotency-Key always is).
    chat_post_batch: int = 200
    # Connections of the batches' own (never the requests' pool, which waiting posts hold):
    # as many rooms at once per replica have a batch in flight.
    chat_post_connections: int = 4

    # A socket that sends nothing (not even {"type":"ping"}) for this long is closed (4408).
    chat_heartbeat_timeout: float = 60.0
    # Presence: a replica refreshes its users' presence entries every ttl/3; entries of a replica
    # that died expire after the ttl and are swept (offline pushed) by the surviving replicas.
    chat_presence_ttl: float = 30.0
    # Per-socket send queue; a client that falls this far behind is closed (1013) and resumes.
    chat_socket_queue: int = 1000
    # How long a replica waits for a missing message of a room before reading it from the database.
    chat_gap_wait: float = 0.2
    # At most this many events are replayed on resume; beyond, the client gets {"type":"resync"}.
    chat_resume_limit: int = 5000
    # A socket lives as long as its access token: it is closed (4401) at the token's ``exp``
    # unless the client sends {"type":"auth","token":...} first. {"type":"auth.expiring"} is
    # pushed this many seconds before.
    chat_token_expiry_warning: float = 60.0
    # Every socket's token is checked against the revocation store (logout, password change,
    # deactivation) this often, and on every client frame; a revoked one is closed (4401).
    chat_revocation_check_interval: float = 30.0

    @property
    def fanout_kind(self) -> Literal["nats", "redis", "local"]:
        if self.chat_fanout != "auto":
            return self.chat_fanout
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


def settings_of(ctx: Context) -> Settings:
    """The app's settings (``ctx.settings``: those ``create_app`` was given), typed."""
    settings: Settings = ctx.settings
    return settings
