from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from teams_client.testing import Team
from vc_common.events.contracts import validate_event


async def outbox(db: AsyncConnection, type_: str, team: Team) -> list[dict[str, Any]]:
    """The team's events of ``type_`` (validated against their contract), in outbox order."""
    rows = await db.execute(
        text(
            "SELECT payload FROM outbox WHERE type = :t AND payload->'data'->>'team_id' = :team"
            " ORDER BY seq"
        ),
        {"t": type_, "team": str(team.id)},
    )
    payloads = [dict(r[0]) for r in rows]
    for p in payloads:
        validate_event(p)
    return payloads


async def test_admin_creates_room_members_list_it(
    client: httpx.AsyncClient, team: Team, db_connection: AsyncConnection
) -> None:
    resp = await client.post(
        f"/api/v1/teams/{team.id}/rooms", json={"name": "General"}, headers=team.admin.headers
    )
    assert resp.status_code == 201, resp.text
    room = resp.json()
    assert resp.headers["Location"] == f"/api/v1/rooms/{room['id']}"
    assert room["name"] == "General"
    assert room["team_id"] == str(team.id)
    assert set(room) >= {"id", "name", "team_id", "created_at"}
    assert room["created_at"].endswith("Z")

    listed = await client.get(f"/api/v1/teams/{team.id}/rooms", headers=team.member.headers)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["items"]] == [room["id"]]
    assert listed.json()["next_cursor"] is None
    got = await client.get(f"/api/v1/rooms/{room['id']}", headers=team.member.headers)
    assert got.status_code == 200
    assert got.json()["name"] == "General"

    (event,) = await outbox(db_connection, "chat.room.created", team)
    assert event["subject"] == room["id"]
    assert event["data"] == {
        "room_id": room["id"],
        "team_id": str(team.id),
        "name": "General",
        "user_id": str(team.admin.id),
    }


async def test_room_rules(client: httpx.AsyncClient, team: Team) -> None:
    url = f"/api/v1/teams/{team.id}/rooms"
    member = await client.post(url, json={"name": "x"}, headers=team.member.headers)
    assert member.status_code == 403
    outsider = await client.post(url, json={"name": "x"}, headers=team.outsider.headers)
    assert outsider.status_code == 404
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
    assert (
        await client.post(url, json={"name": ""}, headers=team.admin.headers)
    ).status_code == 422
    assert (
        await client.post(url, json={"name": "a" * 101}, headers=team.admin.headers)
    ).status_code == 422
    ok = await client.post(url, json={"name": "random"}, headers=team.owner.headers)
    assert ok.status_code == 201
    dup = await client.post(url, json={"name": "Random"}, headers=team.admin.headers)
    assert dup.status_code == 409
    assert dup.headers["content-type"].startswith("application/problem+json")
    room_id = ok.json()["id"]
    assert (
        await client.get(f"/api/v1/rooms/{room_id}", headers=team.outsider.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/rooms/{uuid.uuid4()}", headers=team.member.headers)
    ).status_code == 404


async def test_admin_renames_and_deletes(
    client: httpx.AsyncClient, team: Team, db_connection: AsyncConnection
) -> None:
    room = (
        await client.post(
            f"/api/v1/teams/{team.id}/rooms", json={"name": "old"}, headers=team.admin.headers
        )
    ).json()
    url = f"/api/v1/rooms/{room['id']}"
    assert (
        await client.patch(url, json={"name": "new"}, headers=team.member.headers)
    ).status_code == 403
    assert (
        await client.patch(url, json={"name": "new"}, headers=team.outsider.headers)
    ).status_code == 404
    renamed = await client.patch(url, json={"name": "new"}, headers=team.admin.headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "new"
    (updated,) = await outbox(db_connection, "chat.room.updated", team)
    assert updated["data"]["changes"] == {"name": {"from": "old", "to": "new"}}

    await client.post(f"{url}/messages", json={"content": "hi"}, headers=team.member.headers)
    assert (await client.delete(url, headers=team.member.headers)).status_code == 403
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 204
    assert (await client.get(url, headers=team.admin.headers)).status_code == 404
    assert (await client.get(f"{url}/messages", headers=team.admin.headers)).status_code == 404
    (deleted,) = await outbox(db_connection, "chat.room.deleted", team)
    assert deleted["data"]["reason"] == "deleted"
    assert deleted["data"]["user_id"] == str(team.admin.id)


async def test_team_deleted_takes_its_rooms(
    client: httpx.AsyncClient, team: Team, db_connection: AsyncConnection
) -> None:
    from chat.consumers import consumer
    from chat.models import Message, Room
    from vc_common.db import Database
    from vc_common.events.envelope import CloudEvent

    room = (
        await client.post(
            f"/api/v1/teams/{team.id}/rooms", json={"name": "doomed"}, headers=team.admin.headers
        )
    ).json()
    await client.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"content": "bye"}, headers=team.member.headers
    )
    db = Database.from_engine(
        db_connection,
        join_transaction_mode="create_savepoint",
    )
    event = CloudEvent(
        source="teams",
        type="teams.team.deleted",
        subject=str(team.id),
        data={"team_id": str(team.id), "user_id": str(team.owner.id)},
    )
    assert await consumer.handle(db, event) is True
    assert await consumer.handle(db, event) is False  # a redelivery changes nothing
    assert (
        await db_connection.execute(select(Room).where(Room.team_id == team.id))
    ).first() is None
    assert (
        await db_connection.execute(select(Message).where(Message.team_id == team.id))
    ).first() is None
    (deleted,) = await outbox(db_connection, "chat.room.deleted", team)
    assert deleted["data"]["reason"] == "team_deleted"
    assert deleted["data"]["user_id"] is None
    # the team is gone for everyone, also for its former owner
    resp = await client.get(f"/api/v1/teams/{team.id}/rooms", headers=team.owner.headers)
    assert resp.status_code == 404
