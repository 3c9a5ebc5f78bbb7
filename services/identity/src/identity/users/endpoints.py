from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from vc_common.auth import CurrentUser, StaffUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep
from vc_common.uow import SessionDep

from identity.deps import LimiterDep, PasswordsDep, RevocationsDep, SettingsDep
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
async def get_me(caller: CurrentUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.get_me(session, caller.id))


@router.patch(
    "/me",
    response_model=UserRead,
    responses={403: PROBLEM_RESPONSES[403], 409: PROBLEM_RESPONSES[409]},
)
async def update_me(
    body: UserUpdate, caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> UserRead:
    """Change only the fields sent. A new ``email`` must be verified again."""
    user = await service.update_me(session, settings, caller.id, body.changes())
    return UserRead.model_validate(user)


@router.post(
    "/me/password", status_code=status.HTTP_204_NO_CONTENT, responses={429: PROBLEM_RESPONSES[429]}
)
async def change_password(
    body: PasswordChange,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    limiter: LimiterDep,
    revocations: RevocationsDep,
) -> Response:
    """A wrong ``current_password`` is a 422. Every session of the user ends."""
    await service.change_password(session, settings, passwords, limiter, revocations, caller, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}", response_model=PublicUserRead, responses={404: PROBLEM_RESPONSES[404]})
async def get_user(user_id: uuid.UUID, caller: CurrentUser, session: SessionDep) -> PublicUserRead:
    del caller
    return PublicUserRead.model_validate(await service.public_user(session, user_id))


@admin_router.get("", response_model=Page[UserRead])
async def list_users(
    staff: StaffUser,
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Filter on username, e-mail, first or last name"),
    ] = None,
) -> Page[UserRead]:
    items, cursor = await service.list_users(session, staff, q, page)
    return Page[UserRead](items=[UserRead.model_validate(u) for u in items], next_cursor=cursor)


@admin_router.patch(
    "/{user_id}",
    response_model=UserRead,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
async def admin_update_user(
    user_id: uuid.UUID,
    body: AdminUserUpdate,
    staff: StaffUser,
    session: SessionDep,
    revocations: RevocationsDep,
) -> UserRead:
    user = await service.admin_update(session, revocations, staff, user_id, body)
    return UserRead.model_validate(user)
