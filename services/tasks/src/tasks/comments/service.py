"""Comments on a task: members write them; only the author edits; the author or an admin
deletes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Forbidden, NotFound
from vc_common.membership import Membership

from tasks import access, events
from tasks.comments.schemas import CommentCreate, CommentUpdate
from tasks.models import Task, TaskComment
from tasks.tasks.service import visible_task


async def add(
    session: AsyncSession, request: Request, user: AuthUser, task_id: uuid.UUID, data: CommentCreate
) -> TaskComment:
    task, _ = await visible_task(session, request, user, task_id)
    comment = TaskComment(task_id=task.id, user_id=user.id, content=data.content)
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="commented",
        changes={"comment_id": {"from": None, "to": comment.id}},
    )
    await events.publish(
        session,
        events.COMMENT_ADDED,
        comment.id,
        {
            "comment_id": comment.id,
            "task_id": task.id,
            "board_id": task.board_id,
            "team_id": task.team_id,
            "user_id": user.id,
            "content": comment.content,
            "task_title": task.title,
            "assignee_id": task.assignee_id,
            "task_created_by_id": task.created_by_id,
            "created_at": comment.created_at,
        },
    )
    return comment


async def visible(
    session: AsyncSession, request: Request, user: AuthUser, comment_id: uuid.UUID
) -> tuple[TaskComment, Task, Membership]:
    row = (
        await session.execute(
            select(TaskComment, Task)
            .join(Task, Task.id == TaskComment.task_id)
            .where(TaskComment.id == comment_id)
        )
    ).first()
    if row is None:
        raise NotFound("Comment not found.")
    member = await access.authorize(session, request, row[1].team_id, user)
    return row[0], row[1], member


async def edit(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    comment_id: uuid.UUID,
    data: CommentUpdate,
) -> TaskComment:
    comment, _, _ = await visible(session, request, user, comment_id)
    if comment.user_id != user.id:
        raise Forbidden("Only the author may edit a comment.")
    if data.content != comment.content:
        comment.content = data.content
        comment.updated_at = datetime.now(UTC)
        await session.flush()
    return comment


async def remove(
    session: AsyncSession, request: Request, user: AuthUser, comment_id: uuid.UUID
) -> None:
    comment, task, member = await visible(session, request, user, comment_id)
    if comment.user_id != user.id and not access.is_admin(member):
        raise Forbidden("Only the author or a team admin may delete a comment.")
    await session.delete(comment)
    await session.flush()
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="comment_deleted",
        changes={"comment_id": {"from": comment.id, "to": None}},
    )
