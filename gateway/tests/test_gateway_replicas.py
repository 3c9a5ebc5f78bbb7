"""A service with several replicas: two real upstream servers behind one service name.
Round-robin per request (HTTP) and per connection (WebSockets), a replica that refuses
connections is skipped (the request that never reached it goes to the other one), /health
checks every replica."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from gateway.balancer import Replica, Upstream
from gateway.routes import Service, load_services
from gateway_testlib import GatewayFactory, Keys, fake_service, free_port, start_upstream
from gateway_testlib import Upstream as FakeUpstream

Client = TestClient[Any, Any]
ROUTES = ("/api/v1/pair/**", "/api/v1/rooms/pair/ws")


@pytest.fixture(scope="module")
def pair(keys: Keys) -> Iterator[list[FakeUpstream]]:
    ups = [start_upstream(n, fake_service(n, keys)) for n in ("pair-a", "pair-b")]
    yield ups
    for up in ups:
        up.server.should_exit = True
    for up in ups:
        up.thread.join(timeout=5)


def both(pair: list[FakeUpstream]) -> Service:
    return Service("pair", ",".join(up.url for up in pair), ROUTES)


def one_down(pair: list[FakeUpstream]) -> Service:
    return Service("pair", f"{pair[0].url},http://127.0.0.1:{free_port()}", ROUTES)


def test_service_takes_comma_separated_urls(tmp_path: Path) -> None:
    s = Service("chat", " http://127.0.0.1:1/, http://127.0.0.1:2 ,", ())
    assert s.base_urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert s.base_url == "http://127.0.0.1:1"
    s = Service("chat", "", (), base_urls=("http://a/", "http://b"))
    assert (s.base_url, s.base_urls) == ("http://a", ("http://a", "http://b"))
    toml = tmp_path / "platform.toml"
    toml.write_text('[services.chat]\nport = 8103\nroutes = ["/api/v1/rooms/**"]\n')
    env = {"CHAT_URL": "http://127.0.0.1:8103,http://127.0.0.1:9000"}
    (chat,) = load_services(toml, env)
    assert chat.base_urls == ("http://127.0.0.1:8103", "http://127.0.0.1:9000")
    (chat,) = load_services(toml, {})
    assert chat.base_urls == ("http://127.0.0.1:8103",)


def test_order_is_round_robin_and_puts_a_down_replica_last() -> None:
    now = [100.0]
    up = Upstream(
        Service("s", "http://a,http://b,http://c", ()),
        [Replica(i, f"s#{i + 1}", u) for i, u in enumerate(("http://a", "http://b", "http://c"))],
        session=None,  # type: ignore[arg-type]
        down_for=5.0,
        _clock=lambda: now[0],
    )
    first = [up.order()[0].label for _ in range(4)]
    assert first == ["s#1", "s#2", "s#3", "s#1"]
    # WebSockets have their own rotation.
    assert [up.order(websocket=True)[0].label for _ in range(3)] == ["s#1", "s#2", "s#3"]
    up.mark_down(up.replicas[1], "refused")
    orders = [[r.label for r in up.order()] for _ in range(3)]
    assert orders == [["s#1", "s#3", "s#2"], ["s#3", "s#1", "s#2"], ["s#1", "s#3", "s#2"]]
    up.mark_down(up.replicas[0], "refused")
    up.mark_down(up.replicas[2], "refused")  # all down: all tried, in turn
    assert [[r.label for r in up.order()] for _ in range(2)] == [
        ["s#2", "s#3", "s#1"],
        ["s#3", "s#1", "s#2"],
    ]
    now[0] += 5.1  # the markings expire
    assert [r.label for r in up.order()] == ["s#1", "s#2", "s#3"]


async def test_http_round_robin_over_two_replicas(
    make_gateway: GatewayFactory, pair: list[FakeUpstream], token: str
) -> None:
    gw: Client = await make_gateway([both(pair)])
    auth = {"Authorization": f"Bearer {token}"}
    seen = []
    for i in range(6):
        method = "POST" if i % 2 else "GET"
        resp = await gw.request(method, f"/api/v1/pair/x{i}", headers=auth, data=b"hi" * i)
        assert resp.status == 200
        body = await resp.json()
        seen.append((body["service"], resp.headers["X-Served-By"]))
    assert {s for s, _ in seen} == {"pair-a", "pair-b"}
    assert [s for s, _ in seen[:2]] * 3 == [s for s, _ in seen]  # strictly alternating
    by = dict(seen)
    assert sorted(by.values()) == ["pair#1", "pair#2"]  # one label per replica
    assert by["pair-a"] == "pair#1"  # in the order of the URLs

    resp = await gw.get("/health")
    body = await resp.json()
    assert resp.status == 200
    assert body["services"]["pair"] == "ok"
    assert body["replicas"] == {"pair": {"pair#1": "ok", "pair#2": "ok"}}


async def test_one_replica_down_the_other_serves(
    make_gateway: GatewayFactory, pair: list[FakeUpstream], token: str
) -> None:
    gw: Client = await make_gateway([one_down(pair)], gateway_buffer_limit=1024)
    auth = {"Authorization": f"Bearer {token}"}
    for i in range(4):
        resp = await gw.get(f"/api/v1/pair/get{i}", headers=auth)
        assert resp.status == 200
        assert (await resp.json())["service"] == "pair-a"
        assert resp.headers["X-Served-By"] == "pair#1"
        # not idempotent, yet retried: the refused connection never carried it
        resp = await gw.post(f"/api/v1/pair/post{i}", headers=auth, data=b"x" * 10)
        assert resp.status == 200
        assert (await resp.json())["size"] == 10
        # streamed upload (above the buffer limit: aiohttp's client) and HEAD, likewise
        resp = await gw.post("/api/v1/pair/big", headers=auth, data=b"y" * 5000)
        assert resp.status == 200
        assert (await resp.json())["size"] == 5000
        resp = await gw.head("/api/v1/pair/head", headers=auth)
        assert resp.status == 200

    resp = await gw.get("/health")
    assert resp.status == 503
    body = await resp.json()
    assert body["services"]["pair"] == "unavailable"
    assert body["replicas"]["pair"] == {"pair#1": "ok", "pair#2": "unavailable"}


async def test_every_replica_down_is_a_503(make_gateway: GatewayFactory, token: str) -> None:
    urls = f"http://127.0.0.1:{free_port()},http://127.0.0.1:{free_port()}"
    gw: Client = await make_gateway([Service("pair", urls, ROUTES)])
    resp = await gw.get("/api/v1/pair/x", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 503
    assert int(resp.headers["Retry-After"]) >= 1
    assert "X-Served-By" not in resp.headers


@pytest.mark.parametrize("tunnel", [True, False], ids=["tunnel", "frames"])
async def test_websockets_land_on_either_replica(
    make_gateway: GatewayFactory, pair: list[FakeUpstream], token: str, tunnel: bool
) -> None:
    gw: Client = await make_gateway([both(pair)], gateway_ws_tunnel=tunnel)
    # an HTTP request between the two does not move the WebSockets' rotation
    seen = []
    for _ in range(2):
        async with gw.ws_connect(f"/api/v1/rooms/pair/ws?token={token}") as ws:
            hello = await ws.receive_json(timeout=5)
            seen.append((hello["service"], ws._response.headers["X-Served-By"]))
            await ws.send_str("hi")
            assert await ws.receive_str(timeout=5) == "echo:hi"
        await gw.get("/api/v1/pair/between", headers={"Authorization": f"Bearer {token}"})
    assert sorted(seen) == [("pair-a", "pair#1"), ("pair-b", "pair#2")]


@pytest.mark.parametrize("tunnel", [True, False], ids=["tunnel", "frames"])
async def test_websockets_skip_a_down_replica(
    make_gateway: GatewayFactory, pair: list[FakeUpstream], token: str, tunnel: bool
) -> None:
    gw: Client = await make_gateway([one_down(pair)], gateway_ws_tunnel=tunnel)
    for _ in range(3):
        async with gw.ws_connect(f"/api/v1/rooms/pair/ws?token={token}") as ws:
            assert (await ws.receive_json(timeout=5))["service"] == "pair-a"
            await ws.send_str("hi")
            assert await ws.receive_str(timeout=5) == "echo:hi"
