"""Comments: members write them; only the author edits one; the author or an admin deletes it;
a new one is ``tasks.comment.added``."""

from __future__ import annotations

from typing import Any

import httpx
from teams_client.testing import FakeTeams, Team, member_removed
from vc_common.testing.plugin import Deliver, ReadOutbox

from ..kanban import activity, col, create_task


async def test_comments_author_rules_and_event(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any], outbox: ReadOutbox
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    c = await client.post(
        f"/api/v1/tasks/{t['id']}/comments", json={"content": " LGTM "}, headers=team.member.headers
    )
    assert c.status_code == 201
    assert c.headers["location"] == f"/api/v1/comments/{c.json()['id']}"
    assert (c.json()["content"], c.json()["user_id"]) == ("LGTM", str(team.member.id))
    [added] = await outbox("tasks.comment.added", c.json()["id"])
    assert added["data"]["task_id"] == t["id"]
    assert added["data"]["team_id"] == str(team.id)
    assert added["data"]["user_id"] == str(team.member.id)
    assert added["data"]["content"] == "LGTM"
    cu = f"/api/v1/comments/{c.json()['id']}"
    for who in (team.admin, team.owner, team.other):  # not the author: however high the role
        assert (
            await client.patch(cu, json={"content": "hijack"}, headers=who.headers)
        ).status_code == 403
    assert (
        await client.patch(cu, json={"content": "x"}, headers=team.outsider.headers)
    ).status_code == 404
    r = await client.patch(cu, json={"content": "LGTM!"}, headers=team.member.headers)
    assert r.status_code == 200
    assert r.json()["content"] == "LGTM!"
    assert (await client.get(cu, headers=team.other.headers)).json()["content"] == "LGTM!"
    assert (await client.delete(cu, headers=team.other.headers)).status_code == 403
    listed = (
        await client.get(f"/api/v1/tasks/{t['id']}/comments", headers=team.other.headers)
    ).json()
    assert [x["content"] for x in listed["items"]] == ["LGTM!"]
    assert (await client.delete(cu, headers=team.admin.headers)).status_code == 204
    assert (await client.get(cu, headers=team.member.headers)).status_code == 404
    own = (
        await client.post(
            f"/api/v1/tasks/{t['id']}/comments",
            json={"content": "mine"},
            headers=team.other.headers,
        )
    ).json()
    assert (
        await client.delete(f"/api/v1/comments/{own['id']}", headers=team.other.headers)
    ).status_code == 204
    assert (
        await client.post(
            f"/api/v1/tasks/{t['id']}/comments", json={"content": ""}, headers=team.member.headers
        )
    ).status_code == 422
    assert [a["action"] for a in await activity(client, t["id"], team.member)] == [
        "created",
        "commented",
        "comment_deleted",
        "commented",
        "comment_deleted",
    ]


async def test_comments_are_listed_oldest_first_in_pages(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}/comments"
    for i in range(3):
        await client.post(url, json={"content": f"c{i}"}, headers=team.member.headers)
    first = (await client.get(url, params={"limit": 2}, headers=team.other.headers)).json()
    rest = (
        await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=team.other.headers
        )
    ).json()
    assert [c["content"] for c in first["items"] + rest["items"]] == ["c0", "c1", "c2"]
    assert rest["next_cursor"] is None


async def test_an_author_who_left_the_team_no_longer_edits(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    fake_teams: FakeTeams,
    deliver: Deliver,
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    c = (
        await client.post(
            f"/api/v1/tasks/{t['id']}/comments", json={"content": "hi"}, headers=team.other.headers
        )
    ).json()
    fake_teams.remove(team.id, team.other.id)
    assert await deliver(member_removed(team.id, team.other))
    r = await client.patch(
        f"/api/v1/comments/{c['id']}", json={"content": "edited"}, headers=team.other.headers
    )
    assert r.status_code == 404
    assert (
        await client.delete(f"/api/v1/comments/{c['id']}", headers=team.other.headers)
    ).status_code == 404
    # an admin still may delete it
    assert (
        await client.delete(f"/api/v1/comments/{c['id']}", headers=team.admin.headers)
    ).status_code == 204
