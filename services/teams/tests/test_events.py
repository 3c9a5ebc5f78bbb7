"""What teams publishes: every change writes its events to the outbox in the same transaction,
each valid against its contract, carrying team_id, user_id (the actor, as for every event),
actor_id (the same), and for teams.member.*: member_id (the member concerned), role, seq."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from vc_common.events.contracts import validate_event
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]
Outbox = Callable[..., Awaitable[list[dict[str, Any]]]]
Known = Callable[..., Awaitable[TestUser]]


async def test_a_team_life_publishes_valid_events_in_order(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    known: Known,
    outbox: Outbox,
) -> None:
    owner, bob = make_user(), await known(make_user())
    team = (await client.post("/api/v1/teams", json={"name": "Ops"}, headers=owner.headers)).json()
    tid = team["id"]
    base = f"/api/v1/teams/{tid}"
    steps = [
        ("PATCH", base, {"name": "Ops team"}),
        ("POST", f"{base}/members", {"user_id": str(bob.id), "role": "member"}),
        ("PATCH", f"{base}/members/{bob.id}", {"role": "admin"}),
        ("POST", f"{base}/transfer-ownership", {"user_id": str(bob.id)}),
        ("DELETE", f"{base}/members/{owner.id}", None),  # the former owner leaves
    ]
    for method, url, body in steps:
        resp = await client.request(method, url, json=body, headers=owner.headers)
        assert resp.status_code < 300, resp.text
    assert (await client.delete(base, headers=bob.headers)).status_code == 204

    events = await outbox(subject=tid)
    for payload in events:
        validate_event(payload)
        assert payload["source"] == "teams"
        assert payload["subject"] == tid
        assert payload["data"]["team_id"] == tid
    summary = [
        (
            e["type"],
            e["data"].get("user_id"),
            e["data"].get("member_id"),
            e["data"].get("role"),
            e["data"].get("seq"),
        )
        for e in events
    ]
    o, b = str(owner.id), str(bob.id)
    # user_id is who acted (the owner, until bob deletes the team), member_id whom it concerns
    assert summary == [
        ("teams.team.created", o, None, None, None),
        ("teams.member.added", o, o, "owner", 1),
        ("teams.team.updated", o, None, None, None),
        ("teams.member.added", o, b, "member", 2),
        ("teams.member.role_changed", o, b, "admin", 3),
        ("teams.member.role_changed", o, b, "owner", 4),
        ("teams.member.role_changed", o, o, "admin", 5),
        ("teams.team.updated", o, None, None, None),
        ("teams.member.removed", o, o, "admin", 6),
        ("teams.team.deleted", b, None, None, None),
    ]
    for e in events:
        assert e["data"]["actor_id"] == e["data"]["user_id"]  # kept for older consumers
    by_type = {e["type"]: e["data"] for e in events}
    assert by_type["teams.team.created"]["owner_id"] == o
    assert by_type["teams.member.added"]["actor_id"] == o
    assert by_type["teams.member.removed"] == {
        **by_type["teams.member.removed"],
        "reason": "left",
        "actor_id": o,
    }
    assert by_type["teams.team.deleted"]["actor_id"] == b
    assert by_type["teams.team.deleted"]["member_ids"] == [b]
    assert events[7]["data"]["changed_fields"] == ["owner_id"]
    assert events[7]["data"]["owner_id"] == b
    assert events[2]["data"]["changed_fields"] == ["name"]


async def test_a_removal_by_an_admin_names_the_actor_and_the_member(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    outbox: Outbox,
) -> None:
    owner, admin, member = make_user(), make_user(), make_user()
    team = await make_team(owner, [(admin, "admin"), (member, "member")])
    resp = await client.delete(
        f"/api/v1/teams/{team['id']}/members/{member.id}", headers=admin.headers
    )
    assert resp.status_code == 204, resp.text
    [removed] = await outbox("teams.member.removed", subject=team["id"])
    validate_event(removed)
    data = removed["data"]
    assert (data["user_id"], data["actor_id"], data["member_id"]) == (
        str(admin.id),
        str(admin.id),
        str(member.id),
    )
    assert (data["role"], data["reason"]) == ("member", "removed")


async def test_a_refused_change_publishes_nothing(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    outbox: Outbox,
) -> None:
    owner, member = make_user(), make_user()
    team = await make_team(owner, [(member, "member")])
    before = await outbox(subject=team["id"])
    refused = [
        ("PATCH", f"/api/v1/teams/{team['id']}", {"name": "x"}, member),
        ("DELETE", f"/api/v1/teams/{team['id']}/members/{owner.id}", None, owner),  # last owner
        ("PATCH", f"/api/v1/teams/{team['id']}/members/{owner.id}", {"role": "member"}, owner),
        ("DELETE", f"/api/v1/teams/{team['id']}", None, member),
    ]
    for method, url, body, who in refused:
        resp = await client.request(method, url, json=body, headers=who.headers)
        assert resp.status_code in (403, 409), resp.text
    assert await outbox(subject=team["id"]) == before


async def test_no_op_updates_publish_nothing(
    client: httpx.AsyncClient,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    outbox: Outbox,
) -> None:
    owner, member = make_user(), make_user()
    team = await make_team(owner, [(member, "member")])
    before = await outbox(subject=team["id"])
    assert (
        await client.patch(
            f"/api/v1/teams/{team['id']}", json={"name": "Team"}, headers=owner.headers
        )
    ).status_code == 200
    assert (
        await client.patch(
            f"/api/v1/teams/{team['id']}/members/{member.id}",
            json={"role": "member"},
            headers=owner.headers,
        )
    ).status_code == 200
    assert await outbox(subject=team["id"]) == before
