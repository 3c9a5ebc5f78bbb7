"""Cross-team authorization on every route, generated from the gateway's merged OpenAPI.

Alice's team holds one of each resource (tests/e2e/verify_world.py). Bob, in a team of his own,
calls every operation whose path names a resource, with Alice's real ids and a body that
validates, and must get 404 (the contract: do not leak other teams' data), or 403 where the
contract says so. The WebSocket routes (the document's ``x-websockets``) and the signed file URL
are tried the same way. Nothing here lists the routes: a new route is covered when it appears in
a service's OpenAPI, and one whose id parameter :data:`CREATORS` cannot fill fails the test.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import new_user
from tests.e2e.verify_openapi import Bodies, fill, operations
from tests.e2e.verify_world import CREATORS, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("nats_only")]

# What the contract answers other than 404, and why (everything not here must be 404).
CONTRACT: dict[str, tuple[set[int], str]] = {
    "GET /api/v1/users/{user_id}": ({200}, "the public view of any user (CONTRACT: identity)"),
    "PATCH /api/v1/admin/users/{user_id}": ({403}, "staff only, 403 otherwise"),
    "GET /api/v1/files/{file_id}/download": ({403}, "a signed URL: unsigned or tampered is 403"),
}
PUBLIC_REFUSALS = {401, 403, 404}  # a public route authenticates its own way


async def test_no_route_lets_another_team_see_or_touch_anything(
    api: httpx.AsyncClient, platform: str
) -> None:
    doc = (await api.get("/openapi.json")).json()
    alice = await build_world(api, "alice")
    bob = await new_user(api, "bob")
    r = await api.post("/api/v1/teams", json={"name": "Bob's"}, headers=bob["headers"])
    assert r.status_code == 201, r.text
    values = {**alice.values, **alice.ids}
    bodies = Bodies(doc, alice.ids)

    unfillable = sorted(
        f"{op}: {{{name}}}"
        for op in operations(doc)
        for name in op.id_params()
        if name not in CREATORS
    )
    assert not unfillable, f"say in verify_world.CREATORS how to make: {unfillable}"

    tried: list[str] = []
    wrong: list[str] = []
    for op in operations(doc):
        if not op.id_params():
            continue
        key = str(op)
        expected, _why = CONTRACT.get(key, ({404}, ""))
        if op.public and key not in CONTRACT:
            expected = PUBLIC_REFUSALS
        r = await api.request(
            op.method.upper(), fill(op.path, values), headers=bob["headers"], **bodies.request(op)
        )
        tried.append(key)
        if r.status_code not in expected:
            wrong.append(f"{key} -> {r.status_code} (want {sorted(expected)}): {r.text[:200]}")
        elif r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json", key
    assert not wrong, "\n".join(wrong)
    assert len(tried) >= 80, tried  # every operation with an id (100 today), not a handful

    # Alice still has everything Bob tried to change or delete
    for name, path in (
        ("team_id", "/api/v1/teams/{team_id}"),
        ("task_id", "/api/v1/tasks/{task_id}"),
        ("message_id", "/api/v1/messages/{message_id}"),
        ("meeting_id", "/api/v1/meetings/{meeting_id}"),
    ):
        r = await api.get(fill(path, alice.ids), headers=alice.owner["headers"])
        assert r.status_code == 200, (name, r.text)

    # the WebSocket routes, from the same document
    sockets: dict[str, Any] = doc.get("x-websockets", {})
    assert "/api/v1/rooms/{room_id}/ws" in sockets
    ws_base = platform.replace("http://", "ws://")
    for path, socket in sockets.items():
        names = socket["parameters"]
        unknown = [n for n in names if n not in CREATORS]
        assert not unknown, f"say in verify_world.CREATORS how to make: {path} {unknown}"
        if not names:
            continue
        url = f"{ws_base}{fill(path, alice.ids)}?token={bob['token']}"
        assert await _socket_refused(url), f"{path}: Bob's socket on Alice's resource was accepted"
        # and Alice's own socket is accepted (the refusal above is about Bob)
        own = f"{ws_base}{fill(path, alice.ids)}?token={alice.owner['token']}"
        assert not await _socket_refused(own), path

    # the signed URL: it works as issued, not for another file, not tampered
    signed = await api.get(alice.file_url)
    assert signed.status_code == 200
    assert signed.content == b"hello"
    other = alice.file_url.replace(alice.ids["file_id"], alice.ids["attachment_id"])
    assert (await api.get(other)).status_code in (403, 404)
    tampered = alice.file_url.replace("signature=", "signature=0")
    assert (await api.get(tampered)).status_code == 403


async def _socket_refused(url: str) -> bool:
    """True when the handshake is refused (an HTTP 4xx) or the socket is closed at once
    with a 4xxx code, before any frame."""
    try:
        async with connect(url, open_timeout=10) as ws:
            try:
                await asyncio.wait_for(ws.recv(), timeout=1.5)
            except TimeoutError:
                return False  # open and quiet: accepted
            except ConnectionClosed as closed:
                return closed.rcvd is not None and 4000 <= closed.rcvd.code < 5000
            return False
    except InvalidStatus as exc:
        return 400 <= exc.response.status_code < 500
    except ConnectionClosed as closed:
        return closed.rcvd is not None and 4000 <= closed.rcvd.code < 5000
