"""``python -m gateway``: serve the gateway with uvloop on ``GATEWAY_HOST``:``GATEWAY_PORT``."""

from __future__ import annotations

import logging

import uvloop
from aiohttp import web
from vc_common.logging import setup_logging

from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    setup_logging("gateway", settings.log_level, json=settings.log_json)
    # The JWKS fetch goes through httpx (vc_common.auth); one line per fetch is noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings)
    web.run_app(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
