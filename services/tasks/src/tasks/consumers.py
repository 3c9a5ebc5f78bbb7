"""What the tasks service consumes.

- ``teams.member.added`` / ``.role_changed`` / ``.removed`` and ``teams.team.deleted`` keep the
  local membership projection (``vc_common.membership``) current.
- ``teams.team.deleted``: the team's boards (and with them columns, tasks, subtasks, comments,
  attachments, history) and labels are deleted, in the transaction that records the event.
- ``teams.member.removed``: the removed member's open tasks in that team are unassigned (with a
  history row and ``tasks.task.assigned`` to ``null``); completed tasks keep their assignee, as a
  record of who did them.

- ``focus.session.ended`` naming a ``task_id``: the focus time shows on that task's history
  (``focused``, with the minutes and the session), so a task tells how long people worked on it.

Every handler is idempotent: the consumer's inbox drops a redelivered event, and both rules are
no-ops the second time anyway.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.membership import member_of, membership_consumer_handlers, on_team_deleted

from tasks import events
from tasks.models import Board, Label, Task, membership

log = logging.getLogger("tasks.consumers")

consumer = Consumer("tasks")
membership_consumer_handlers(consumer, membership)


@on_team_deleted(membership)
async def delete_team_data(session: AsyncSession, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    boards = await session.execute(delete(Board).where(Board.team_id == team_id))
    labels = await session.execute(delete(Label).where(Label.team_id == team_id))
    log.info(
        "team %s deleted: %s boards and %s labels removed",
        team_id,
        getattr(boards, "rowcount", "?"),
        getattr(labels, "rowcount", "?"),
    )


@consumer.on("teams.member.removed")
async def unassign_removed_member(session: AsyncSession, event: CloudEvent) -> None:
    team_id = uuid.UUID(str(event.data["team_id"]))
    member_id = member_of(event)  # the removed member (user_id is the actor in new events)
    actor_raw = event.data.get("actor_id")  # the actor in both the old and the new shape
    actor = uuid.UUID(str(actor_raw)) if actor_raw else None
    tasks = list(
        (
            await session.execute(
                select(Task)
                .where(
                    Task.team_id == team_id,
                    Task.assignee_id == member_id,
                    Task.completed_at.is_(None),
                )
                .order_by(Task.id)
                .with_for_update()
            )
        ).scalars()
    )
    now = datetime.now(UTC)
    for task in tasks:
        task.assignee_id = None
        task.version += 1
        task.updated_at = now
    await session.flush()
    for task in tasks:
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=team_id,
            user_id=actor,
            action="unassigned",
            changes={
                "assignee_id": {"from": member_id, "to": None},
                "reason": {"from": None, "to": "member_removed"},
            },
        )
        await events.publish(
            session,
            events.TASK_ASSIGNED,
            task.id,
            {
                "task_id": task.id,
                "board_id": task.board_id,
                "team_id": team_id,
                "column_id": task.column_id,
                "title": task.title,
                "assignee_id": None,
                "priority": task.priority,
                "due_date": task.due_date,
                "user_id": actor,
                "previous_assignee_id": member_id,
                "reason": "member_removed",
            },
        )


@consumer.on("focus.session.ended")
async def record_focus_time(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    task_raw, team_raw, user_raw = data.get("task_id"), data.get("team_id"), data.get("user_id")
    if not task_raw or not user_raw:
        return
    try:
        task_id = uuid.UUID(str(task_raw))
        user_id = uuid.UUID(str(user_raw))
    except ValueError:
        log.warning("focus.session.ended %s names a malformed task or user", event.id)
        return
    task = await session.get(Task, task_id)
    if task is None or (team_raw and str(task.team_id) != str(team_raw)):
        # a deleted task, or one of another team: focus does not know tasks, so ignore it
        return
    minutes = int(data.get("actual_minutes") or data.get("minutes") or 0)
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user_id,
        action="focused",
        changes={
            "focus_minutes": {"from": None, "to": minutes},
            "session_id": {"from": None, "to": data.get("session_id")},
            "ended_at": {"from": None, "to": data.get("end_time")},
        },
    )
