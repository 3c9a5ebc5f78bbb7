"""Routes of tasks: parse, call the service, shape the answer (with the task's ``ETag``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from tasks.tasks import moves, service
from tasks.tasks.schemas import (
    ActivityRead,
    Priority,
    TaskCreate,
    TaskDetail,
    TaskFilter,
    TaskLabelsPut,
    TaskMove,
    TaskRead,
    TaskUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tasks"], responses=PROBLEM_RESPONSES)

ETAG_HEADER = {
    "ETag": {
        "description": 'The task\'s version, `"<version>"`: send it back in '
        "`If-Match` to PATCH safely",
        "schema": {"type": "string"},
    }
}


def _with_etag(read: TaskRead, response: Response) -> TaskRead:
    response.headers["ETag"] = service.etag(read.version)
    return read


@router.post(
    "/columns/{column_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskRead,
    responses={201: {"headers": ETAG_HEADER}},
)
async def create_task(
    column_id: uuid.UUID, body: TaskCreate, ctx: ContextDep, response: Response
) -> TaskRead:
    task = await service.create_task(ctx, column_id, body)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return _with_etag(task, response)


@router.get("/teams/{team_id}/tasks", response_model=Page[TaskRead])
async def list_team_tasks(
    team_id: uuid.UUID,
    ctx: ContextDep,
    page: PageDep,
    assignee_id: uuid.UUID | None = None,
    priority: Priority | None = None,
    label_id: uuid.UUID | None = None,
    due_before: Annotated[date | None, Query(description="Due strictly before this date")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words in the title or description (case-insensitive substring)",
        ),
    ] = None,
    board_id: uuid.UUID | None = None,
    is_completed: bool | None = None,
) -> Page[TaskRead]:
    """The team's tasks, newest first, filtered; cursor-paginated."""
    filters = TaskFilter(
        assignee_id=assignee_id,
        priority=priority,
        label_id=label_id,
        due_before=due_before,
        q=q.strip() if q and q.strip() else None,
        board_id=board_id,
        is_completed=is_completed,
    )
    items, cursor = await service.list_team_tasks(ctx, team_id, filters, page)
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/tasks/{task_id}", response_model=TaskDetail, responses={200: {"headers": ETAG_HEADER}}
)
async def get_task(task_id: uuid.UUID, ctx: ContextDep, response: Response) -> TaskDetail:
    detail = await service.get_task(ctx, task_id)
    response.headers["ETag"] = service.etag(detail.version)
    return detail


@router.patch(
    "/tasks/{task_id}",
    response_model=TaskRead,
    responses={200: {"headers": ETAG_HEADER}, 412: PROBLEM_RESPONSES[409]},
)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    ctx: ContextDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='`"<version>"` from the ETag; a stale one answers 412')
    ] = None,
) -> TaskRead:
    return _with_etag(await service.update_task(ctx, task_id, body, if_match), response)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_task(ctx, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tasks/{task_id}/move", response_model=TaskRead, responses={200: {"headers": ETAG_HEADER}}
)
async def move_task(
    task_id: uuid.UUID, body: TaskMove, ctx: ContextDep, response: Response
) -> TaskRead:
    """Move within or across columns of the same board; `position` is the index after the move."""
    return _with_etag(await moves.move_task(ctx, task_id, body), response)


@router.put(
    "/tasks/{task_id}/labels", response_model=TaskRead, responses={200: {"headers": ETAG_HEADER}}
)
async def set_task_labels(
    task_id: uuid.UUID, body: TaskLabelsPut, ctx: ContextDep, response: Response
) -> TaskRead:
    return _with_etag(await service.set_labels(ctx, task_id, body), response)


@router.get("/tasks/{task_id}/activity", response_model=Page[ActivityRead])
async def list_task_activity(
    task_id: uuid.UUID, ctx: ContextDep, page: PageDep
) -> Page[ActivityRead]:
    """Who changed what on the task, and when; oldest first."""
    rows, cursor = await service.list_activity(ctx, task_id, page)
    return Page(items=[ActivityRead.model_validate(r) for r in rows], next_cursor=cursor)
