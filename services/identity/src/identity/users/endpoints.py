from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from identity.deps import LimiterDep, PasswordsDep, RevocationsDep
from identity.users import service
from identity.users.schemas import (
    AdminUserUpdate,
    PasswordChange,
    PublicUserRead,
    UserRead,
    UserUpdate,
)

router = APIRouter(
    prefix="/api/v1/users", tags=["users"], responses={k: PROBLEM_RESPONSES[k] for k in (401, 422)}
)
admin_router = APIRouter(
    prefix="/api/v1/admin/users",
    tags=["admin"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422)},
)


@router.get("/me", response_model=UserRead)
async def get_me(ctx: ContextDep) -> UserRead:
    return await service.read_me(ctx)


@router.patch(
    "/me",
    response_model=UserRead,
    responses={403: PROBLEM_RESPONSES[403], 409: PROBLEM_RESPONSES[409]},
)
async def update_me(body: UserUpdate, ctx: ContextDep) -> UserRead:
    """Change only the fields sent. A new ``email`` must be verified again."""
    user = await service.update_me(ctx, body.changes())
    return UserRead.model_validate(user)


@router.post(
    "/me/password", status_code=status.HTTP_204_NO_CONTENT, responses={429: PROBLEM_RESPONSES[429]}
)
async def change_password(
    body: PasswordChange,
    ctx: ContextDep,
    passwords: PasswordsDep,
    limiter: LimiterDep,
    revocations: RevocationsDep,
) -> Response:
    """A wrong ``current_password`` is a 422. Every session of the user ends."""
    await service.change_password(ctx, passwords, limiter, revocations, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}", response_model=PublicUserRead, responses={404: PROBLEM_RESPONSES[404]})
async def get_user(user_id: uuid.UUID, ctx: ContextDep) -> PublicUserRead:
    return PublicUserRead.model_validate(await service.public_user(ctx, user_id))


@admin_router.get("", response_model=Page[UserRead])
async def list_users(
    ctx: ContextDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Filter on username, e-mail, first or last name"),
    ] = None,
) -> Page[UserRead]:
    items, cursor = await service.list_users(ctx, q, page)
    return Page[UserRead](items=[UserRead.model_validate(u) for u in items], next_cursor=cursor)


@admin_router.patch(
    "/{user_id}",
    response_model=UserRead,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
async def admin_update_user(
    user_id: uuid.UUID,
    body: AdminUserUpdate,
    ctx: ContextDep,
    revocations: RevocationsDep,
) -> UserRead:
    user = await service.admin_update(ctx, revocations, user_id, body)
    return UserRead.model_validate(user)
