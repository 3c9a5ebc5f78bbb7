"""Typed client of teams' internal membership route (not routed by the gateway)."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from vc_common.errors import ServiceUnavailable
from vc_common.logging import request_id_var
from vc_common.telemetry import inject_traceparent

from teams_client.roles import Role

log = logging.getLogger("vc.teams_client")

DEFAULT_TEAMS_URL = "http://127.0.0.1:8102"
INTERNAL_MEMBER_PATH = "/internal/v1/teams/{team_id}/members/{user_id}"


def teams_url(settings: Any = None) -> str:
    """``settings.teams_url`` when the service declares it, else ``TEAMS_URL``, else default."""
    url = getattr(settings, "teams_url", None) or os.environ.get("TEAMS_URL")
    return str(url or DEFAULT_TEAMS_URL)


@dataclass(frozen=True, slots=True)
class MemberAnswer:
    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    seq: int


class TeamsClient:
    """``GET /internal/v1/teams/{team_id}/members/{user_id}`` with the caller's own token.

    Teams answers about ``user_id`` only when the token's subject is that user or a member of
    the team, so the route tells nobody more than ``GET /api/v1/teams/{id}/members`` would.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_TEAMS_URL,
        *,
        timeout: float = 2.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._own = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0))
        )

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def membership(
        self, team_id: uuid.UUID, user_id: uuid.UUID, *, token: str
    ) -> MemberAnswer | None:
        """The user's role in the team, ``None`` if not a member (or no such team).

        ``ServiceUnavailable`` (503, retry) when teams cannot answer: never a wrong 404.
        """
        headers = inject_traceparent(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        rid = request_id_var.get()
        if rid:
            headers["X-Request-ID"] = rid
        url = self.base_url + INTERNAL_MEMBER_PATH.format(team_id=team_id, user_id=user_id)
        try:
            resp = await self._client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("teams membership lookup failed: %s", exc)
            raise ServiceUnavailable(
                "Team membership cannot be checked right now; retry.", headers={"Retry-After": "1"}
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("teams membership lookup answered %s", resp.status_code)
            raise ServiceUnavailable(
                "Team membership cannot be checked right now; retry.", headers={"Retry-After": "1"}
            )
        body = resp.json()
        return MemberAnswer(
            team_id=uuid.UUID(body["team_id"]),
            user_id=uuid.UUID(body["user_id"]),
            role=Role(body["role"]),
            seq=int(body["seq"]),
        )
