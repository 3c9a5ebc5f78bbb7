"""The files service's answer about one file, asked with the caller's token: how an attachment
of a file tasks has not heard of yet (its ``files.file.uploaded`` still on the way) is checked.
Only the public route is used (``GET /api/v1/files/{id}``), so files' own rules decide what the
caller may see: another team's file is a 404 there too."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from vc_common.errors import ServiceUnavailable


async def fetch_file(
    files_url: str, token: str, file_id: uuid.UUID, *, seconds: float = 5.0
) -> dict[str, Any] | None:
    """The file as the files service answers it to the caller, or None (unknown to them)."""
    base = files_url.split(",")[0].rstrip("/")  # a replica list: any one answers
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            r = await client.get(
                f"{base}/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"The files service cannot be reached ({exc}).") from exc
    if r.status_code in (403, 404):
        return None
    if r.status_code != 200:
        raise ServiceUnavailable(f"The files service answered {r.status_code}.")
    found: dict[str, Any] = r.json()
    return found
