from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Public keys that sign access tokens")
async def get_jwks(request: Request, response: Response) -> dict[str, Any]:
    keyring = request.app.state.keyring
    await keyring.refresh_if_stale(request.app.state.db)
    response.headers["Cache-Control"] = "public, max-age=300"
    jwks: dict[str, Any] = keyring.jwks()
    return jwks
