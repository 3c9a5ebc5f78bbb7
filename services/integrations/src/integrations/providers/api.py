"""Calling a provider's API with a user's access token: one pooled client, timeouts from
settings, errors as :class:`ApiError` (status and the provider's error code, never a token)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from integrations.crypto import Secret

if TYPE_CHECKING:
    from integrations.runtime import Runtime


class ApiError(Exception):
    def __init__(self, provider: str, status: int, code: str) -> None:
        super().__init__(f"{provider} answered {status}: {code}")
        self.provider = provider
        self.status = status
        self.code = code

    @property
    def transient(self) -> bool:
        return self.status >= 500 or self.status in (0, 429)


async def call(
    rt: Runtime,
    provider: str,
    method: str,
    url: str,
    token: Secret,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    ok_statuses: tuple[int, ...] = (),
) -> httpx.Response:
    try:
        resp = await rt.http.request(
            method,
            url,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {token.reveal()}", **(headers or {})},
        )
    except httpx.TimeoutException:
        raise ApiError(provider, 0, "timeout") from None
    except httpx.TransportError as exc:
        raise ApiError(provider, 0, type(exc).__name__) from None
    if resp.status_code >= 400 and resp.status_code not in ok_statuses:
        raise ApiError(provider, resp.status_code, _code(resp))
    return resp


def _code(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.reason_phrase or "error"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # Google, Microsoft: {"error": {"code", "message"}}
            return str(err.get("status") or err.get("code") or err.get("message") or "error")[:200]
        if err:
            return str(err)[:200]
        for key in ("code", "message"):
            if body.get(key):
                return str(body[key])[:200]
    return resp.reason_phrase or "error"
