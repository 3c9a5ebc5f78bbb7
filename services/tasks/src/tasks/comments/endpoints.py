from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from vc_common.auth import CurrentUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep, paginate
from vc_common.uow import SessionDep

from tasks.comments import service
from tasks.comments.schemas import CommentCreate, CommentRead, CommentUpdate
from tasks.cursors import parse_timestamp
from tasks.models import TaskComment
from tasks.tasks.service import visible_task

router = APIRouter(prefix="/api/v1", tags=["comments"], responses=PROBLEM_RESPONSES)


@router.get("/tasks/{task_id}/comments", response_model=Page[CommentRead])
async def list_comments(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request, page: PageDep
) -> Page[CommentRead]:
    """The task's comments, oldest first."""
    await visible_task(session, request, user, task_id)
    rows, cursor = await paginate(
        session,
        select(TaskComment).where(TaskComment.task_id == task_id),
        page,
        keys=[TaskComment.created_at, TaskComment.id],
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=[CommentRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/comments", status_code=status.HTTP_201_CREATED, response_model=CommentRead
)
async def create_comment(
    task_id: uuid.UUID,
    body: CommentCreate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> CommentRead:
    comment = await service.add(session, request, user, task_id, body)
    response.headers["Location"] = f"/api/v1/comments/{comment.id}"
    return CommentRead.model_validate(comment)


@router.get("/comments/{comment_id}", response_model=CommentRead)
async def get_comment(
    comment_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> CommentRead:
    comment, _, _ = await service.visible(session, request, user, comment_id)
    return CommentRead.model_validate(comment)


@router.patch("/comments/{comment_id}", response_model=CommentRead)
async def update_comment(
    comment_id: uuid.UUID,
    body: CommentUpdate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> CommentRead:
    return CommentRead.model_validate(await service.edit(session, request, user, comment_id, body))


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(
    comment_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    await service.remove(session, request, user, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
