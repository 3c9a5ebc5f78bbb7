"""``python -m vc_devrun.serve module:factory --host H --port P``: serve an app factory with the
server it needs. An aiohttp ``web.Application`` runs on aiohttp's own server (uvloop when
installed); anything else is taken as an ASGI app and runs on uvicorn. The factory may be async.

The runner launches the gateway this way by default, so the gateway may be an ASGI or an aiohttp
app without any change to platform.toml.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any


def load_factory(spec: str) -> Callable[[], Any]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"app must be 'module:factory', got {spec!r}")
    factory = getattr(importlib.import_module(module_name), attr)
    if not callable(factory):
        raise SystemExit(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vc_devrun.serve")
    parser.add_argument("app", help="module:factory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args(argv)

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    app = load_factory(args.app)()
    if inspect.isawaitable(app):
        app = loop.run_until_complete(app)

    try:
        from aiohttp import web
    except ImportError:
        web = None  # type: ignore[assignment]

    if web is not None and isinstance(app, web.Application):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
        print(f"aiohttp serving {args.app} on http://{args.host}:{args.port}", flush=True)
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            access_log=None if args.no_access_log else logging.getLogger("aiohttp.access"),
            print=None,
            loop=loop,
            handle_signals=True,
        )
        return

    import uvicorn

    loop.close()
    asyncio.set_event_loop(None)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=not args.no_access_log,
        # the server's cap on a WebSocket message (uvicorn's default, 16 MiB, is assembled in
        # memory before the app sees it); the services refuse far less (ws_max_frame_bytes)
        ws_max_size=int(os.environ.get("WS_MAX_SIZE", str(1024 * 1024))),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
