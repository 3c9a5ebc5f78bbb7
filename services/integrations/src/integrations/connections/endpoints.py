"""Routes of integrations: list, connect, callback, configure, disconnect."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from vc_common.context import ContextDep, PublicContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep
from vc_common.uow import writes

from integrations.connections import service
from integrations.connections.schemas import (
    ConnectCreate,
    ConnectRead,
    IntegrationRead,
    IntegrationUpdate,
)

router = APIRouter(
    prefix="/api/v1/integrations", tags=["integrations"], responses=PROBLEM_RESPONSES
)


@router.get("", response_model=Page[IntegrationRead])
async def list_integrations(ctx: ContextDep, page: PageDep) -> Page[IntegrationRead]:
    """The caller's integrations (never a token)."""
    rows, cursor = await service.list_integrations(ctx, page)
    return Page[IntegrationRead](
        items=[IntegrationRead.model_validate(r) for r in rows], next_cursor=cursor
    )


@router.post("/{integration_type}/connect", response_model=ConnectRead)
async def connect_integration(
    integration_type: str, ctx: ContextDep, body: ConnectCreate | None = None
) -> ConnectRead:
    """Start the provider's OAuth 2 authorization-code flow: open ``authorization_url``."""
    url, expires = await service.connect(ctx, integration_type, body or ConnectCreate())
    return ConnectRead(authorization_url=url, state_expires_at=expires)


@router.get("/{integration_type}/callback", response_model=IntegrationRead)
@writes  # the provider redirects the browser here: a GET that stores the connection
async def oauth_callback(
    integration_type: str,
    ctx: PublicContextDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> IntegrationRead:
    """Where the provider sends the browser back. A bearer token is optional (a browser
    redirected by the provider has none: the state names the user); when one is sent, it must
    be the user who started the flow."""
    i = await service.callback(ctx, integration_type, code=code, state=state, error=error)
    return IntegrationRead.model_validate(i)


@router.get("/{integration_id}", response_model=IntegrationRead)
async def get_integration(integration_id: uuid.UUID, ctx: ContextDep) -> IntegrationRead:
    return IntegrationRead.model_validate(await service.get_own(ctx, integration_id))


@router.patch("/{integration_id}", response_model=IntegrationRead)
async def update_integration(
    integration_id: uuid.UUID, body: IntegrationUpdate, ctx: ContextDep
) -> IntegrationRead:
    """Choose what the integration works on (``config``: board, repository, channel...)."""
    return IntegrationRead.model_validate(
        await service.update_integration(ctx, integration_id, body)
    )


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_integration(integration_id: uuid.UUID, ctx: ContextDep) -> Response:
    """Revoke at the provider where it can, delete the tokens (the integration stays listed as
    ``disconnected``)."""
    await service.disconnect(ctx, integration_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
