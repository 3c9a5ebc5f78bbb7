from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from gateway.app import GATEWAY_KEY
from gateway_testlib import Keys

Client = TestClient[Any, Any]


async def test_websocket_frames_both_ways(gw: Client, token: str) -> None:
    async with gw.ws_connect(
        f"/api/v1/rooms/r1/ws?token={token}", headers={"X-Request-ID": "ws-1"}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        traceparent = hello.pop("traceparent")
        assert traceparent.startswith("00-")
        assert len(traceparent) == 55
        assert hello == {
            "hello": "r1",
            "service": "identity",
            "token": token,
            "request_id": "ws-1",
            "extensions": None,
        }
        assert ws._response.headers["X-Request-ID"] == "ws-1"
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


async def test_websocket_is_a_raw_tunnel(gw: Client, token: str) -> None:
    """The default path: after the 101 the connection is spliced, not pumped frame by frame."""
    proxy = gw.app[GATEWAY_KEY].proxy
    async with gw.ws_connect(f"/api/v1/rooms/t1/ws?token={token}") as ws:
        await ws.receive_json(timeout=5)
        assert len(proxy.tunnels) == 1
        big = "x" * 300_000  # several TCP segments, flow control both ways
        await ws.send_str(big)
        assert await ws.receive_str(timeout=5) == "echo:" + big
        await ws.send_str("close:4002")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 4002
    server = gw.server.runner.server  # type: ignore[union-attr]
    assert server is not None
    for _ in range(50):
        if not proxy.tunnels and not server.connections:
            break
        await asyncio.sleep(0.02)
    assert not proxy.tunnels
    # aiohttp's server was told the hijacked connection is gone: it does not keep it
    assert not server.connections


async def test_websocket_frames_fallback(make_gateway: Any, token: str) -> None:
    gw = await make_gateway(gateway_ws_tunnel=False)
    proxy = gw.app[GATEWAY_KEY].proxy
    async with gw.ws_connect(
        f"/api/v1/rooms/f1/ws?token={token}", headers={"X-Request-ID": "ws-2"}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["request_id"] == "ws-2"
        assert not proxy.tunnels
        await ws.send_str("hi")
        assert await ws.receive_str(timeout=5) == "echo:hi"
        await ws.send_str("close:4001")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 4001


@pytest.mark.parametrize("tunnel", [True, False])
async def test_websocket_refusal_is_passed_on(make_gateway: Any, token: str, tunnel: bool) -> None:
    gw = await make_gateway(gateway_ws_tunnel=tunnel)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await gw.ws_connect(f"/api/v1/rooms/refused/ws?token={token}")
    assert err.value.status == 404
    if tunnel:  # the service's own body, as it sent it
        async with gw.get(
            f"/api/v1/rooms/refused/ws?token={token}",
            headers={
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        ) as r:
            assert r.status == 404
            assert await r.json() == {"detail": "not a member"}
            assert r.headers["X-Request-ID"]


async def test_a_path_may_take_its_token_in_the_first_frame(
    make_gateway: Any, upstreams: Any, token: str
) -> None:
    from gateway.routes import Service

    frame_auth = Service(
        "frameauth",
        upstreams["identity"].url,
        ("/api/v1/rooms/frame/ws",),
        public=("GET /api/v1/rooms/frame/ws",),
    )
    gw = await make_gateway([frame_auth])
    # no token in the URL: let through, the service authenticates the first frame
    async with gw.ws_connect("/api/v1/rooms/frame/ws") as ws:
        hello = await ws.receive_json(timeout=5)
        assert (hello["hello"], hello["token"]) == ("frame", None)
    # other paths still need one
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gw.ws_connect("/api/v1/rooms/other/ws")
    assert refused.value.status == 401
    del token
