"""Comments on a task: members write them; only the author edits one; the author or an admin
of the team deletes it (``tasks.permissions``). A new comment is ``tasks.comment.added``."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import NotFound
from vc_common.pagination import PageParams

from tasks import events
from tasks.comments import repository as repo
from tasks.comments.schemas import CommentCreate, CommentUpdate
from tasks.models import Task, TaskComment
from tasks.tasks.service import visible_task

COMMENT_NOT_FOUND = "Comment not found."


async def list_comments(
    ctx: Context, task_id: uuid.UUID, page: PageParams
) -> tuple[list[TaskComment], str | None]:
    task = await visible_task(ctx, task_id)
    return await repo.page_of_task(ctx.session, task.id, page)


async def add_comment(ctx: Context, task_id: uuid.UUID, data: CommentCreate) -> TaskComment:
    task = await visible_task(ctx, task_id, "comment.add")
    session, actor = ctx.session, ctx.user.id
    comment = TaskComment(task_id=task.id, user_id=actor, content=data.content)
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    await events.record_activity(
        session,
        task,
        actor=actor,
        action="commented",
        changes={"comment_id": {"from": None, "to": comment.id}},
    )
    await events.comment_added(session, comment, task, actor=actor)
    return comment


async def visible_comment(
    ctx: Context, comment_id: uuid.UUID, action: str = "board.read"
) -> tuple[TaskComment, Task]:
    """The comment and its task if the actor may do ``action`` on it (the author rules of
    ``comment.edit`` and ``comment.delete`` are judged against the comment's author)."""
    found = await repo.with_task(ctx.session, comment_id)
    if found is None:
        raise NotFound(COMMENT_NOT_FOUND)
    comment, task = found
    await ctx.authorize(
        task.team_id, action, author_id=comment.user_id, not_found=COMMENT_NOT_FOUND
    )
    return comment, task


async def edit_comment(ctx: Context, comment_id: uuid.UUID, data: CommentUpdate) -> TaskComment:
    comment, _ = await visible_comment(ctx, comment_id, "comment.edit")
    if data.content != comment.content:
        comment.content = data.content
        comment.updated_at = ctx.now()
        await ctx.session.flush()
    return comment


async def delete_comment(ctx: Context, comment_id: uuid.UUID) -> None:
    comment, task = await visible_comment(ctx, comment_id, "comment.delete")
    await ctx.session.delete(comment)
    await ctx.session.flush()
    await events.record_activity(
        ctx.session,
        task,
        actor=ctx.user.id,
        action="comment_deleted",
        changes={"comment_id": {"from": comment.id, "to": None}},
    )
