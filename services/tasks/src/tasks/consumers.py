"""What the tasks service consumes.

- ``teams.member.added`` / ``.role_changed`` / ``.removed`` and ``teams.team.deleted`` keep the
  local membership projection (``vc_common.membership``) current.
- ``teams.team.deleted``: the team's boards (and with them columns, tasks, subtasks, comments,
  attachments, history) and labels are deleted, in the transaction that records the event.
- ``teams.member.removed``: the removed member's open tasks in that team are unassigned (with a
  history row and ``tasks.task.assigned`` to ``null``); completed tasks keep their assignee, as a
  record of who did them.

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
