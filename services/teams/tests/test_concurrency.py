"""Concurrent changes of a team's owners are serialized on the team row: two owners demoting
each other (or both leaving) at the same moment never leave the team without an owner."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine
from teams.users.models import KnownUser
from vc_common.testing.plugin import TestUser


async def two_owner_team(
    live_client: httpx.AsyncClient, database_url: str, a: TestUser, b: TestUser
) -> str:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(insert(KnownUser).values(id=b.id, username=b.username))
    await engine.dispose()
    team = (
        await live_client.post("/api/v1/teams", json={"name": "Race"}, headers=a.headers)
    ).json()
    resp = await live_client.post(
        f"/api/v1/teams/{team['id']}/members",
        json={"user_id": str(b.id), "role": "owner"},
        headers=a.headers,
    )
    assert resp.status_code == 201
    return str(team["id"])


async def owners(live_client: httpx.AsyncClient, team_id: str, who: TestUser) -> list[str]:
    resp = await live_client.get(f"/api/v1/teams/{team_id}/members", headers=who.headers)
    return [m["user_id"] for m in resp.json()["items"] if m["role"] == "owner"]


async def test_two_owners_demoting_each_other_at_once(
    live_client: httpx.AsyncClient,
    database_url: str,
    make_user: Callable[..., TestUser],
) -> None:
    for _ in range(5):
        a, b = make_user(), make_user()
        tid = await two_owner_team(live_client, database_url, a, b)
        results = await asyncio.gather(
            live_client.patch(
                f"/api/v1/teams/{tid}/members/{b.id}", json={"role": "admin"}, headers=a.headers
            ),
            live_client.patch(
                f"/api/v1/teams/{tid}/members/{a.id}", json={"role": "admin"}, headers=b.headers
            ),
        )
        codes = sorted(r.status_code for r in results)
        assert codes in ([200, 409], [200, 403]), [r.text for r in results]
        assert len(await owners(live_client, tid, a)) == 1


async def test_two_owners_leaving_at_once(
    live_client: httpx.AsyncClient,
    database_url: str,
    make_user: Callable[..., TestUser],
) -> None:
    for _ in range(5):
        a, b = make_user(), make_user()
        tid = await two_owner_team(live_client, database_url, a, b)
        results = await asyncio.gather(
            live_client.delete(f"/api/v1/teams/{tid}/members/{a.id}", headers=a.headers),
            live_client.delete(f"/api/v1/teams/{tid}/members/{b.id}", headers=b.headers),
        )
        assert sorted(r.status_code for r in results) == [204, 409]
        stayer = a if results[1].status_code == 204 else b
        assert await owners(live_client, tid, stayer) == [str(stayer.id)]
        team = (await live_client.get(f"/api/v1/teams/{tid}", headers=stayer.headers)).json()
        assert team["owner_id"] == str(stayer.id)
        assert uuid.UUID(team["id"])
