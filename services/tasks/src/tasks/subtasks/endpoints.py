"""Routes of subtasks: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from tasks.subtasks import service
from tasks.subtasks.schemas import SubtaskCreate, SubtaskRead, SubtaskUpdate

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=PROBLEM_RESPONSES)


@router.get("/tasks/{task_id}/subtasks", response_model=Page[SubtaskRead])
async def list_subtasks(task_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[SubtaskRead]:
    rows, cursor = await service.list_subtasks(ctx, task_id, page)
    return Page(items=[SubtaskRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/subtasks", status_code=status.HTTP_201_CREATED, response_model=SubtaskRead
)
async def create_subtask(
    task_id: uuid.UUID, body: SubtaskCreate, ctx: ContextDep, response: Response
) -> SubtaskRead:
    sub = await service.add_subtask(ctx, task_id, body)
    response.headers["Location"] = f"/api/v1/subtasks/{sub.id}"
    return SubtaskRead.model_validate(sub)


@router.get("/subtasks/{subtask_id}", response_model=SubtaskRead)
async def get_subtask(subtask_id: uuid.UUID, ctx: ContextDep) -> SubtaskRead:
    sub, _ = await service.visible_subtask(ctx, subtask_id)
    return SubtaskRead.model_validate(sub)


@router.patch("/subtasks/{subtask_id}", response_model=SubtaskRead)
async def update_subtask(
    subtask_id: uuid.UUID, body: SubtaskUpdate, ctx: ContextDep
) -> SubtaskRead:
    return SubtaskRead.model_validate(await service.update_subtask(ctx, subtask_id, body))


@router.delete("/subtasks/{subtask_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subtask(subtask_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_subtask(ctx, subtask_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
