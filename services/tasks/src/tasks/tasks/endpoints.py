from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlalchemy import select
from vc_common.auth import CurrentUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep, paginate
from vc_common.uow import SessionDep

from tasks import access
from tasks.cursors import parse_timestamp
from tasks.models import Subtask, Task, TaskActivity, TaskAttachment
from tasks.tasks import repository as repo
from tasks.tasks import service
from tasks.tasks.schemas import (
    ActivityRead,
    AttachmentCreate,
    AttachmentRead,
    Priority,
    SubtaskCreate,
    SubtaskRead,
    SubtaskUpdate,
    TaskCreate,
    TaskDetail,
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


async def _read(session: SessionDep, task_id: uuid.UUID, response: Response) -> TaskRead:
    read = await repo.read_one(session, task_id)
    assert read is not None
    response.headers["ETag"] = service.etag(read.version)
    return read


@router.post(
    "/columns/{column_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskRead,
    responses={201: {"headers": ETAG_HEADER}},
)
async def create_task(
    column_id: uuid.UUID,
    body: TaskCreate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> TaskRead:
    task = await service.create_task(session, request, user, column_id, body)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return await _read(session, task.id, response)


@router.get("/teams/{team_id}/tasks", response_model=Page[TaskRead])
async def list_team_tasks(
    team_id: uuid.UUID,
    member: access.TeamMember,
    session: SessionDep,
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
    del member
    stmt = repo.filtered(
        team_id,
        assignee_id=assignee_id,
        priority=priority,
        label_id=label_id,
        due_before=due_before,
        q=q.strip() if q and q.strip() else None,
        board_id=board_id,
        is_completed=is_completed,
    )
    rows, cursor = await paginate(
        session,
        stmt,
        page,
        keys=[Task.created_at, Task.id],
        descending=True,
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=await repo.hydrate_tasks(session, rows), next_cursor=cursor)


@router.get(
    "/tasks/{task_id}", response_model=TaskDetail, responses={200: {"headers": ETAG_HEADER}}
)
async def get_task(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request, response: Response
) -> TaskDetail:
    await service.visible_task(session, request, user, task_id)
    detail = TaskDetail.model_validate(await service.task_detail(session, task_id))
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
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='`"<version>"` from the ETag; a stale one answers 412')
    ] = None,
) -> TaskRead:
    task = await service.update_task(session, request, user, task_id, body, if_match)
    return await _read(session, task.id, response)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    await service.delete_task(session, request, user, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tasks/{task_id}/move", response_model=TaskRead, responses={200: {"headers": ETAG_HEADER}}
)
async def move_task(
    task_id: uuid.UUID,
    body: TaskMove,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> TaskRead:
    """Move within or across columns of the same board; `position` is the index after the move."""
    task = await service.move_task(session, request, user, task_id, body)
    return await _read(session, task.id, response)


@router.put(
    "/tasks/{task_id}/labels", response_model=TaskRead, responses={200: {"headers": ETAG_HEADER}}
)
async def set_task_labels(
    task_id: uuid.UUID,
    body: TaskLabelsPut,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> TaskRead:
    task = await service.set_labels(session, request, user, task_id, body)
    return await _read(session, task.id, response)


@router.get("/tasks/{task_id}/activity", response_model=Page[ActivityRead])
async def list_task_activity(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request, page: PageDep
) -> Page[ActivityRead]:
    """Who changed what on the task, and when; oldest first."""
    await service.visible_task(session, request, user, task_id)
    rows, cursor = await paginate(
        session,
        select(TaskActivity).where(TaskActivity.task_id == task_id),
        page,
        keys=[TaskActivity.created_at, TaskActivity.id],
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=[ActivityRead.model_validate(r) for r in rows], next_cursor=cursor)


# -------------------------------------------------------------------------------- subtasks


@router.get("/tasks/{task_id}/subtasks", response_model=Page[SubtaskRead])
async def list_subtasks(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request, page: PageDep
) -> Page[SubtaskRead]:
    await service.visible_task(session, request, user, task_id)
    rows, cursor = await paginate(
        session,
        select(Subtask).where(Subtask.task_id == task_id),
        page,
        keys=[Subtask.created_at, Subtask.id],
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=[SubtaskRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/subtasks", status_code=status.HTTP_201_CREATED, response_model=SubtaskRead
)
async def create_subtask(
    task_id: uuid.UUID,
    body: SubtaskCreate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> SubtaskRead:
    sub = await service.add_subtask(session, request, user, task_id, body)
    response.headers["Location"] = f"/api/v1/subtasks/{sub.id}"
    return SubtaskRead.model_validate(sub)


@router.get("/subtasks/{subtask_id}", response_model=SubtaskRead)
async def get_subtask(
    subtask_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> SubtaskRead:
    sub, _ = await service.visible_subtask(session, request, user, subtask_id)
    return SubtaskRead.model_validate(sub)


@router.patch("/subtasks/{subtask_id}", response_model=SubtaskRead)
async def update_subtask(
    subtask_id: uuid.UUID,
    body: SubtaskUpdate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> SubtaskRead:
    sub = await service.update_subtask(session, request, user, subtask_id, body)
    return SubtaskRead.model_validate(sub)


@router.delete("/subtasks/{subtask_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subtask(
    subtask_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    await service.delete_subtask(session, request, user, subtask_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ----------------------------------------------------------------------------- attachments


@router.get("/tasks/{task_id}/attachments", response_model=Page[AttachmentRead])
async def list_attachments(
    task_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request, page: PageDep
) -> Page[AttachmentRead]:
    await service.visible_task(session, request, user, task_id)
    rows, cursor = await paginate(
        session,
        select(TaskAttachment).where(TaskAttachment.task_id == task_id),
        page,
        keys=[TaskAttachment.created_at, TaskAttachment.id],
        convert=[parse_timestamp, uuid.UUID],
    )
    return Page(items=[AttachmentRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/tasks/{task_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentRead,
)
async def create_attachment(
    task_id: uuid.UUID,
    body: AttachmentCreate,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AttachmentRead:
    """Attach a file already stored elsewhere (its URL and name: metadata only)."""
    att = await service.add_attachment(session, request, user, task_id, body)
    response.headers["Location"] = f"/api/v1/tasks/{task_id}/attachments/{att.id}"
    return AttachmentRead.model_validate(att)


@router.delete(
    "/tasks/{task_id}/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_attachment(
    task_id: uuid.UUID,
    attachment_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> Response:
    await service.delete_attachment(session, request, user, task_id, attachment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
