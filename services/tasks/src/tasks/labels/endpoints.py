"""Routes of the team's labels: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from tasks.labels import service
from tasks.labels.schemas import LabelCreate, LabelRead, LabelUpdate

router = APIRouter(prefix="/api/v1", tags=["labels"], responses=PROBLEM_RESPONSES)


@router.get("/teams/{team_id}/labels", response_model=Page[LabelRead])
async def list_labels(team_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[LabelRead]:
    """The team's labels, by name."""
    rows, cursor = await service.list_labels(ctx, team_id, page)
    return Page(items=[LabelRead.model_validate(x) for x in rows], next_cursor=cursor)


@router.post(
    "/teams/{team_id}/labels", status_code=status.HTTP_201_CREATED, response_model=LabelRead
)
async def create_label(
    team_id: uuid.UUID, body: LabelCreate, ctx: ContextDep, response: Response
) -> LabelRead:
    label = await service.create_label(ctx, team_id, body)
    response.headers["Location"] = f"/api/v1/labels/{label.id}"
    return LabelRead.model_validate(label)


@router.get("/labels/{label_id}", response_model=LabelRead)
async def get_label(label_id: uuid.UUID, ctx: ContextDep) -> LabelRead:
    return LabelRead.model_validate(await service.visible_label(ctx, label_id))


@router.patch("/labels/{label_id}", response_model=LabelRead)
async def update_label(label_id: uuid.UUID, body: LabelUpdate, ctx: ContextDep) -> LabelRead:
    return LabelRead.model_validate(await service.update_label(ctx, label_id, body))


@router.delete("/labels/{label_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_label(label_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_label(ctx, label_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
