"""Faults between the gateway and a real service process: a 500 (after which uvicorn closes the
connection) must not fail the next request, whoever sends it; a service that is down is a quick
503 with ``Retry-After``, and the gateway serves it again as soon as it is back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from gateway.routes import Service
from gateway_testlib import GatewayFactory, free_port

HERE = Path(__file__).parent


class Process:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "faulty_service.py"), str(self.port)]
        )
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, "the service exited"
            time.sleep(0.05)
        raise AssertionError("the service did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def faulty() -> Iterator[Process]:
    p = Process(free_port())
    p.start()
    try:
        yield p
    finally:
        p.kill()


@pytest_asyncio.fixture
async def gw(make_gateway: GatewayFactory, faulty: Process) -> AsyncIterator[TestClient[Any, Any]]:
    svc = Service("faulty", f"http://127.0.0.1:{faulty.port}", ("/api/v1/faulty/**",))
    yield await make_gateway([svc])


def auth(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


async def test_a_500_does_not_fail_the_next_request_of_anyone(
    gw: TestClient[Any, Any], token: str
) -> None:
    codes: list[int] = []
    for i in range(30):
        boom = await gw.post("/api/v1/faulty/boom", headers=auth(token), json={})
        assert boom.status == 500
        # the next POST (not idempotent: never retried) goes out on a connection that is sound
        nxt = await gw.post(f"/api/v1/faulty/n{i}", headers=auth(token), json={"i": i})
        codes.append(nxt.status)
        # and concurrent clients do not share the failure either
        many = await asyncio.gather(
            gw.get("/api/v1/faulty/boom", headers=auth(token)),
            gw.post("/api/v1/faulty/x", headers=auth(token), data=b"{}"),
            gw.put("/api/v1/faulty/y", headers=auth(token), data=b"{}"),
        )
        codes += [r.status for r in many[1:]]
        assert many[0].status == 500
    assert codes == [200] * len(codes)


async def test_a_service_down_is_a_503_with_retry_after_and_back_when_it_is(
    gw: TestClient[Any, Any], token: str, faulty: Process
) -> None:
    assert (await gw.get("/api/v1/faulty/a", headers=auth(token))).status == 200
    faulty.kill()
    for method in ("GET", "POST"):
        resp = await gw.request(method, "/api/v1/faulty/a", headers=auth(token), data=b"{}")
        assert resp.status == 503
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert int(resp.headers["Retry-After"]) >= 1
        assert (await resp.json())["status"] == 503
    # a streamed upload (the aiohttp path) too
    resp = await gw.post("/api/v1/faulty/a", headers=auth(token), data=b"x" * (2 * 1024 * 1024))
    assert resp.status == 503
    faulty.start()
    # the replica was marked down for a few seconds, but it is the only one: it is tried anyway
    assert (await gw.get("/api/v1/faulty/a", headers=auth(token))).status == 200


async def test_a_post_with_an_idempotency_key_is_retried_on_a_fresh_connection(
    gw: TestClient[Any, Any], token: str, faulty: Process
) -> None:
    """The service restarts between two requests: the pooled connection is dead. A POST with an
    Idempotency-Key is sent again on a new connection (the key makes that safe)."""
    assert (await gw.post("/api/v1/faulty/k", headers=auth(token), data=b"{}")).status == 200
    faulty.kill()
    faulty.start()
    resp = await gw.post(
        "/api/v1/faulty/k", headers=auth(token, **{"Idempotency-Key": "k1"}), data=b"{}"
    )
    assert resp.status == 200
    assert (await gw.get("/api/v1/faulty/k", headers=auth(token))).status == 200
