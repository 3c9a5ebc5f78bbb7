from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from vc_common.auth import CurrentUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep, paginate
from vc_common.uow import SessionDep

from tasks import access
from tasks.labels import service
from tasks.labels.schemas import LabelCreate, LabelRead, LabelUpdate
from tasks.models import Label

router = APIRouter(prefix="/api/v1", tags=["labels"], responses=PROBLEM_RESPONSES)


@router.get("/teams/{team_id}/labels", response_model=Page[LabelRead])
async def list_labels(
    team_id: uuid.UUID, member: access.TeamMember, session: SessionDep, page: PageDep
) -> Page[LabelRead]:
    """The team's labels, by name."""
    del member
    rows, cursor = await paginate(
        session,
        select(Label).where(Label.team_id == team_id),
        page,
        keys=[Label.name, Label.id],
        convert=[str, uuid.UUID],
    )
    return Page(items=[LabelRead.model_validate(x) for x in rows], next_cursor=cursor)


@router.post(
    "/teams/{team_id}/labels", status_code=status.HTTP_201_CREATED, response_model=LabelRead
)
async def create_label(
    team_id: uuid.UUID,
    body: LabelCreate,
    admin: access.TeamAdmin,
    session: SessionDep,
    response: Response,
) -> LabelRead:
    del admin
    label = await service.create(session, team_id, body)
    response.headers["Location"] = f"/api/v1/labels/{label.id}"
    return LabelRead.model_validate(label)


@router.get("/labels/{label_id}", response_model=LabelRead)
async def get_label(
    label_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> LabelRead:
    return LabelRead.model_validate(await service.visible(session, request, user, label_id))


@router.patch("/labels/{label_id}", response_model=LabelRead)
async def update_label(
    label_id: uuid.UUID, body: LabelUpdate, user: CurrentUser, session: SessionDep, request: Request
) -> LabelRead:
    label = await service.visible(session, request, user, label_id, access.ADMIN)
    return LabelRead.model_validate(await service.update(session, label, body))


@router.delete("/labels/{label_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_label(
    label_id: uuid.UUID, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    label = await service.visible(session, request, user, label_id, access.ADMIN)
    await service.delete(session, label)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
