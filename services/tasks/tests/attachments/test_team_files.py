"""Attachments by ``file_id``: tasks learns the team's files from files.file.uploaded / .deleted,
or, for a file just uploaded whose event is still on the way, from the files service itself; a
file of another team (or one nobody knows) is a 422; a deleted file disappears from its tasks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import Deliver

from ..files_standin import FakeFiles
from ..kanban import create_board, create_task


def uploaded(team_id: uuid.UUID, user_id: uuid.UUID, name: str = "spec.pdf") -> dict[str, Any]:
    return {
        "file_id": str(uuid.uuid4()),
        "team_id": str(team_id),
        "user_id": str(user_id),
        "size": 1234,
        "name": name,
        "content_type": "application/pdf",
        "sha256": "0" * 64,
    }


async def test_a_team_file_attaches_and_goes_when_the_file_is_deleted(
    client: httpx.AsyncClient, team: Team, make_team: Any, deliver: Deliver
) -> None:
    board = await create_board(client, team)
    task = await create_task(client, board["columns"][0]["id"], team.member)
    url = f"/api/v1/tasks/{task['id']}/attachments"
    mine = uploaded(team.id, team.other.id)
    assert await deliver("files.file.uploaded", mine, subject=mine["file_id"])

    a = await client.post(url, json={"file_id": mine["file_id"]}, headers=team.member.headers)
    assert a.status_code == 201, a.text
    body = a.json()
    assert body["file_id"] == mine["file_id"]
    assert body["filename"] == "spec.pdf"
    assert body["file_url"] == f"/api/v1/files/{mine['file_id']}/content"
    assert body["uploaded_by_id"] == str(team.member.id)
    detail = (await client.get(f"/api/v1/tasks/{task['id']}", headers=team.member.headers)).json()
    assert [x["file_id"] for x in detail["attachments"]] == [mine["file_id"]]

    other_team = make_team()
    theirs = uploaded(other_team.id, other_team.member.id)
    assert await deliver("files.file.uploaded", theirs, subject=theirs["file_id"])
    for file_id in (theirs["file_id"], str(uuid.uuid4())):
        refused = await client.post(url, json={"file_id": file_id}, headers=team.member.headers)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "file_id"]
    assert (await client.post(url, json={}, headers=team.member.headers)).status_code == 422

    deleted = {**mine, "user_id": str(team.admin.id), "reason": "deleted"}
    assert await deliver("files.file.deleted", deleted, subject=mine["file_id"])
    detail = (await client.get(f"/api/v1/tasks/{task['id']}", headers=team.member.headers)).json()
    assert detail["attachments"] == []
    history = await client.get(f"/api/v1/tasks/{task['id']}/activity", headers=team.member.headers)
    assert history.status_code == 200
    assert "attachment_removed" in [h["action"] for h in history.json()["items"]]
    # a late (redelivered elsewhere) upload event does not bring the file back
    assert await deliver("files.file.uploaded", mine, subject=mine["file_id"])
    again = await client.post(url, json={"file_id": mine["file_id"]}, headers=team.member.headers)
    assert again.status_code == 422


async def test_a_file_attached_before_its_event_arrives_is_asked_of_the_files_service(
    client: httpx.AsyncClient, team: Team, make_team: Any, fake_files: FakeFiles, deliver: Deliver
) -> None:
    """Upload, then attach at once (the web client does): files.file.uploaded has not reached
    tasks yet, so tasks asks files with the caller's token and learns the file."""
    board = await create_board(client, team)
    task = await create_task(client, board["columns"][0]["id"], team.member)
    url = f"/api/v1/tasks/{task['id']}/attachments"
    fresh = fake_files.store(team.id, {team.member.id, team.admin.id}, "brief.txt")
    a = await client.post(url, json={"file_id": fresh["id"]}, headers=team.member.headers)
    assert a.status_code == 201, a.text
    assert (a.json()["file_id"], a.json()["filename"]) == (fresh["id"], "brief.txt")
    # learnt: the admin attaches it to another task without a second question
    other = await create_task(client, board["columns"][0]["id"], team.member, title="Other")
    calls = fake_files.calls
    b = await client.post(
        f"/api/v1/tasks/{other['id']}/attachments",
        json={"file_id": fresh["id"]},
        headers=team.admin.headers,
    )
    assert b.status_code == 201, b.text
    assert fake_files.calls == calls
    # the event, when it comes, changes nothing
    event = {**fresh, "file_id": fresh["id"], "user_id": fresh["uploaded_by_id"]}
    assert await deliver("files.file.uploaded", event, subject=fresh["id"])

    # another team's fresh file: files shows it to its own members only, so still a 422
    elsewhere = make_team()
    theirs = fake_files.store(elsewhere.id, {elsewhere.member.id}, "secret.txt")
    refused = await client.post(url, json={"file_id": theirs["id"]}, headers=team.member.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "file_id"]
