"""Jitsi Meet: a room URL on the operator's server (``MEETINGS_JITSI_BASE_URL``).

Room names are 128 random bits (hex: Jitsi folds room names to lower case, so letters of both
cases would add nothing), so a link cannot be guessed. With ``MEETINGS_JITSI_JWT_SECRET`` (a
deployment with prosody's token authentication, ``app_id``/``app_secret``) each join answer
carries a Jitsi JWT signed with HS256: ``aud``/``iss`` the app id, ``sub`` the Jitsi domain,
``room`` the room, ``context.user`` (id, name, ``moderator`` / ``affiliation`` ``owner`` for the
meeting's creator), ``nbf``/``exp``. Jitsi sends no webhooks: attendance comes from the join
and leave routes.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import jwt
from vc_common.errors import NotFound

from meetings.providers import JoinCredential, Joiner, ProviderEvent, Room


class JitsiMeet:
    name = "jitsi"

    def __init__(
        self,
        *,
        base_url: str,
        jwt_secret: str | None = None,
        app_id: str = "virtualcoworking",
        domain: str | None = None,
        ttl_seconds: int = 4 * 3600,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.jwt_secret = jwt_secret
        self.app_id = app_id
        self.domain = domain or urlsplit(self.base_url).hostname or "*"
        self.ttl = timedelta(seconds=ttl_seconds)

    def new_room(self, meeting_id: uuid.UUID) -> Room:
        del meeting_id  # the name must not be derivable from anything a client sees
        name = f"vc-{secrets.token_hex(16)}"
        return Room(name=name, link=f"{self.base_url}/{name}")

    def join_credential(self, room: Room, joiner: Joiner, now: datetime) -> JoinCredential:
        if not self.jwt_secret:
            return JoinCredential(access_token=None, join_url=room.link)
        claims = {
            "aud": self.app_id,
            "iss": self.app_id,
            "sub": self.domain,
            "room": room.name,
            "nbf": int((now - timedelta(seconds=30)).timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "moderator": joiner.moderator,
            "context": {
                "user": {
                    "id": str(joiner.user_id),
                    "name": joiner.name,
                    "moderator": "true" if joiner.moderator else "false",
                    "affiliation": "owner" if joiner.moderator else "member",
                }
            },
        }
        token = jwt.encode(claims, self.jwt_secret, algorithm="HS256")
        return JoinCredential(access_token=token, join_url=f"{room.link}?jwt={token}")

    def verify_webhook(self, body: bytes, authorization: str | None) -> ProviderEvent:
        del body, authorization
        raise NotFound("Jitsi Meet sends no webhooks here.")
