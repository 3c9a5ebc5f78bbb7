"""Test helpers of the gateway: Ed25519 keys and tokens, fake upstream services (small FastAPI
apps served by uvicorn on free ports, each in its own thread and event loop)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse
from gateway.settings import GatewaySettings
from pydantic import BaseModel
from vc_common.ports import free_port

ISSUER = "virtualcoworking-identity"
AUDIENCE = "virtualcoworking"


# --- keys and tokens ----------------------------------------------------------------------------


@dataclass
class Keys:
    private: Ed25519PrivateKey
    kid: str

    @property
    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {
            "keys": [
                {
                    "kid": self.kid,
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": x,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ]
        }

    def token(self, *, sub: str | None = None, ttl: int = 900, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub or str(uuid.uuid4()),
            "username": "alice",
            "is_staff": False,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            **claims,
        }
        return jwt.encode(payload, self.private, algorithm="EdDSA", headers={"kid": self.kid})


class Widget(BaseModel):
    id: str
    name: str


class Thing(BaseModel):
    """Same name in two services, different fields: the merge must rename one."""

    value: int


def _other_thing() -> type[BaseModel]:
    class Thing(BaseModel):
        label: str

    return Thing


OtherThing = _other_thing()


def fake_service(name: str, keys: Keys) -> FastAPI:
    app = FastAPI(title=name)
    app.state.ready = True

    if name == "identity":

        @app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            return keys.jwks

        @app.get("/api/v1/users/me", response_model=Widget)
        async def me() -> Widget:
            return Widget(id="me", name=name)

        @app.post("/api/v1/auth/login")
        async def login() -> dict[str, str]:
            return {"service": name}

    if name == "teams":

        @app.get("/api/v1/teams/{team_id}", response_model=Thing)
        async def team(team_id: str) -> Thing:
            return Thing(value=len(team_id))

        @app.get("/api/v1/users/not-mine")
        async def not_mine() -> dict[str, str]:
            return {"service": name}

    if name == "tasks":

        @app.get("/api/v1/teams/{team_id}/boards", response_model=list[Widget])
        async def boards(team_id: str) -> list[Widget]:
            return [Widget(id=team_id, name=name)]

        @app.get("/api/v1/things/{thing_id}", response_model=OtherThing)
        async def thing(thing_id: str) -> Any:
            return OtherThing(label=thing_id)

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ok = bool(app.state.ready)
        return JSONResponse({"status": "ok" if ok else "fail"}, status_code=200 if ok else 503)

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/slow/{seconds}")
    @app.get("/api/v1/slow/{seconds}")
    async def slow(seconds: float) -> dict[str, str]:
        await asyncio.sleep(seconds)
        return {"service": name}

    @app.get("/api/v1/big/{size}")
    async def big(size: int) -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            left = size
            block = bytes(range(256)) * 256
            while left > 0:
                chunk = block[: min(left, len(block))]
                left -= len(chunk)
                yield chunk

        return StreamingResponse(gen(), media_type="application/octet-stream")

    @app.post("/api/v1/refuse")
    async def refuse() -> Response:
        """An upload refused before its body is read (as files does past FILES_MAX_BYTES)."""
        return JSONResponse(
            {"detail": "too large"}, status_code=413, headers={"Connection": "close"}
        )

    @app.post("/api/v1/created")
    async def created() -> Response:
        return JSONResponse(
            {"id": "1"},
            status_code=201,
            headers={"Location": "/api/v1/created/1", "ETag": '"v1"'},
        )

    @app.websocket("/api/v1/rooms/{room_id}/ws")
    async def ws(websocket: WebSocket, room_id: str) -> None:
        if room_id == "refused":  # a refusal with a body (the WebSocket Denial Response)
            await websocket.send_denial_response(
                JSONResponse({"detail": "not a member"}, status_code=404)
            )
            return
        await websocket.accept()
        await websocket.send_json(
            {
                "hello": room_id,
                "service": name,
                "token": websocket.query_params.get("token"),
                "request_id": websocket.headers.get("x-request-id"),
                "traceparent": websocket.headers.get("traceparent"),
                "extensions": websocket.headers.get("sec-websocket-extensions"),
            }
        )
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                if msg.get("text") is not None:
                    text = msg["text"]
                    if text.startswith("close:"):
                        await websocket.close(code=int(text.split(":")[1]), reason="bye")
                        return
                    await websocket.send_text("echo:" + text)
                elif msg.get("bytes") is not None:
                    await websocket.send_bytes(b"echo:" + msg["bytes"])
        except WebSocketDisconnect:
            return

    @app.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def echo(request: Request, path: str) -> Response:
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        return JSONResponse(
            {
                "service": name,
                "method": request.method,
                "path": "/" + path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "headers": dict(request.headers.items()),
                "size": size,
                "sha256": digest.hexdigest(),
            },
            headers={"ETag": '"echo"', "X-Upstream": name},
        )

    return app


@dataclass
class Upstream:
    name: str
    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread


def start_upstream(name: str, app: FastAPI) -> Upstream:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"upstream-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"upstream {name} did not start")
        time.sleep(0.02)
    return Upstream(name, f"http://127.0.0.1:{port}", app, server, thread)


ROUTES = {
    "identity": (
        "/api/v1/auth/**",
        "/api/v1/users/**",
        "/.well-known/jwks.json",
        "/api/v1/rooms/**",
        "/api/v1/slow/**",
        "/api/v1/big/**",
        "/api/v1/created",
        "/api/v1/refuse",
        "/api/v1/echo/**",
    ),
    "teams": ("/api/v1/teams/**", "/api/v1/users/not-mine"),
    "tasks": ("/api/v1/teams/*/boards/**", "/api/v1/boards/**", "/api/v1/things/*"),
}


def settings_for(upstreams: dict[str, Upstream], **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "jwks_url": upstreams["identity"].url + "/.well-known/jwks.json",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "redis_url": None,
        "gateway_access_log": False,
        "gateway_rate_per_user": "off",
        "gateway_rate_per_ip": "off",
        "cors_origins": "",
        "otel_exporter_otlp_endpoint": None,
        "environment": "test",
    }
    values.update(overrides)
    return GatewaySettings(**values)


GatewayFactory = Callable[..., Any]


def repository_public() -> dict[str, tuple[str, ...]]:
    """The public routes platform.toml declares, per service (the fakes keep the same ones)."""
    from gateway.routes import load_services

    root = Path(__file__).resolve().parents[2]
    return {s.name: s.public for s in load_services(root / "platform.toml", env={})}
