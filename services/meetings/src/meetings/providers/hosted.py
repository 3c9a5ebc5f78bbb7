"""Zoom and Microsoft Teams: the meeting lives in the creator's own account there.

The link is made by the integrations service (``POST /internal/v1/integrations/meeting-links``
with the creator's bearer token: integrations holds the OAuth tokens, refreshes them, and calls
Zoom's ``/v2/users/me/meetings`` or Graph's ``/me/onlineMeetings``). Meetings only keeps the join
URL: every participant opens it, the provider itself admits them, so the join answer carries no
credential of ours. These providers' webhooks are not taken (``/webhooks/zoom`` answers 404
"not configured"): their meetings start with the first join and end as the routes and the
auto-end job say.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx
from vc_common.errors import Conflict, Invalid, NotFound, ServiceUnavailable

from meetings.providers import JoinCredential, Joiner, ProviderEvent, Room

HOSTED = ("zoom", "microsoft_teams")
_LABEL = {"zoom": "Zoom", "microsoft_teams": "Microsoft Teams"}


@dataclass(slots=True)
class HostedProvider:
    name: str

    def new_room(self, meeting_id: uuid.UUID) -> Room:
        del meeting_id
        raise RuntimeError(f"a {self.name} room comes from integrations (hosted_room)")

    def join_credential(self, room: Room, joiner: Joiner, now: datetime) -> JoinCredential:
        del joiner, now
        return JoinCredential(access_token=None, join_url=room.link)

    def verify_webhook(self, body: bytes, authorization: str | None) -> ProviderEvent:
        del body, authorization
        raise NotFound(f"Webhooks of {_LABEL[self.name]} are not taken.")


async def hosted_room(
    integrations_url: str,
    bearer_token: str,
    provider: str,
    title: str,
    start_time: datetime,
    end_time: datetime,
    *,
    seconds: float = 10.0,
) -> Room:
    """A new meeting in the caller's connected Zoom or Teams account, through integrations."""
    label = _LABEL[provider]
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            r = await client.post(
                f"{integrations_url.rstrip('/')}/internal/v1/integrations/meeting-links",
                json={
                    "provider": provider,
                    "title": title,
                    "start_time": start_time.isoformat(),
                    "end_time": end_time.isoformat(),
                },
                headers={"Authorization": f"Bearer {bearer_token}"},
            )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{label} links cannot be made right now ({exc}).") from exc
    if r.status_code == 404:
        raise Invalid(
            f"Connect your {label} account first (POST /api/v1/integrations/{provider}/connect).",
            loc=["body", "provider"],
        )
    if r.status_code == 409:
        raise Conflict(f"Your {label} connection needs reconnecting.")
    if r.status_code != 200:
        raise ServiceUnavailable(f"{label} did not make the meeting (status {r.status_code}).")
    body = r.json()
    return Room(name=f"{provider}:{body['external_id']}", link=str(body["join_url"]))
