"""Attachments: a URL and a file name on a task; members attach, the uploader or an admin
removes one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from teams_client.testing import Team

from ..kanban import activity, col, create_task, get_task

SPEC = {"file_url": "https://files.example/spec.pdf", "filename": "spec.pdf"}


async def test_attach_list_and_remove(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}/attachments"
    a = await client.post(url, json=SPEC, headers=team.member.headers)
    assert a.status_code == 201
    att = a.json()
    assert a.headers["location"] == f"{url}/{att['id']}"
    assert (att["task_id"], att["file_url"], att["filename"], att["uploaded_by_id"]) == (
        t["id"],
        SPEC["file_url"],
        "spec.pdf",
        str(team.member.id),
    )
    await client.post(
        url,
        json={"file_url": "http://files.example/b.png", "filename": "b.png"},
        headers=team.other.headers,
    )
    detail = await get_task(client, t["id"], team.member)
    assert [x["filename"] for x in detail["attachments"]] == ["spec.pdf", "b.png"]
    assert detail["version"] == 1
    first = (await client.get(url, params={"limit": 1}, headers=team.other.headers)).json()
    rest = (
        await client.get(
            url, params={"limit": 1, "cursor": first["next_cursor"]}, headers=team.other.headers
        )
    ).json()
    assert [x["filename"] for x in first["items"] + rest["items"]] == ["spec.pdf", "b.png"]
    mine = f"{url}/{att['id']}"
    assert (await client.delete(mine, headers=team.other.headers)).status_code == 403
    assert (await client.delete(mine, headers=team.outsider.headers)).status_code == 404
    assert (await client.delete(mine, headers=team.member.headers)).status_code == 204
    assert (await client.delete(mine, headers=team.member.headers)).status_code == 404
    detail = await get_task(client, t["id"], team.member)
    assert [x["filename"] for x in detail["attachments"]] == ["b.png"]
    assert [i["action"] for i in await activity(client, t["id"], team.member)] == [
        "created",
        "attachment_added",
        "attachment_added",
        "attachment_removed",
    ]


async def test_an_admin_removes_anyones_attachment(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    att = (
        await client.post(
            f"/api/v1/tasks/{t['id']}/attachments", json=SPEC, headers=team.member.headers
        )
    ).json()
    url = f"/api/v1/tasks/{t['id']}/attachments/{att['id']}"
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 204
    assert (await get_task(client, t["id"], team.member))["attachments"] == []


async def test_attachments_are_checked(
    client: httpx.AsyncClient, team: Team, board: dict[str, Any]
) -> None:
    t = await create_task(client, col(board, 0), team.member)
    other = await create_task(client, col(board, 0), team.member)
    url = f"/api/v1/tasks/{t['id']}/attachments"
    for body in (
        {"file_url": "javascript:alert(1)", "filename": "x"},
        {"file_url": "https://files.example/a b", "filename": "x"},
        {"file_url": "https://files.example/a", "filename": ""},
    ):
        assert (await client.post(url, json=body, headers=team.member.headers)).status_code == 422
    att = (await client.post(url, json=SPEC, headers=team.member.headers)).json()
    # an attachment is only reached through its own task
    wrong = f"/api/v1/tasks/{other['id']}/attachments/{att['id']}"
    assert (await client.delete(wrong, headers=team.member.headers)).status_code == 404
    unknown = f"/api/v1/tasks/{t['id']}/attachments/{uuid.uuid4()}"
    assert (await client.delete(unknown, headers=team.admin.headers)).status_code == 404
    assert len((await get_task(client, t["id"], team.member))["attachments"]) == 1
