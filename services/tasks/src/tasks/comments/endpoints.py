"""Routes of comments: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from tasks.comments import service
from tasks.comments.schemas import CommentCreate, CommentRead, CommentUpdate

router = APIRouter(prefix="/api/v1", tags=["comments"], responses=PROBLEM_RESPONSES)


@router.get("/tasks/{task_id}/comments", response_model=Page[CommentRead])
async def list_comments(task_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[CommentRead]:
    """The task's comments, oldest first."""
    rows, cursor = await service.list_comments(ctx, task_id, page)
    return Page(items=[CommentRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentRead
)
async def create_comment(
    task_id: uuid.UUID, body: CommentCreate, ctx: ContextDep, response: Response
) -> CommentRead:
    comment = await service.add_comment(ctx, task_id, body)
    response.headers["Location"] = f"/api/v1/comments/{comment.id}"
    return CommentRead.model_validate(comment)


@router.get("/comments/{comment_id}", response_model=CommentRead)
async def get_comment(comment_id: uuid.UUID, ctx: ContextDep) -> CommentRead:
    comment, _ = await service.visible_comment(ctx, comment_id)
    return CommentRead.model_validate(comment)


@router.patch("/comments/{comment_id}", response_model=CommentRead)
async def update_comment(
    comment_id: uuid.UUID, body: CommentUpdate, ctx: ContextDep
) -> CommentRead:
    return CommentRead.model_validate(await service.edit_comment(ctx, comment_id, body))


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(comment_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_comment(ctx, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
