"""Consumed events: teams' membership events keep the projection the permission checks read; a
removed member's open tasks are unassigned; a deleted team's boards and labels go with it; focus
time shows on a task's history. Each idempotent by event id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from tasks.models import Board, Label
from teams_client.testing import FakeTeams, Team, member_added, member_removed
from vc_common.testing.plugin import Deliver, ReadOutbox, TestUser, make_event

from .kanban import activity, create_board, create_label, create_task, get_task


async def test_removed_member_is_unassigned_from_open_tasks(
    client: httpx.AsyncClient,
    team: Team,
    fake_teams: FakeTeams,
    deliver: Deliver,
    outbox: ReadOutbox,
) -> None:
    board = await create_board(client, team)
    todo, done = board["columns"][0]["id"], board["columns"][2]["id"]
    gone = str(team.other.id)
    open_task = await create_task(client, todo, team.member, assignee_id=gone)
    finished = await create_task(client, done, team.member, assignee_id=gone)
    kept = await create_task(client, todo, team.member, assignee_id=str(team.member.id))
    await client.get(f"/api/v1/boards/{board['id']}", headers=team.other.headers)  # cached

    fake_teams.remove(team.id, team.other.id)
    event = make_event(
        "teams.member.removed",
        {
            "team_id": str(team.id),
            "user_id": str(team.admin.id),  # the actor; the member is member_id
            "member_id": gone,
            "role": "member",
            "actor_id": str(team.admin.id),
            "seq": 7,
            "reason": "removed",
        },
        subject=team.id,
    )
    assert await deliver(event) is True
    assert await deliver(event) is False  # a redelivery changes nothing

    assert (await get_task(client, open_task["id"], team.member))["assignee_id"] is None
    assert (await get_task(client, open_task["id"], team.member))["version"] == 2
    assert (await get_task(client, finished["id"], team.member))["assignee_id"] == gone
    assert (await get_task(client, kept["id"], team.member))["assignee_id"] == str(team.member.id)
    events = await outbox("tasks.task.assigned", open_task["id"])
    assert len(events) == 2  # at create, and the unassignment (not twice)
    assert events[-1]["data"]["assignee_id"] is None
    assert events[-1]["data"]["previous_assignee_id"] == gone
    assert events[-1]["data"]["user_id"] == str(team.admin.id)
    assert events[-1]["data"]["reason"] == "member_removed"
    last = (await activity(client, open_task["id"], team.member))[-1]
    assert last["action"] == "unassigned"
    assert last["user_id"] == str(team.admin.id)
    # and the removed member has lost access, and cannot be assigned again
    assert (
        await client.get(f"/api/v1/boards/{board['id']}", headers=team.other.headers)
    ).status_code == 404
    r = await client.post(
        f"/api/v1/columns/{todo}/tasks",
        json={"title": "x", "assignee_id": gone},
        headers=team.member.headers,
    )
    assert r.status_code == 422


async def test_a_member_added_by_event_is_let_in_without_asking_teams(
    client: httpx.AsyncClient,
    team: Team,
    board: dict[str, Any],
    make_user: Callable[..., TestUser],
    deliver: Deliver,
) -> None:
    newcomer = make_user()  # unknown to the teams stand-in: only the event tells tasks
    url = f"/api/v1/boards/{board['id']}"
    assert (await client.get(url, headers=newcomer.headers)).status_code == 404
    assert await deliver(member_added(team.id, newcomer))
    assert (await client.get(url, headers=newcomer.headers)).status_code == 200
    t = await create_task(
        client, board["columns"][0]["id"], team.member, assignee_id=str(newcomer.id)
    )
    assert t["assignee_id"] == str(newcomer.id)
    # a member, not an admin
    r = await client.post(
        f"/api/v1/teams/{team.id}/boards", json={"name": "x"}, headers=newcomer.headers
    )
    assert r.status_code == 403
    assert await deliver(member_removed(team.id, newcomer))
    assert (await client.get(url, headers=newcomer.headers)).status_code == 404


async def test_deleted_team_takes_its_boards_and_labels(
    client: httpx.AsyncClient,
    team: Team,
    make_team: Callable[[], Team],
    deliver: Deliver,
    db_connection: AsyncConnection,
) -> None:
    board = await create_board(client, team)
    await create_task(client, board["columns"][0]["id"], team.member)
    await create_label(client, team)
    survivor = make_team()
    kept = await create_board(client, survivor)
    await create_label(client, survivor)
    assert await deliver(
        "teams.team.deleted",
        {
            "team_id": str(team.id),
            "name": "t",
            "user_id": str(team.owner.id),
            "actor_id": str(team.owner.id),
            "member_ids": [],
        },
        subject=team.id,
    )

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
    assert await count(Label, survivor.id) == 1
    assert (
        await client.get(f"/api/v1/boards/{board['id']}", headers=team.member.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/boards/{kept['id']}", headers=survivor.member.headers)
    ).status_code == 200
    # a deleted team never comes back, whatever teams' read-through would still answer
    r = await client.post(
        f"/api/v1/teams/{team.id}/boards", json={"name": "again"}, headers=team.admin.headers
    )
    assert r.status_code == 404


async def test_focus_time_shows_on_the_task_history(
    client: httpx.AsyncClient, team: Team, deliver: Deliver
) -> None:
    board = await create_board(client, team)
    task = await create_task(client, board["columns"][0]["id"], team.member)
    session_id = str(uuid.uuid4())

    def ended(task_id: str, team_id: str) -> Any:
        return make_event(
            "focus.session.ended",
            {
                "session_id": session_id,
                "user_id": str(team.member.id),
                "team_id": team_id,
                "task_id": task_id,
                "focus_type": "pomodoro",
                "start_time": "2026-11-25T10:00:00Z",
                "planned_end_time": "2026-11-25T10:25:00Z",
                "end_time": "2026-11-25T10:25:00Z",
                "planned_minutes": 25,
                "actual_minutes": 25,
                "is_completed": True,
                "interruptions": 0,
                "minutes_by_day": {"2026-11-25": 25},
                "timezone": "UTC",
                "minutes": 25,
                "ended_by": "user",
            },
            subject=session_id,
        )

    event = ended(task["id"], str(team.id))
    assert await deliver(event) is True
    assert await deliver(event) is False  # once, however often delivered
    # another team's id for this task, and an unknown task, leave no trace
    assert await deliver(ended(task["id"], str(uuid.uuid4()))) is True
    assert await deliver(ended(str(uuid.uuid4()), str(team.id))) is True

    focused = [
        a for a in await activity(client, task["id"], team.member) if a["action"] == "focused"
    ]
    assert len(focused) == 1
    assert focused[0]["user_id"] == str(team.member.id)
    assert focused[0]["changes"]["focus_minutes"]["to"] == 25
    assert focused[0]["changes"]["session_id"]["to"] == session_id
    assert focused[0]["changes"]["ended_at"]["to"] == "2026-11-25T10:25:00Z"
