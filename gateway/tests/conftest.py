"""Fixtures of the gateway tests: real upstreams (uvicorn on free ports), a fake identity serving
the JWKS of an Ed25519 key made here, and the gateway itself in-process (aiohttp test server)."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest's importlib mode names this file ``gateway.tests.conftest`` and (pytest 9.2 here) imports
# the parent ``gateway`` from its path: the project directory gateway/ as a namespace package, which
# hides the real ``gateway`` package (gateway/src/gateway). Put the real one back, and make the
# helpers next to this file importable.
if getattr(sys.modules.get("gateway"), "__file__", None) is None:
    sys.modules.pop("gateway", None)
    import gateway  # noqa: F401  (the installed package)
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway.app import create_app
from gateway.routes import Service
from gateway_testlib import (
    ROUTES,
    GatewayFactory,
    Keys,
    Upstream,
    fake_service,
    repository_public,
    settings_for,
    start_upstream,
)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(Ed25519PrivateKey.generate(), kid="test-key-1")


@pytest.fixture
def token(keys: Keys) -> str:
    return str(keys.token())


# --- fake upstream services ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def upstreams(keys: Keys) -> Iterator[dict[str, Upstream]]:
    ups = {name: start_upstream(name, fake_service(name, keys)) for name in ROUTES}
    yield ups
    for up in ups.values():
        up.server.should_exit = True
    for up in ups.values():
        up.thread.join(timeout=5)


@pytest.fixture
def services(upstreams: dict[str, Upstream]) -> list[Service]:
    public = repository_public()
    return [
        Service(n, upstreams[n].url, routes, public=public.get(n, ()))
        for n, routes in ROUTES.items()
    ]


@pytest_asyncio.fixture
async def make_gateway(
    upstreams: dict[str, Upstream], services: list[Service]
) -> AsyncIterator[GatewayFactory]:
    clients: list[TestClient[Any, Any]] = []

    async def make(
        extra_services: list[Service] | None = None, **overrides: Any
    ) -> TestClient[Any, Any]:
        app = create_app(settings_for(upstreams, **overrides), [*services, *(extra_services or [])])
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.close()


@pytest_asyncio.fixture
async def gw(make_gateway: GatewayFactory) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await make_gateway()
    return client
