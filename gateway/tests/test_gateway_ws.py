from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from gateway_testlib import Keys

Client = TestClient[Any, Any]


async def test_websocket_frames_both_ways(gw: Client, token: str) -> None:
    async with gw.ws_connect(
        f"/api/v1/rooms/r1/ws?token={token}", headers={"X-Request-ID": "ws-1"}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello == {"hello": "r1", "service": "identity", "token": token, "request_id": "ws-1"}
        await ws.send_str("hi")
        assert await ws.receive_str(timeout=5) == "echo:hi"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes(timeout=5) == b"echo:\x00\x01"
        # The service closes with its own code: the client sees that code.
        await ws.send_str("close:4001")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 4001
        assert msg.extra == "bye"


async def test_websocket_with_bearer_header(gw: Client, token: str) -> None:
    async with gw.ws_connect(
        "/api/v1/rooms/r2/ws", headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["hello"] == "r2"
        await ws.close(code=1000)
    assert ws.close_code == 1000


async def test_client_close_reaches_the_service(gw: Client, token: str) -> None:
    ws = await gw.ws_connect(f"/api/v1/rooms/r3/ws?token={token}")
    await ws.receive_json(timeout=5)
    await ws.close(code=4003)
    assert ws.closed
    # The gateway stays usable afterwards.
    async with gw.ws_connect(f"/api/v1/rooms/r3/ws?token={token}") as ws2:
        await ws2.receive_json(timeout=5)


@pytest.mark.parametrize("bad", ["", "?token=garbage", "?token=EXPIRED"])
async def test_websocket_refused_with_a_bad_token(gw: Client, keys: Keys, bad: str) -> None:
    bad = bad.replace("EXPIRED", keys.token(ttl=-120))
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await gw.ws_connect(f"/api/v1/rooms/r1/ws{bad}")
    assert err.value.status == 401
