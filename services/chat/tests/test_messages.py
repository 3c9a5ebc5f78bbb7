from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection
from teams_client.testing import Team

from .conftest import create_room
from .test_rooms import outbox


async def test_post_and_history(
    client: httpx.AsyncClient, team: Team, db_connection: AsyncConnection
) -> None:
    room = await create_room(client, team)
    url = f"/api/v1/rooms/{room}/messages"
    ids = []
    for i in range(5):
        resp = await client.post(url, json={"content": f"m{i}"}, headers=team.member.headers)
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert resp.headers["Location"] == f"/api/v1/messages/{body['id']}"
        assert body["user_id"] == str(team.member.id)
        assert body["room_id"] == room
        assert body["timestamp"].endswith("Z")
        assert body["edited_at"] is None
        assert body["deleted_at"] is None
        ids.append(body["id"])
    assert ids == sorted(ids)  # UUIDv7: ids sort by time

    page = (await client.get(f"{url}?limit=2", headers=team.admin.headers)).json()
    assert [m["content"] for m in page["items"]] == ["m4", "m3"]
    assert page["next_cursor"] == ids[3]
    page2 = (
        await client.get(f"{url}?limit=2&before={page['next_cursor']}", headers=team.admin.headers)
    ).json()
    assert [m["content"] for m in page2["items"]] == ["m2", "m1"]
    page3 = (
        await client.get(f"{url}?cursor={page2['next_cursor']}", headers=team.admin.headers)
    ).json()
    assert [m["content"] for m in page3["items"]] == ["m0"]
    assert page3["next_cursor"] is None

    assert (
        await client.get(f"{url}?before={uuid.uuid4()}", headers=team.admin.headers)
    ).status_code == 422
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404
    assert (
        await client.post(url, json={"content": "x"}, headers=team.outsider.headers)
    ).status_code == 404

    events = await outbox(db_connection, "chat.message.posted", team)
    assert [e["data"]["message_id"] for e in events] == ids
    assert events[0]["data"] == {
        "message_id": ids[0],
        "room_id": room,
        "team_id": str(team.id),
        "user_id": str(team.member.id),
        "timestamp": events[0]["data"]["timestamp"],
    }
    assert all("m0" not in str(e) for e in events)  # never the text


async def test_the_usernames_a_message_mentions_travel_with_its_event(
    client: httpx.AsyncClient, team: Team, db_connection: AsyncConnection
) -> None:
    room = await create_room(client, team)
    content = "@ann_1 see this, @Bob.smith. and @ann_1 again; mail me@example.org, x@ y"
    resp = await client.post(
        f"/api/v1/rooms/{room}/messages", json={"content": content}, headers=team.member.headers
    )
    assert resp.status_code == 201, resp.text
    [event] = await outbox(db_connection, "chat.message.posted", team)
    assert event["data"]["mentions"] == ["ann_1", "Bob.smith."]
    assert "see this" not in str(event)


async def test_content_length(client: httpx.AsyncClient, team: Team) -> None:
    room = await create_room(client, team)
    url = f"/api/v1/rooms/{room}/messages"
    h = team.member.headers
    for bad in ["", "   \n", "x" * 4001]:
        resp = await client.post(url, json={"content": bad}, headers=h)
        assert resp.status_code == 422, bad[:10]
        assert resp.json()["errors"][0]["loc"][-1] == "content"
    assert (await client.post(url, json={}, headers=h)).status_code == 422
    assert (await client.post(url, json={"content": "x" * 4000}, headers=h)).status_code == 201
    assert (await client.post(url, json={"content": "é"}, headers=h)).status_code == 201


async def test_edit_and_delete(client: httpx.AsyncClient, team: Team) -> None:
    room = await create_room(client, team)
    url = f"/api/v1/rooms/{room}/messages"
    mine = (await client.post(url, json={"content": "typo"}, headers=team.member.headers)).json()
    murl = f"/api/v1/messages/{mine['id']}"
    assert (
        await client.patch(murl, json={"content": "x"}, headers=team.admin.headers)
    ).status_code == 403
    assert (
        await client.patch(murl, json={"content": "x"}, headers=team.outsider.headers)
    ).status_code == 404
    assert (
        await client.patch(murl, json={"content": ""}, headers=team.member.headers)
    ).status_code == 422
    edited = await client.patch(murl, json={"content": "fixed"}, headers=team.member.headers)
    assert edited.status_code == 200
    assert edited.json()["content"] == "fixed"
    assert edited.json()["edited_at"] is not None

    other = (await client.post(url, json={"content": "x"}, headers=team.owner.headers)).json()
    # a member may not delete someone else's message; the author may delete their own
    assert (
        await client.delete(f"/api/v1/messages/{other['id']}", headers=team.member.headers)
    ).status_code == 403
    assert (await client.delete(murl, headers=team.member.headers)).status_code == 204
    tomb = (await client.get(murl, headers=team.admin.headers)).json()
    assert tomb["deleted_at"] is not None
    assert tomb["content"] == ""
    assert (
        await client.patch(murl, json={"content": "again"}, headers=team.member.headers)
    ).status_code == 409
    assert (await client.delete(murl, headers=team.member.headers)).status_code == 204
    # an admin deletes anyone's message
    third = (await client.post(url, json={"content": "spam"}, headers=team.member.headers)).json()
    assert (
        await client.delete(f"/api/v1/messages/{third['id']}", headers=team.admin.headers)
    ).status_code == 204
    history = (await client.get(url, headers=team.member.headers)).json()["items"]
    assert [(m["content"], m["deleted_at"] is not None) for m in history] == [
        ("", True),
        ("x", False),
        ("", True),
    ]


async def test_rate_limit(client: httpx.AsyncClient, team: Team) -> None:
    room = await create_room(client, team)
    url = f"/api/v1/rooms/{room}/messages"
    codes = [
        (await client.post(url, json={"content": f"{i}"}, headers=team.member.headers))
        for i in range(21)
    ]
    assert [r.status_code for r in codes[:20]] == [201] * 20
    assert codes[20].status_code == 429
    assert 1 <= int(codes[20].headers["Retry-After"]) <= 10
    # per user: another member still posts
    assert (
        await client.post(url, json={"content": "hi"}, headers=team.admin.headers)
    ).status_code == 201


async def test_presence_is_for_members(client: httpx.AsyncClient, team: Team) -> None:
    url = f"/api/v1/teams/{team.id}/presence"
    resp = await client.get(url, headers=team.member.headers)
    assert resp.status_code == 200
    assert resp.json() == {"team_id": str(team.id), "items": [], "online": []}
    assert (await client.get(url, headers=team.outsider.headers)).status_code == 404


async def test_after_commit_runs_only_after_commit(db_engine: object) -> None:
    from chat.aftercommit import after_commit
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    assert isinstance(db_engine, AsyncEngine)
    ran: list[str] = []

    async def mark(tag: str) -> None:
        ran.append(tag)

    async with AsyncSession(db_engine) as session:
        await session.execute(text("SELECT 1"))
        after_commit(session, lambda: mark("rolled back"))
        await session.rollback()
        after_commit(session, lambda: mark("committed"))
        assert ran == []
        await session.commit()
    await asyncio.sleep(0.05)
    assert ran == ["committed"]
