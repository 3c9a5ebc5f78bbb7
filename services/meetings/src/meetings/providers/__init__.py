"""Video providers behind one interface (:class:`VideoProvider`): a room and its
``meeting_link`` for a new meeting, a join credential for one participant, and the verification
of the provider's webhooks.

- :class:`~meetings.providers.jitsi.JitsiMeet`, the default: a room URL on the operator's Jitsi
  server, with an unguessable room name; a signed Jitsi JWT when a secret is configured.
- :class:`~meetings.providers.livekit.LiveKit`, when ``LIVEKIT_URL``/``_API_KEY``/``_API_SECRET``
  are set: access tokens and webhook verification by LiveKit's own SDK (``livekit-api``).
- :class:`~meetings.providers.hosted.HostedProvider`: Zoom and Microsoft Teams, asked for by
  ``provider`` when the meeting is made; the link comes from the creator's connected
  integration through the integrations service. Each meeting records the provider it was made
  with, so its joins and webhooks keep going to that provider.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from vc_common.errors import NotFound

EventKind = Literal[
    "participant_joined", "participant_left", "room_finished", "recording_ready", "ignored"
]


@dataclass(frozen=True, slots=True)
class Room:
    name: str
    link: str


@dataclass(frozen=True, slots=True)
class Joiner:
    """Who is joining, as a provider's credential names them."""

    user_id: uuid.UUID
    name: str
    moderator: bool  # the meeting's creator


@dataclass(frozen=True, slots=True)
class JoinCredential:
    access_token: str | None  # what the client presents to the provider (None: an open room)
    join_url: str  # the URL to open (with the credential where the provider takes it there)
    server_url: str | None = None  # LiveKit: the server the client SDK connects to


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified provider webhook, reduced to what meetings acts on."""

    id: str  # the provider's event id: applied once
    type: str  # the provider's own name for it (``participant_joined``...)
    kind: EventKind
    room_name: str
    at: datetime  # when it happened, by the provider's clock
    user_id: uuid.UUID | None = None  # the participant (our user id is their identity)
    connection_id: str | None = None  # one connection of the participant (LiveKit's sid)
    joined_at: datetime | None = None  # when that connection joined
    recording_url: str | None = None


class VideoProvider(Protocol):
    name: str

    def new_room(self, meeting_id: uuid.UUID) -> Room: ...

    def join_credential(self, room: Room, joiner: Joiner, now: datetime) -> JoinCredential: ...

    def verify_webhook(self, body: bytes, authorization: str | None) -> ProviderEvent:
        """The verified event; ``Unauthorized`` (401) for a missing or bad signature."""
        ...


@dataclass
class Providers:
    """The providers this deployment knows, and the one new meetings use."""

    default: str
    by_name: dict[str, VideoProvider] = field(default_factory=dict)

    def get(self, name: str) -> VideoProvider:
        try:
            return self.by_name[name]
        except KeyError:
            raise NotFound(f"No video provider {name!r} is configured.") from None

    @property
    def for_new_meetings(self) -> VideoProvider:
        return self.by_name[self.default]


_cache: dict[int, tuple[Any, Providers]] = {}


def providers_for(settings: Any) -> Providers:
    """The providers of ``settings`` (built once per settings object)."""
    hit = _cache.get(id(settings))
    if hit is not None and hit[0] is settings:
        return hit[1]
    from meetings.providers.hosted import HOSTED, HostedProvider
    from meetings.providers.jitsi import JitsiMeet
    from meetings.providers.livekit import LiveKit

    jitsi = JitsiMeet(
        base_url=settings.meetings_jitsi_base_url,
        jwt_secret=settings.meetings_jitsi_jwt_secret,
        app_id=settings.meetings_jitsi_app_id,
        domain=settings.meetings_jitsi_domain,
        ttl_seconds=settings.meetings_jitsi_token_ttl_seconds,
    )
    found = Providers(default=jitsi.name, by_name={jitsi.name: jitsi})
    if settings.uses_livekit:
        livekit = LiveKit(
            url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret,
            app_url=settings.meetings_livekit_app_url,
            ttl_seconds=settings.meetings_livekit_token_ttl_seconds,
        )
        found.by_name[livekit.name] = livekit
        found.default = livekit.name
    for name in HOSTED:
        found.by_name[name] = HostedProvider(name)
    _cache[id(settings)] = (settings, found)
    return found
