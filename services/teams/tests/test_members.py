"""Membership rules beyond the matrix: the last owner, admins and owners, unknown users."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from teams.users.models import KnownUser
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]
Known = Callable[..., Awaitable[TestUser]]


def members_url(team: dict[str, Any], user: TestUser | None = None) -> str:
    base = f"/api/v1/teams/{team['id']}/members"
    return f"{base}/{user.id}" if user else base


async def roles(client: httpx.AsyncClient, team: dict[str, Any], who: TestUser) -> dict[str, str]:
    resp = await client.get(members_url(team), headers=who.headers)
    assert resp.status_code == 200
    return {m["user_id"]: m["role"] for m in resp.json()["items"]}


async def test_add_member_answers_201_with_location(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    known: Known,
) -> None:
    owner, new = make_user(), await known(make_user())
    team = await make_team(owner)
    resp = await client.post(
        members_url(team), json={"user_id": str(new.id)}, headers=owner.headers
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["user_id"] == str(new.id)
    assert body["team_id"] == team["id"]
    assert body["role"] == "member"
    assert body["joined_at"].endswith("Z")
    assert resp.headers["location"] == members_url(team, new)
    assert (await client.get(resp.headers["location"], headers=new.headers)).status_code == 200
    listed = (await client.get("/api/v1/teams", headers=new.headers)).json()["items"]
    assert [(t["id"], t["my_role"]) for t in listed] == [(team["id"], "member")]


async def test_adding_an_existing_member_is_409(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, member = make_user(), make_user()
    team = await make_team(owner, [(member, "member")])
    for who in (member, owner):
        resp = await client.post(
            members_url(team), json={"user_id": str(who.id)}, headers=owner.headers
        )
        assert resp.status_code == 409


async def test_adding_an_unknown_user_is_404(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner = make_user()
    team = await make_team(owner)
    resp = await client.post(
        members_url(team), json={"user_id": str(uuid.uuid4())}, headers=owner.headers
    )
    assert resp.status_code == 404
    assert resp.json()["detail"] == "User not found."


async def test_a_user_teams_has_not_seen_is_asked_of_identity_and_remembered(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    identity_users: dict[uuid.UUID, str],
    db_connection: AsyncConnection,
) -> None:
    owner, fresh = make_user(), make_user()
    identity_users[fresh.id] = fresh.username  # registered; its event has not arrived yet
    team = await make_team(owner)
    resp = await client.post(
        members_url(team), json={"user_id": str(fresh.id)}, headers=owner.headers
    )
    assert resp.status_code == 201, resp.text
    row = (
        await db_connection.execute(
            select(KnownUser.username, KnownUser.is_active, KnownUser.event_time).where(
                KnownUser.id == fresh.id
            )
        )
    ).one()
    assert tuple(row) == (fresh.username, True, None)


async def test_a_deactivated_user_cannot_be_added(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    known: Known,
) -> None:
    owner, gone = make_user(), make_user()
    await known(gone, is_active=False)
    team = await make_team(owner)
    resp = await client.post(
        members_url(team), json={"user_id": str(gone.id)}, headers=owner.headers
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "user_id"]


async def test_bad_role_is_422(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    known: Known,
) -> None:
    owner, new = make_user(), await known(make_user())
    team = await make_team(owner)
    resp = await client.post(
        members_url(team), json={"user_id": str(new.id), "role": "boss"}, headers=owner.headers
    )
    assert resp.status_code == 422
    resp = await client.patch(
        members_url(team, owner), json={"role": "boss"}, headers=owner.headers
    )
    assert resp.status_code == 422


async def test_the_last_owner_can_neither_leave_nor_be_demoted(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, admin = make_user(), make_user()
    team = await make_team(owner, [(admin, "admin")])
    leave = await client.delete(members_url(team, owner), headers=owner.headers)
    assert leave.status_code == 409
    demote = await client.patch(
        members_url(team, owner), json={"role": "admin"}, headers=owner.headers
    )
    assert demote.status_code == 409
    assert (await roles(client, team, owner))[str(owner.id)] == "owner"


async def test_an_owner_may_leave_when_another_owner_remains(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    first, second = make_user(), make_user()
    team = await make_team(first, [(second, "owner")])
    assert (await client.delete(members_url(team, first), headers=first.headers)).status_code == 204
    after = await client.get(f"/api/v1/teams/{team['id']}", headers=second.headers)
    assert after.json()["owner_id"] == str(second.id)  # Team.owner_id moves to an owner
    assert (
        await client.get(f"/api/v1/teams/{team['id']}", headers=first.headers)
    ).status_code == 404
    # now the last owner
    assert (
        await client.delete(members_url(team, second), headers=second.headers)
    ).status_code == 409


async def test_an_admin_cannot_touch_an_owner(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, admin = make_user(), make_user()
    team = await make_team(owner, [(admin, "admin")])
    assert (
        await client.patch(members_url(team, owner), json={"role": "member"}, headers=admin.headers)
    ).status_code == 403
    assert (await client.delete(members_url(team, owner), headers=admin.headers)).status_code == 403
    assert (
        await client.patch(members_url(team, admin), json={"role": "owner"}, headers=admin.headers)
    ).status_code == 403
    assert (await roles(client, team, owner)) == {str(owner.id): "owner", str(admin.id): "admin"}


async def test_admins_manage_members_and_may_step_down(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, admin, member = make_user(), make_user(), make_user()
    team = await make_team(owner, [(admin, "admin"), (member, "member")])
    resp = await client.patch(
        members_url(team, member), json={"role": "admin"}, headers=admin.headers
    )
    assert resp.status_code == 200
    assert resp.json()["role"] == "admin"
    resp = await client.patch(
        members_url(team, admin), json={"role": "member"}, headers=admin.headers
    )
    assert resp.status_code == 200
    # now a plain member: no more member management
    assert (
        await client.delete(members_url(team, member), headers=admin.headers)
    ).status_code == 403


async def test_a_member_may_leave_but_not_remove_others(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, member, other = make_user(), make_user(), make_user()
    team = await make_team(owner, [(member, "member"), (other, "member")])
    assert (
        await client.delete(members_url(team, other), headers=member.headers)
    ).status_code == 403
    assert (
        await client.delete(members_url(team, member), headers=member.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/teams/{team['id']}", headers=member.headers)
    ).status_code == 404


async def test_changing_or_removing_a_non_member_is_404(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, stranger = make_user(), make_user()
    team = await make_team(owner)
    assert (
        await client.patch(
            members_url(team, stranger), json={"role": "admin"}, headers=owner.headers
        )
    ).status_code == 404
    assert (
        await client.delete(members_url(team, stranger), headers=owner.headers)
    ).status_code == 404
    assert (await client.get(members_url(team, stranger), headers=owner.headers)).status_code == 404


async def test_transfer_ownership(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, heir, stranger = make_user(), make_user(), make_user()
    team = await make_team(owner, [(heir, "member")])
    url = f"/api/v1/teams/{team['id']}/transfer-ownership"
    assert (
        await client.post(url, json={"user_id": str(stranger.id)}, headers=owner.headers)
    ).status_code == 422
    assert (
        await client.post(url, json={"user_id": str(owner.id)}, headers=owner.headers)
    ).status_code == 422
    resp = await client.post(url, json={"user_id": str(heir.id)}, headers=owner.headers)
    assert resp.status_code == 200
    assert resp.json()["owner_id"] == str(heir.id)
    assert resp.json()["my_role"] == "admin"
    assert (await roles(client, team, heir)) == {str(owner.id): "admin", str(heir.id): "owner"}
    # the former owner is an admin now: no second transfer
    assert (
        await client.post(url, json={"user_id": str(owner.id)}, headers=owner.headers)
    ).status_code == 403


async def test_members_list_is_paginated(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner = make_user()
    others = [make_user() for _ in range(4)]
    team = await make_team(owner, [(u, "member") for u in others])
    first = (await client.get(members_url(team), params={"limit": 3}, headers=owner.headers)).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = (
        await client.get(
            members_url(team),
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=owner.headers,
        )
    ).json()
    assert rest["next_cursor"] is None
    ids = [m["user_id"] for m in first["items"] + rest["items"]]
    assert ids == [str(u.id) for u in [owner, *others]]
