"""What the tasks service consumes. Each handler parses the event and calls a service function
with the consumer's context (``ctx.actor`` None: the system acts; ``ctx.now()`` the app's clock).

- ``teams.member.added`` / ``.role_changed`` / ``.removed`` and ``teams.team.deleted`` keep the
  local membership projection (``teams_client.MembershipProjection``) current.
- ``teams.team.deleted``: the team's boards (and with them columns, tasks, subtasks, comments,
  attachments, history) and labels are deleted, in the transaction that records the event.
- ``teams.member.removed``: the removed member's open tasks in that team are unassigned (with a
  history row and ``tasks.task.assigned`` to ``null``); completed tasks keep their assignee, as a
  record of who did them.
- ``files.file.uploaded`` / ``files.file.deleted``: the team files an attachment may name by
  ``file_id`` (``tasks.attachments``); a deleted file's attachments are removed from their tasks.
- ``focus.session.ended`` naming a ``task_id``: the focus time shows on that task's history
  (``focused``, with the minutes and the session), so a task tells how long people worked on it.

Every handler is idempotent: the consumer's inbox drops a redelivered event, and both rules are
no-ops the second time anyway.
"""

from __future__ import annotations

import logging
import uuid

from teams_client.events import MEMBER_REMOVED, member_of
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from tasks.attachments import service as attachments
from tasks.boards import service as boards
from tasks.labels import service as labels
from tasks.models import membership
from tasks.tasks import service as tasks

log = logging.getLogger("tasks.consumers")

FOCUS_SESSION_ENDED = "focus.session.ended"

consumer = Consumer("tasks")
membership.register(consumer)


@membership.on_team_deleted
async def delete_team_data(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    n_boards = await boards.forget_team(ctx, team_id)
    n_labels = await labels.forget_team(ctx, team_id)
    log.info("team %s deleted: %s boards and %s labels removed", team_id, n_boards, n_labels)


@consumer.on(MEMBER_REMOVED)
async def unassign_removed_member(ctx: Context, event: CloudEvent) -> None:
    team_id = uuid.UUID(str(event.data["team_id"]))
    member_id = member_of(event)  # the removed member (user_id is the actor in new events)
    actor_raw = event.data.get("actor_id")  # the actor in both the old and the new shape
    actor = uuid.UUID(str(actor_raw)) if actor_raw else None
    await tasks.unassign_member(ctx, team_id, member_id, actor)


@consumer.on(FOCUS_SESSION_ENDED)
async def record_focus_time(ctx: Context, event: CloudEvent) -> None:
    data = event.data
    task_raw, team_raw, user_raw = data.get("task_id"), data.get("team_id"), data.get("user_id")
    if not task_raw or not user_raw:
        return
    try:
        task_id = uuid.UUID(str(task_raw))
        user_id = uuid.UUID(str(user_raw))
        team_id = uuid.UUID(str(team_raw)) if team_raw else None
    except ValueError:
        log.warning("focus.session.ended %s names a malformed task, user or team", event.id)
        return
    await tasks.record_focus(
        ctx,
        task_id,
        team_id=team_id,
        user_id=user_id,
        minutes=int(data.get("actual_minutes") or data.get("minutes") or 0),
        session_id=data.get("session_id"),
        ended_at=data.get("end_time"),
    )


@consumer.on("files.file.uploaded")
async def learn_file(ctx: Context, event: CloudEvent) -> None:
    await attachments.file_uploaded(ctx, event.data)


@consumer.on("files.file.deleted")
async def forget_file(ctx: Context, event: CloudEvent) -> None:
    removed = await attachments.file_deleted(ctx, event.data)
    if removed:
        log.info("file %s deleted: %d attachments removed", event.data["file_id"], removed)
