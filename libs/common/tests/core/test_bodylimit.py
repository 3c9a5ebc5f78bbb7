"""Request bodies are limited (1 MiB unless a route says otherwise): 413 problem+json before the
body is read, whether announced by Content-Length or streamed; nothing is written."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.app import create_service_app
from vc_common.ports import free_port
from vc_common.settings import ServiceSettings

MiB = 1024 * 1024


async def test_a_json_body_over_the_limit_is_413_and_nothing_is_written(
    client: httpx.AsyncClient, db_connection: AsyncConnection
) -> None:
    name = "x" * (2 * MiB)
    resp = await client.post("/api/v1/widgets", json={"name": name})
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["status"] == 413
    count = await db_connection.execute(text("SELECT count(*) FROM widgets"))
    assert count.scalar_one() == 0


async def test_a_streamed_body_without_length_is_cut_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b"[" + b" " * (64 * 1024 - 1)

    resp = await client.post(
        "/api/v1/widgets", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json()["status"] == 413


async def test_a_route_may_take_more_with_or_without_an_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    body = b"z" * (3 * MiB)
    resp = await client.post("/api/v1/upload", content=body)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"size": 3 * MiB}
    # the idempotency fingerprint reads the body before the router has matched the route
    key = {"Idempotency-Key": "0190d4a5-0000-7000-8000-000000000001"}
    for _ in range(2):  # the first run, then its replay
        resp = await client.post("/api/v1/upload", content=body, headers=key)
        assert resp.status_code == 200, resp.text
    # a small body under the default limit still goes through an ordinary route
    assert (await client.post("/api/v1/widgets", json={"name": "ok"})).status_code == 201


plain = APIRouter()


@plain.post("/echo")
async def echo(body: dict[str, str]) -> dict[str, str]:
    return body


@contextlib.asynccontextmanager
async def served() -> AsyncIterator[int]:
    app = create_service_app(
        ServiceSettings(service_name="plain", events_enabled=False),
        title="plain",
        routers=[plain],
        metadata=None,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_a_huge_content_length_is_refused_before_any_body_is_sent() -> None:
    """Over a real socket: the head announces 100 MB and no body follows; the answer comes
    anyway (a server that read the body first would wait for it forever)."""
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n{"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        writer.close()
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"application/problem+json" in head
