"""Zoom and Microsoft Teams meeting links for the meetings service.

Meetings asks, with the creating user's bearer token, ``POST
/internal/v1/integrations/meeting-links`` (not routed by the gateway) ``{provider: zoom |
microsoft_teams, title, start_time, end_time}`` and gets ``{provider, join_url, external_id}``:

- Zoom: ``POST https://api.zoom.us/v2/users/me/meetings`` ``{topic, type: 2 (scheduled),
  start_time, duration (minutes), timezone: "UTC"}`` → ``join_url``, ``id``.
- Microsoft Teams: ``POST https://graph.microsoft.com/v1.0/me/onlineMeetings`` ``{subject,
  startDateTime, endDateTime}`` → ``joinWebUrl``, ``id``.

404 when the user has no such integration, 409 when it needs reconnecting. The "sync" of these
integrations (``account_check``) reads the account (``GET /v2/users/me``, ``GET /v1.0/me``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vc_common.context import Context
from vc_common.errors import Conflict, NotFound, ServiceUnavailable

from integrations.connections import repository as connections_repo
from integrations.connections import service as connections
from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.providers.api import ApiError, call
from integrations.runtime import Runtime, runtime
from integrations.syncs.models import SyncLog


async def check(ctx: Context, rt: Runtime, i: Integration, token: Secret, log: SyncLog) -> int:
    del ctx, log
    if i.integration_type == "zoom":
        await call(rt, "zoom", "GET", f"{rt.settings.zoom_api_url}/v2/users/me", token)
    else:
        await call(rt, "microsoft", "GET", f"{rt.settings.microsoft_graph_url}/v1.0/me", token)
    return 1


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_link(
    ctx: Context, provider: str, title: str, start: datetime, end: datetime
) -> dict[str, Any]:
    rt = runtime(ctx)
    i = await connections_repo.get_by_type(ctx.session, ctx.user.id, provider)
    if i is None or i.status == "disconnected":
        raise NotFound(f"You have no {provider} integration.")
    try:
        i, token = await connections.fresh_access_token(ctx, i.id)
    except connections.RefreshFailed:
        raise Conflict(f"Your {provider} integration needs reconnecting.") from None
    try:
        if provider == "zoom":
            resp = await call(
                rt,
                "zoom",
                "POST",
                f"{rt.settings.zoom_api_url}/v2/users/me/meetings",
                token,
                json={
                    "topic": title,
                    "type": 2,
                    "start_time": _utc(start),
                    "duration": max(1, int((end - start).total_seconds() // 60)),
                    "timezone": "UTC",
                },
            )
            body = resp.json()
            return {
                "provider": provider,
                "join_url": body["join_url"],
                "external_id": str(body["id"]),
            }
        resp = await call(
            rt,
            "microsoft",
            "POST",
            f"{rt.settings.microsoft_graph_url}/v1.0/me/onlineMeetings",
            token,
            json={"subject": title, "startDateTime": _utc(start), "endDateTime": _utc(end)},
        )
        body = resp.json()
        return {
            "provider": provider,
            "join_url": body["joinWebUrl"],
            "external_id": str(body["id"]),
        }
    except ApiError as exc:
        if exc.status == 401:
            await connections.mark_needs_reconnect(ctx, i, f"{exc.provider} refused the token")
            raise Conflict(f"Your {provider} integration needs reconnecting.") from None
        raise ServiceUnavailable(
            f"{exc.provider} did not create the meeting ({exc.code})."
        ) from None
