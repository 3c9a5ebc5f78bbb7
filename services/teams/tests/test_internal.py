"""The internal read-through route: answers a user about themself, or a member about another
member of the same team; 404 for everyone else. It is not in the public OpenAPI."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]


def url(team_id: Any, user_id: Any) -> str:
    return f"/internal/v1/teams/{team_id}/members/{user_id}"


async def test_internal_membership_route(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    owner, member, outsider = make_user(), make_user(), make_user()
    team = await make_team(owner, [(member, "member")])
    tid = team["id"]

    me = await client.get(url(tid, member.id), headers=member.headers)
    assert me.status_code == 200
    body = me.json()
    assert (body["team_id"], body["user_id"], body["role"], body["seq"]) == (
        tid,
        str(member.id),
        "member",
        2,
    )
    about_owner = await client.get(url(tid, owner.id), headers=member.headers)
    assert about_owner.json()["role"] == "owner"

    # an outsider learns nothing: about a member, about themself, about a missing team
    assert (await client.get(url(tid, owner.id), headers=outsider.headers)).status_code == 404
    assert (await client.get(url(tid, outsider.id), headers=outsider.headers)).status_code == 404
    assert (
        await client.get(url(uuid.uuid4(), outsider.id), headers=outsider.headers)
    ).status_code == 404
    # a member asking about a non-member: 404
    assert (await client.get(url(tid, outsider.id), headers=member.headers)).status_code == 404


async def test_internal_route_is_not_public(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert all(not p.startswith("/internal") for p in spec["paths"])
    ops = {op["operationId"] for p in spec["paths"].values() for op in p.values()}
    assert {
        "create_team",
        "list_teams",
        "get_team",
        "update_team",
        "delete_team",
        "list_members",
        "add_member",
        "get_member",
        "change_member_role",
        "remove_member",
        "transfer_ownership",
    } <= ops
