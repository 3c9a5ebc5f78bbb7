"""A throwaway ASGI app factory the runner tests start instead of a real service.

Behaviour by environment: ``FAKE_NO_READYZ=1`` serves no /readyz, ``FAKE_EXIT_AFTER=<s>``
makes the process exit with code 3 after that many seconds (an unexpected death),
``FAKE_SLOW_STOP=<s>`` makes its shutdown take that long."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator

from fastapi import FastAPI


@contextlib.asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await asyncio.sleep(float(os.environ.get("FAKE_SLOW_STOP", "0")))


def create_app() -> FastAPI:
    app = FastAPI(lifespan=_lifespan)
    name = os.environ.get("SERVICE_NAME", "?")

    if not os.environ.get("FAKE_NO_READYZ"):

        @app.get("/readyz")
        async def readyz() -> dict[str, str]:
            return {"status": "ok"}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/env")
    async def env() -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if k.isupper()} | {"name": name}

    exit_after = os.environ.get("FAKE_EXIT_AFTER")
    if exit_after:
        threading.Timer(float(exit_after), os._exit, args=(3,)).start()
    return app


def create_aiohttp_app() -> object:
    """The same shape as an aiohttp gateway: /health and /env."""
    from aiohttp import web

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "services": {}})

    async def env(_: web.Request) -> web.Response:
        values = {k: v for k, v in os.environ.items() if k.isupper()}
        return web.json_response(values | {"name": os.environ.get("SERVICE_NAME", "?")})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/env", env)
    return app
