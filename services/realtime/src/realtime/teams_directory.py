"""The teams a user is in, asked of teams with the user's own token (``GET /api/v1/teams``).

A socket opened by someone added to a team a moment ago must not miss that team because its
``teams.member.added`` has not reached the projection yet: the socket's start asks teams for
the caller's teams, and reads through (``teams_client``'s internal route, which caches the
answer with its membership seq) each one the projection does not know. With a timeout; when
teams cannot answer, the projection alone decides (and the event adds the team when it comes).
"""

from __future__ import annotations

import logging
import uuid

import httpx
from vc_common.telemetry import inject_traceparent

log = logging.getLogger("realtime.teams_directory")


class TeamsDirectory:
    def __init__(self, base_url: str, *, timeout: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def team_ids(self, token: str, *, pages: int = 10) -> list[uuid.UUID] | None:
        """The caller's teams, or None when teams cannot answer."""
        out: list[uuid.UUID] = []
        cursor: str | None = None
        headers = inject_traceparent({"Authorization": f"Bearer {token}"})
        for _ in range(pages):
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            try:
                resp = await self._client.get(
                    f"{self.base_url}/api/v1/teams", params=params, headers=headers
                )
                resp.raise_for_status()
                body = resp.json()
                out += [uuid.UUID(str(t["id"])) for t in body["items"]]
            except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                log.warning("teams' list of the caller's teams failed: %r", exc)
                return None
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return out
