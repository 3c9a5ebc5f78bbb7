"""A revoked access token is refused by every service and the gateway within the README's bound
(no Redis here, as under `make run`: each verifier polls identity's revocation list once a
second): after logout (open sockets closed too, long before their 30 s look-up), after a
deactivation (no more boards), after a demotion (no more analytics rebuild)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import PORTS, RUN_DIRS, new_user

#: what the test waits at most (the bound is ~1 s poll + a round trip; slack for a busy machine)
DEADLINE = 10.0


async def statuses(
    api: httpx.AsyncClient, calls: list[tuple[str, str, dict[str, Any] | None]], token: str
) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for method, url, body in calls:
        out.append((await api.request(method, url, json=body, headers=headers)).status_code)
    return out


async def until_all(
    api: httpx.AsyncClient,
    calls: list[tuple[str, str, dict[str, Any] | None]],
    token: str,
    want: int,
) -> float:
    """Seconds until every call answers ``want``; fails after DEADLINE."""
    started = time.monotonic()
    while True:
        got = await statuses(api, calls, token)
        if all(s == want for s in got):
            return time.monotonic() - started
        if time.monotonic() - started > DEADLINE:
            pytest.fail(f"still {got} after {DEADLINE} s for {calls}")
        await asyncio.sleep(0.1)


async def close_code(sock: Any, within: float) -> int | None:
    """The code the server closed ``sock`` with, reading (and dropping) frames until then."""
    try:
        async with asyncio.timeout(max(0.1, within)):
            while True:
                await sock.recv()
    except ConnectionClosed:
        code: int | None = sock.close_code
        return code


def direct(platform: str, service: str, path: str) -> str:
    return f"http://127.0.0.1:{PORTS[platform][service]}{path}"


async def make_staff(platform: str, user_id: str) -> None:
    """Staff is granted in identity's database (there is no route that makes the first one)."""
    lines = (Path(RUN_DIRS[platform]) / "pg" / "postmaster.pid").read_text().splitlines()
    conn = await asyncpg.connect(
        host="127.0.0.1", port=int(lines[3]), user="postgres", database="identity"
    )
    try:
        await conn.execute("UPDATE users SET is_staff = true WHERE id = $1", user_id)
    finally:
        await conn.close()


async def login(api: httpx.AsyncClient, user: dict[str, Any]) -> str:
    r = await api.post(
        "/api/v1/auth/login", json={"username": user["username"], "password": user["password"]}
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def test_logout_is_refused_by_every_service_and_the_gateway(
    api: httpx.AsyncClient, platform: str
) -> None:
    alice = await new_user(api, "revoke")
    h = alice["headers"]
    team = (await api.post("/api/v1/teams", json={"name": "Revoked"}, headers=h)).json()
    board = (
        await api.post(f"/api/v1/teams/{team['id']}/boards", json={"name": "b"}, headers=h)
    ).json()
    room = (
        await api.post(f"/api/v1/teams/{team['id']}/rooms", json={"name": "r"}, headers=h)
    ).json()
    reads = [
        f"/api/v1/teams/{team['id']}",
        f"/api/v1/boards/{board['id']}",
        f"/api/v1/rooms/{room['id']}/messages",
        "/api/v1/focus/sessions",
        "/api/v1/users/me/analytics",
        "/api/v1/users/me",
    ]
    owners = ["teams", "tasks", "chat", "focus", "analytics", "identity"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [("GET", p, None) for p in reads]
    calls += [("GET", direct(platform, s, p), None) for s, p in zip(owners, reads, strict=True)]
    assert await statuses(api, calls, alice["token"]) == [200] * len(calls)
    ws = platform.replace("http", "ws")
    token = alice["token"]
    async with (
        connect(f"{ws}/api/v1/ws?token={token}") as live,
        connect(f"{ws}/api/v1/rooms/{room['id']}/ws?token={token}") as in_room,
    ):
        await live.recv()  # "ready": the sockets are open and authenticated
        await in_room.recv()
        r = await api.post(
            "/api/v1/auth/logout", json={"refresh_token": alice["refresh_token"]}, headers=h
        )
        assert r.status_code == 204
        started = time.monotonic()
        took = await until_all(api, calls, token, 401)
        for sock in (live, in_room):  # closed by the pushed revocation, unprompted
            assert await close_code(sock, DEADLINE - (time.monotonic() - started)) == 4401
        closed = time.monotonic() - started
    print(f"logout refused everywhere after {took:.2f} s, sockets closed after {closed:.2f} s")  # noqa: T201
    # a new sign-in works everywhere again
    assert await statuses(api, calls, await login(api, alice)) == [200] * len(calls)


async def test_a_deactivated_user_creates_nothing_and_a_demoted_one_rebuilds_nothing(
    api: httpx.AsyncClient, platform: str
) -> None:
    staff = await new_user(api, "staff")
    bob = await new_user(api, "deact")
    carol = await new_user(api, "demote")
    await make_staff(platform, staff["id"])
    await make_staff(platform, carol["id"])
    staff_h = {"Authorization": f"Bearer {await login(api, staff)}"}
    carol_token = await login(api, carol)
    team = (await api.post("/api/v1/teams", json={"name": "Deact"}, headers=bob["headers"])).json()
    boards = f"/api/v1/teams/{team['id']}/boards"
    rebuild = "/api/v1/admin/analytics/rebuild"
    span = {"from": "2026-01-01", "to": "2026-01-02"}
    create: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", boards, {"name": "x"}),
        ("POST", direct(platform, "tasks", boards), {"name": "x"}),
    ]
    admin: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", rebuild, span),
        ("POST", direct(platform, "analytics", rebuild), span),
    ]
    assert await statuses(api, create, bob["token"]) == [201, 201]
    assert await statuses(api, admin, carol_token) == [200, 200]

    r = await api.patch(
        f"/api/v1/admin/users/{bob['id']}", json={"is_active": False}, headers=staff_h
    )
    assert r.status_code == 200, r.text
    r = await api.patch(
        f"/api/v1/admin/users/{carol['id']}", json={"is_staff": False}, headers=staff_h
    )
    assert r.status_code == 200, r.text
    took = await until_all(api, create, bob["token"], 401)
    took = max(took, await until_all(api, admin, carol_token, 401))
    print(f"deactivation and demotion refused everywhere after {took:.2f} s")  # noqa: T201
    # carol signs in again, as the member she now is
    assert await statuses(api, admin, await login(api, carol)) == [403, 403]
    r = await api.post(
        "/api/v1/auth/login", json={"username": bob["username"], "password": bob["password"]}
    )
    assert r.status_code == 401
