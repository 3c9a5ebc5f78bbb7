from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from identity.deps import KeyRingDep

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Public keys that sign access tokens")
async def get_jwks(keyring: KeyRingDep, response: Response) -> dict[str, Any]:
    await keyring.refresh_if_stale()
    response.headers["Cache-Control"] = "public, max-age=300"
    jwks: dict[str, Any] = keyring.jwks()
    return jwks
