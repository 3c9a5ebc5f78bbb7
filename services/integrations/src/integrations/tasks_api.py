"""The tasks public API, called as the connecting user with a service credential.

How a service authenticates (see README, "Acting on a user's behalf"): integrations presents its
own credential (``integrations`` + ``SERVICE_CLIENT_SECRET``, HTTP Basic) to identity's internal
token exchange (RFC 8693 in spirit: ``POST {IDENTITY_URL}/internal/v1/token-exchange`` with
``{"subject": <user id>}``) and gets a short-lived access token *for the user who connected the
integration* (``sub`` = that user, ``act.sub`` = ``integrations``). Tasks then verifies it like any
other token against the JWKS and applies its own rules as that user: a GitHub sync can only touch
boards its user may touch, and a user who left the team stops the sync by tasks' own 404/403.
Tokens are cached per user until a minute before they expire.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from integrations.settings import Settings


class TasksError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"tasks answered {status}: {detail}")
        self.status = status


class TasksClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._http = httpx.AsyncClient(timeout=settings.provider_timeout, transport=transport)
        self._tokens: dict[uuid.UUID, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _token(self, user_id: uuid.UUID) -> str:
        hit = self._tokens.get(user_id)
        if hit is not None and hit[1] > time.monotonic() + 60:
            return hit[0]
        async with self._lock:
            resp = await self._http.post(
                f"{self.settings.identity_url}/internal/v1/token-exchange",
                json={"subject": str(user_id)},
                auth=("integrations", self.settings.service_client_secret),
            )
        if resp.status_code != 200:
            raise TasksError(resp.status_code, "identity refused the token exchange")
        body = resp.json()
        token = str(body["access_token"])
        self._tokens[user_id] = (token, time.monotonic() + float(body.get("expires_in", 300)))
        return token

    async def _call(
        self,
        user_id: uuid.UUID,
        method: str,
        path: str,
        json: Any = None,
        idempotency_key: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        token = await self._token(user_id)
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = str(idempotency_key)
        resp = await self._http.request(
            method, f"{self.settings.tasks_url}{path}", json=json, headers=headers
        )
        if resp.status_code == 401:
            self._tokens.pop(user_id, None)
        if resp.status_code >= 400:
            try:
                detail = str(resp.json().get("detail", ""))
            except ValueError:
                detail = resp.text[:200]
            raise TasksError(resp.status_code, detail)
        data: dict[str, Any] = resp.json()
        return data

    async def board(self, user_id: uuid.UUID, board_id: uuid.UUID) -> dict[str, Any]:
        return await self._call(user_id, "GET", f"/api/v1/boards/{board_id}")

    async def create_task(
        self,
        user_id: uuid.UUID,
        column_id: uuid.UUID,
        title: str,
        description: str,
        idempotency_key: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """``idempotency_key``: a retry after a crash (the task made, our link not stored)
        gets the same task back instead of a second one (tasks keeps keys 24 h)."""
        return await self._call(
            user_id,
            "POST",
            f"/api/v1/columns/{column_id}/tasks",
            {"title": title, "description": description},
            idempotency_key,
        )

    async def update_task(
        self, user_id: uuid.UUID, task_id: uuid.UUID, fields: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._call(user_id, "PATCH", f"/api/v1/tasks/{task_id}", fields)

    async def move_task(
        self, user_id: uuid.UUID, task_id: uuid.UUID, column_id: uuid.UUID
    ) -> dict[str, Any]:
        return await self._call(
            user_id,
            "POST",
            f"/api/v1/tasks/{task_id}/move",
            {"column_id": str(column_id), "position": 0},
        )
