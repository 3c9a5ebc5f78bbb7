"""Consumed events: a removed member's open tasks are unassigned; a deleted team's boards and
labels go with it. Both idempotent by event id."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from tasks.consumers import consumer
from tasks.models import Board, Label
from vc_common.events.envelope import CloudEvent

from .conftest import FakeTeams, Team, create_board, create_task, outbox


async def test_removed_member_is_unassigned_from_open_tasks(
    app: Any,
    client: httpx.AsyncClient,
    team: Team,
    fake_teams: FakeTeams,
    db_connection: AsyncConnection,
) -> None:
    board = await create_board(client, team)
    todo, done = board["columns"][0]["id"], board["columns"][2]["id"]
    gone = str(team.other.id)
    open_task = await create_task(client, todo, team.member, assignee_id=gone)
    finished = await create_task(client, done, team.member, assignee_id=gone)
    kept = await create_task(client, todo, team.member, assignee_id=str(team.member.id))
    await client.get(f"/api/v1/boards/{board['id']}", headers=team.other.headers)  # cached

    fake_teams.members.pop((team.id, team.other.id))
    event = CloudEvent(
        source="teams",
        type="teams.member.removed",
        subject=str(team.id),
        data={
            "team_id": str(team.id),
            "user_id": str(team.admin.id),  # the actor; the member is member_id
            "member_id": gone,
            "role": "member",
            "actor_id": str(team.admin.id),
            "seq": 7,
            "reason": "removed",
        },
    )
    assert await consumer.handle(app.state.db, event) is True
    assert await consumer.handle(app.state.db, event) is False  # a redelivery changes nothing

    async def get(task: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (
            await client.get(f"/api/v1/tasks/{task['id']}", headers=team.member.headers)
        ).json()
        return body

    assert (await get(open_task))["assignee_id"] is None
    assert (await get(open_task))["version"] == 2
    assert (await get(finished))["assignee_id"] == gone  # the record of who did it stays
    assert (await get(kept))["assignee_id"] == str(team.member.id)
    events = await outbox(db_connection, "tasks.task.assigned", open_task["id"])
    assert events[-1]["data"]["assignee_id"] is None
    assert events[-1]["data"]["previous_assignee_id"] == gone
    assert events[-1]["data"]["user_id"] == str(team.admin.id)
    activity = (
        await client.get(f"/api/v1/tasks/{open_task['id']}/activity", headers=team.member.headers)
    ).json()["items"]
    assert activity[-1]["action"] == "unassigned"
    # and the removed member has lost access
    assert (
        await client.get(f"/api/v1/boards/{board['id']}", headers=team.other.headers)
    ).status_code == 404


async def test_deleted_team_takes_its_boards_and_labels(
    app: Any, client: httpx.AsyncClient, team: Team, make_team: Any, db_connection: AsyncConnection
) -> None:
    board = await create_board(client, team)
    await create_task(client, board["columns"][0]["id"], team.member)
    await client.post(
        f"/api/v1/teams/{team.id}/labels",
        json={"name": "bug", "color": "#ff0000"},
        headers=team.admin.headers,
    )
    survivor = make_team()
    kept = await create_board(client, survivor)
    event = CloudEvent(
        source="teams",
        type="teams.team.deleted",
        subject=str(team.id),
        data={
            "team_id": str(team.id),
            "name": "t",
            "user_id": str(team.owner.id),
            "actor_id": str(team.owner.id),
            "member_ids": [],
        },
    )
    assert await consumer.handle(app.state.db, event) is True

    async def count(model: Any, team_id: uuid.UUID) -> int:
        return int(
            (
                await db_connection.execute(
                    select(func.count()).select_from(model).where(model.team_id == team_id)
                )
            ).scalar_one()
        )

    assert await count(Board, team.id) == 0
    assert await count(Label, team.id) == 0
    assert await count(Board, survivor.id) == 1
    assert (
        await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/boards/{kept['id']}", headers=survivor.member.headers)
    ).status_code == 200


async def test_focus_time_shows_on_the_task_history(
    app: Any, client: httpx.AsyncClient, team: Team
) -> None:
    board = await create_board(client, team)
    task = await create_task(client, board["columns"][0]["id"], team.member)
    session_id = str(uuid.uuid4())

    def ended(task_id: str, team_id: str) -> CloudEvent:
        return CloudEvent(
            source="focus",
            type="focus.session.ended",
            subject=session_id,
            data={
                "session_id": session_id,
                "user_id": str(team.member.id),
                "team_id": team_id,
                "task_id": task_id,
                "actual_minutes": 25,
                "end_time": "2026-11-25T10:25:00Z",
            },
        )

    event = ended(task["id"], str(team.id))
    assert await consumer.handle(app.state.db, event) is True
    assert await consumer.handle(app.state.db, event) is False  # once, however often delivered
    # another team's id for this task, and an unknown task, leave no trace
    assert await consumer.handle(app.state.db, ended(task["id"], str(uuid.uuid4()))) is True
    assert await consumer.handle(app.state.db, ended(str(uuid.uuid4()), str(team.id))) is True

    activity = (
        await client.get(f"/api/v1/tasks/{task['id']}/activity", headers=team.member.headers)
    ).json()["items"]
    focused = [a for a in activity if a["action"] == "focused"]
    assert len(focused) == 1
    assert focused[0]["user_id"] == str(team.member.id)
    assert focused[0]["changes"]["focus_minutes"]["to"] == 25
