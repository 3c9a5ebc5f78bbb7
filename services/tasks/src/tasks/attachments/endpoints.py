"""Routes of a task's attachments: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from tasks.attachments import service
from tasks.attachments.schemas import AttachmentCreate, AttachmentRead

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=PROBLEM_RESPONSES)


@router.get("/tasks/{task_id}/attachments", response_model=Page[AttachmentRead])
async def list_attachments(
    task_id: uuid.UUID, ctx: ContextDep, page: PageDep
) -> Page[AttachmentRead]:
    rows, cursor = await service.list_attachments(ctx, task_id, page)
    return Page(items=[AttachmentRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentRead,
)
async def create_attachment(
    task_id: uuid.UUID, body: AttachmentCreate, ctx: ContextDep, response: Response
) -> AttachmentRead:
    """Attach a file already stored elsewhere (its URL and name: metadata only)."""
    att = await service.add_attachment(ctx, task_id, body)
    response.headers["Location"] = f"/api/v1/tasks/{task_id}/attachments/{att.id}"
    return AttachmentRead.model_validate(att)


@router.delete(
    "/tasks/{task_id}/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_attachment(
    task_id: uuid.UUID, attachment_id: uuid.UUID, ctx: ContextDep
) -> Response:
    await service.delete_attachment(ctx, task_id, attachment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
