"""``python -m gateway``: serve the gateway with uvloop on ``GATEWAY_HOST``:``GATEWAY_PORT``
(``GATEWAY_WORKERS`` processes)."""

from __future__ import annotations

import logging

from vc_common.logging import setup_logging

from gateway.server import run
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    setup_logging("gateway", settings.log_level, json=settings.log_json)
    # The JWKS fetch goes through httpx (vc_common.auth); one line per fetch is noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run(settings)


if __name__ == "__main__":
    main()
