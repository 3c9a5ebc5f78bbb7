"""Teams: create, list with my_role, read, update, delete; outsiders never learn a team exists."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]


async def test_create_team_makes_the_creator_owner(
    client: httpx.AsyncClient, user: TestUser
) -> None:
    resp = await client.post(
        "/api/v1/teams", json={"name": "  Design  ", "description": "We draw"}, headers=user.headers
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["name"] == "Design"
    assert body["description"] == "We draw"
    assert body["owner_id"] == str(user.id)
    assert body["my_role"] == "owner"
    assert body["created_at"].endswith("Z")
    assert resp.headers["location"] == f"/api/v1/teams/{body['id']}"
    assert uuid.UUID(body["id"]).version == 7

    members = await client.get(f"/api/v1/teams/{body['id']}/members", headers=user.headers)
    assert members.status_code == 200
    assert [(m["user_id"], m["role"]) for m in members.json()["items"]] == [(str(user.id), "owner")]


async def test_create_team_validation(client: httpx.AsyncClient, user: TestUser) -> None:
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "ok", "extra": 1},
    ):
        resp = await client.post("/api/v1/teams", json=body, headers=user.headers)
        assert resp.status_code == 422, body
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["errors"]


async def test_every_route_needs_a_token(client: httpx.AsyncClient) -> None:
    tid = uuid.uuid4()
    for method, path in [
        ("POST", "/api/v1/teams"),
        ("GET", "/api/v1/teams"),
        ("GET", f"/api/v1/teams/{tid}"),
        ("PATCH", f"/api/v1/teams/{tid}"),
        ("DELETE", f"/api/v1/teams/{tid}"),
        ("GET", f"/api/v1/teams/{tid}/members"),
        ("POST", f"/api/v1/teams/{tid}/members"),
        ("PATCH", f"/api/v1/teams/{tid}/members/{tid}"),
        ("DELETE", f"/api/v1/teams/{tid}/members/{tid}"),
        ("POST", f"/api/v1/teams/{tid}/transfer-ownership"),
        ("GET", f"/internal/v1/teams/{tid}/members/{tid}"),
    ]:
        resp = await client.request(method, path, json={})
        assert resp.status_code == 401, (method, path)


async def test_list_my_teams_with_my_role_paginated(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    me, other = make_user(), make_user()
    mine = await make_team(me, name="Mine")
    admin_of = await make_team(other, [(me, "admin")], name="Admin of")
    member_of = await make_team(other, [(me, "member")], name="Member of")
    await make_team(other, name="Not mine")

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/api/v1/teams", params=params, headers=me.headers)
        assert resp.status_code == 200
        page = resp.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(t["id"], t["my_role"]) for t in seen] == [
        (mine["id"], "owner"),
        (admin_of["id"], "admin"),
        (member_of["id"], "member"),
    ]


async def test_bad_cursor_is_422(client: httpx.AsyncClient, user: TestUser) -> None:
    resp = await client.get("/api/v1/teams", params={"cursor": "nonsense"}, headers=user.headers)
    assert resp.status_code == 422


async def test_outsider_gets_404_like_for_a_team_that_does_not_exist(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, outsider = make_user(), make_user()
    team = await make_team(owner)
    missing = await client.get(f"/api/v1/teams/{uuid.uuid4()}", headers=outsider.headers)
    hidden = await client.get(f"/api/v1/teams/{team['id']}", headers=outsider.headers)
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["detail"] == hidden.json()["detail"]


async def test_update_team_applies_only_sent_fields(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner = make_user()
    team = await make_team(owner)
    url = f"/api/v1/teams/{team['id']}"
    resp = await client.patch(url, json={"description": "New"}, headers=owner.headers)
    assert resp.status_code == 200
    assert resp.json()["name"] == "Team"
    assert resp.json()["description"] == "New"
    resp = await client.patch(url, json={"name": None}, headers=owner.headers)
    assert resp.status_code == 422
    resp = await client.get(url, headers=owner.headers)
    assert resp.json()["description"] == "New"


async def test_delete_team_removes_it_and_its_members(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, member = make_user(), make_user()
    team = await make_team(owner, [(member, "member")])
    resp = await client.delete(f"/api/v1/teams/{team['id']}", headers=owner.headers)
    assert resp.status_code == 204
    for who in (owner, member):
        assert (
            await client.get(f"/api/v1/teams/{team['id']}", headers=who.headers)
        ).status_code == 404
        assert (await client.get("/api/v1/teams", headers=who.headers)).json()["items"] == []


async def test_idempotency_key_replays_team_creation(
    client: httpx.AsyncClient, user: TestUser
) -> None:
    headers = {**user.headers, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/api/v1/teams", json={"name": "Once"}, headers=headers)
    again = await client.post("/api/v1/teams", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = (await client.get("/api/v1/teams", headers=user.headers)).json()["items"]
    assert len(listed) == 1
