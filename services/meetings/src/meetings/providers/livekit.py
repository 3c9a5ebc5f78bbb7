"""LiveKit: rooms on the operator's LiveKit server (``LIVEKIT_URL``), with LiveKit's own Python
SDK (``livekit-api``) for both sides of its trust:

- the join answer carries an access token minted by ``livekit.api.AccessToken`` for that
  participant (identity = our user id) and that room only (``roomJoin``; ``roomAdmin`` for the
  meeting's creator);
- webhooks are verified by ``livekit.api.WebhookReceiver``: the ``Authorization`` header is a
  JWT signed with the API secret (issuer = the API key) whose ``sha256`` claim is the base64
  SHA-256 of the exact body. A missing or bad token, or a body that does not hash to it, is a
  401; nothing of it is applied.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from livekit import api
from vc_common.errors import Unauthorized

from meetings.providers import EventKind, JoinCredential, Joiner, ProviderEvent, Room

log = logging.getLogger("meetings.livekit")

_KINDS: dict[str, EventKind] = {
    "participant_joined": "participant_joined",
    "participant_left": "participant_left",
    "room_finished": "room_finished",
    "egress_ended": "recording_ready",
}


def _instant(seconds: int, millis: int = 0) -> datetime | None:
    if millis:
        return datetime.fromtimestamp(millis / 1000, UTC)
    if seconds:
        return datetime.fromtimestamp(seconds, UTC)
    return None


def _user(identity: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(identity)
    except ValueError:
        return None


class LiveKit:
    name = "livekit"

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        api_secret: str,
        app_url: str | None = None,
        ttl_seconds: int = 4 * 3600,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.api_secret = api_secret
        default_app = self.url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        self.app_url = (app_url or default_app).rstrip("/")
        self.ttl = timedelta(seconds=ttl_seconds)
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))

    def new_room(self, meeting_id: uuid.UUID) -> Room:
        import secrets

        del meeting_id
        name = f"vc-{secrets.token_hex(16)}"
        return Room(name=name, link=f"{self.app_url}/rooms/{name}")

    def join_credential(self, room: Room, joiner: Joiner, now: datetime) -> JoinCredential:
        del now  # the SDK stamps nbf/exp with the real clock, as LiveKit checks them
        token = (
            api.AccessToken(self.api_key, self.api_secret)
            .with_identity(str(joiner.user_id))
            .with_name(joiner.name)
            .with_ttl(self.ttl)
            .with_grants(
                api.VideoGrants(
                    room_join=True,
                    room=room.name,
                    room_admin=joiner.moderator or None,
                    can_publish=True,
                    can_subscribe=True,
                    can_publish_data=True,
                )
            )
            .to_jwt()
        )
        return JoinCredential(access_token=token, join_url=room.link, server_url=self.url)

    def verify_webhook(self, body: bytes, authorization: str | None) -> ProviderEvent:
        token = (authorization or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        if not token:
            raise Unauthorized("A LiveKit webhook must carry its signed Authorization token.")
        try:
            event = self._receiver.receive(body.decode("utf-8"), token)
        except Exception as exc:  # the SDK raises plain Exceptions and jwt errors alike
            log.info("LiveKit webhook refused: %s", exc)
            raise Unauthorized("The LiveKit webhook signature is not valid.") from exc
        kind = _KINDS.get(event.event, "ignored")
        at = _instant(event.created_at) or datetime.now(UTC)
        room_name = event.room.name
        user_id = connection = joined_at = recording = None
        if event.HasField("participant"):
            p = event.participant
            user_id = _user(p.identity)
            connection = p.sid or None
            joined_at = _instant(p.joined_at, p.joined_at_ms)
        if event.HasField("egress_info"):
            e = event.egress_info
            room_name = room_name or e.room_name
            if e.status == api.EgressStatus.EGRESS_COMPLETE:
                recording = next(
                    (f.location for f in e.file_results if f.location),
                    e.file.location
                    or next((s.playlist_location for s in e.segment_results), None)
                    or None,
                )
            if recording is None:
                kind = "ignored"
        return ProviderEvent(
            id=event.id,
            type=event.event,
            kind=kind,
            room_name=room_name,
            at=at,
            user_id=user_id,
            connection_id=connection,
            joined_at=joined_at,
            recording_url=recording,
        )
