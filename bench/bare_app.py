"""The anchor of the service read benches: a bare FastAPI + asyncpg app (not the product).

``GET /api/v1/users/me`` with the least code that does the same work as identity's: verify the
bearer token (Ed25519, identity's JWKS, PyJWT, expiry checked), read the user and the profile
row on the same database with one asyncpg query, answer JSON (orjson). No session layer, no
ORM, no pydantic response model, no middleware. Run under the same uvicorn settings as the
service it anchors::

    BARE_DATABASE_URL=postgresql://... BARE_JWKS_URL=http://.../.well-known/jwks.json \\
        uvicorn --factory bench.bare_app:create_app
"""

from __future__ import annotations

import json
import os
import urllib.request
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

QUERY = """
SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_staff,
       u.date_joined, u.last_login, p.bio, p.location, p.birth_date, p.avatar, p.role,
       p.company_name, p.timezone, p.is_verified
FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id
WHERE u.id = $1
"""


def _keys(jwks_url: str) -> dict[str, jwt.PyJWK]:
    with urllib.request.urlopen(jwks_url, timeout=10) as resp:
        data = json.loads(resp.read())
    return {k["kid"]: jwt.PyJWK(k) for k in data["keys"]}


def create_app() -> FastAPI:
    dsn = os.environ["BARE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    keys = _keys(os.environ["BARE_JWKS_URL"])
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    unauthorized = Response(status_code=401)

    @app.get("/api/v1/users/me")
    async def me(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return unauthorized
        token = auth[7:]
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            claims = jwt.decode(
                token, keys[kid], algorithms=["EdDSA"], options={"verify_aud": False}
            )
        except (jwt.PyJWTError, KeyError):
            return unauthorized
        row = await state["pool"].fetchrow(QUERY, _uuid(claims["sub"]))
        if row is None:
            return Response(status_code=404)
        return Response(orjson.dumps(dict(row), default=str), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)
