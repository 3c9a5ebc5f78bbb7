"""Typed client of identity's public user view, for a user the projection has not seen yet."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import httpx
from vc_common.errors import ServiceUnavailable
from vc_common.logging import request_id_var
from vc_common.telemetry import inject_traceparent

log = logging.getLogger("teams.identity")


@dataclass(frozen=True, slots=True)
class IdentityUser:
    id: uuid.UUID
    username: str


class IdentityClient:
    def __init__(
        self, base_url: str, *, timeout: float = 3.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._own = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0))
        )

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def get_user(self, user_id: uuid.UUID, *, token: str) -> IdentityUser | None:
        """``GET /api/v1/users/{id}`` with the caller's token: the user, or None (404: unknown
        or deactivated). ``ServiceUnavailable`` when identity cannot answer."""
        headers = inject_traceparent(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        rid = request_id_var.get()
        if rid:
            headers["X-Request-ID"] = rid
        try:
            resp = await self._client.get(
                f"{self.base_url}/api/v1/users/{user_id}", headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("identity user lookup failed: %s", exc)
            raise ServiceUnavailable(
                "Users cannot be looked up right now; retry.", headers={"Retry-After": "1"}
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("identity user lookup answered %s", resp.status_code)
            raise ServiceUnavailable(
                "Users cannot be looked up right now; retry.", headers={"Retry-After": "1"}
            )
        body = resp.json()
        return IdentityUser(id=uuid.UUID(str(body["id"])), username=str(body["username"]))
