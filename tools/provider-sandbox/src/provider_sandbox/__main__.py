"""``python -m provider_sandbox --port 8190``: the provider sandbox (NOT PRODUCTION)."""

from __future__ import annotations

import argparse

import uvicorn

from provider_sandbox.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="provider-sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
