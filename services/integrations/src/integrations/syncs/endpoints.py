"""Routes of syncs: start one, read the logs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from integrations.syncs import service
from integrations.syncs.schemas import SyncCreate, SyncLogRead

router = APIRouter(
    prefix="/api/v1/integrations", tags=["integrations"], responses=PROBLEM_RESPONSES
)


@router.post(
    "/{integration_id}/sync", status_code=status.HTTP_202_ACCEPTED, response_model=SyncLogRead
)
async def start_sync(
    integration_id: uuid.UUID, ctx: ContextDep, response: Response, body: SyncCreate | None = None
) -> SyncLogRead:
    """Start a sync (202, ``pending``); 409 while one is pending or in progress."""
    entry = await service.request_sync(ctx, integration_id, (body or SyncCreate()).sync_type)
    response.headers["Location"] = f"/api/v1/integrations/{integration_id}/sync-logs"
    return SyncLogRead.model_validate(entry)


@router.get("/{integration_id}/sync-logs", response_model=Page[SyncLogRead])
async def list_sync_logs(
    integration_id: uuid.UUID, ctx: ContextDep, page: PageDep
) -> Page[SyncLogRead]:
    """Newest first."""
    rows, cursor = await service.list_logs(ctx, integration_id, page)
    return Page[SyncLogRead](
        items=[SyncLogRead.model_validate(r) for r in rows], next_cursor=cursor
    )
