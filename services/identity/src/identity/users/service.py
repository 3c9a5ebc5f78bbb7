"""Profiles, password changes and the staff's user administration: all the rules."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from vc_common.auth import RevocationStore
from vc_common.context import Context
from vc_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from vc_common.pagination import PageParams, paginate
from vc_common.ratelimit import Rate, RateLimiter, enforce

from identity import events
from identity.auth.passwords import Passwords
from identity.auth.service import conflict_from, new_verification
from identity.auth.tokens import revoke_user as revoke_refresh_tokens
from identity.models import User
from identity.settings import settings_of
from identity.users import repository as users
from identity.users.schemas import AdminUserUpdate, PasswordChange, UserRead

_U = TypeVar("_U", User, UserRead)

USER_FIELDS = ("first_name", "last_name", "email")
PROFILE_FIELDS = ("bio", "location", "birth_date", "avatar", "company_name", "timezone")
EVENT_FIELDS = ("first_name", "last_name", "avatar", "timezone", "email")


async def get_me(ctx: Context, *, for_update: bool = False) -> User:
    return _active(await users.get(ctx.session, ctx.user.id, for_update=for_update))


async def read_me(ctx: Context) -> UserRead:
    """``GET /users/me``: the answer read in one prepared statement."""
    return _active(await users.read(ctx.session, ctx.user.id))


def _active(user: _U | None) -> _U:
    """The caller's own account, if it still exists and is active."""
    if user is None or not user.is_active:
        # a valid token for a user that is gone or disabled
        raise Unauthorized("This account no longer exists or is disabled.")
    return user


async def update_me(ctx: Context, changes: dict[str, Any]) -> User:
    session = ctx.session
    user = await get_me(ctx, for_update=True)
    profile = user.profile
    role = changes.pop("role", None)
    if role is not None and role != profile.role:
        raise Forbidden("The role is set by staff (PATCH /api/v1/admin/users/{id}).")
    before = {
        f: (getattr(profile, f) if f in PROFILE_FIELDS else getattr(user, f)) for f in EVENT_FIELDS
    }
    for field in USER_FIELDS:
        if field in changes:
            setattr(user, field, changes[field])
    for field in PROFILE_FIELDS:
        if field in changes:
            setattr(profile, field, changes[field])
    email_changed = before["email"].lower() != user.email.lower()
    if email_changed:
        profile.is_verified = False
        await new_verification(ctx, user)
    if changes:
        profile.updated_at = ctx.now()
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict_from(exc) from exc
    changed = [
        f
        for f in EVENT_FIELDS
        if before[f] != (getattr(profile, f) if f in PROFILE_FIELDS else getattr(user, f))
    ]
    if changed:
        await events.user_updated(session, user, changed)
    return user


async def change_password(
    ctx: Context,
    passwords: Passwords,
    limiter: RateLimiter,
    revocations: RevocationStore,
    data: PasswordChange,
) -> None:
    caller, session = ctx.user, ctx.session
    rate = Rate.parse(settings_of(ctx).login_rate_per_account)
    await enforce(limiter, f"identity:login:account:{caller.id}", rate)
    user = await get_me(ctx, for_update=True)
    if not await passwords.verify(user.password, data.current_password):
        raise Invalid("The current password is wrong.", loc=["body", "current_password"])
    user.password = await passwords.hash(data.new_password)
    await session.flush()
    await revoke_refresh_tokens(session, user.id)
    # every access token issued up to now dies everywhere, whatever its second (`iat` is in
    # whole seconds; a sign-in with the new password waits the rest of this second out)
    await revocations.revoke_user(user.id, int(time.time()) + 1)


async def public_user(ctx: Context, user_id: uuid.UUID) -> User:
    user = await users.get(ctx.session, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such user.")
    return user


async def list_users(
    ctx: Context, q: str | None, params: PageParams
) -> tuple[list[User], str | None]:
    await require_staff(ctx, "users.list")
    rows, cursor = await paginate(
        ctx.session, users.search(q), params, keys=[User.id], convert=[uuid.UUID]
    )
    return users.as_users(rows), cursor


async def require_staff(ctx: Context, action: str) -> User:
    """The token says staff (the permission table's rule for ``action``); the database
    (identity's own truth) must agree right now."""
    await ctx.authorize(None, action)
    actor = await users.get(ctx.session, ctx.user.id)
    if actor is None or not actor.is_active or not actor.is_staff:
        raise Forbidden("Staff only.")
    return actor


async def admin_update(
    ctx: Context, revocations: RevocationStore, user_id: uuid.UUID, data: AdminUserUpdate
) -> User:
    actor = await require_staff(ctx, "users.manage")
    session = ctx.session
    user = await users.get(session, user_id, for_update=True)
    if user is None:
        raise NotFound("No such user.")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if user.id == actor.id and (
        changes.get("is_active") is False or changes.get("is_staff") is False
    ):
        raise Conflict("Staff cannot deactivate or demote themselves; ask another staff member.")
    now = ctx.now()
    # access tokens carry wall-clock seconds (`iat`), so revocations are wall-clock too
    # every token issued up to now, whatever its second (a new sign-in outwaits the second)
    cutoff = int(time.time()) + 1
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.is_active = changes["is_active"]
        if user.is_active:
            await events.user_reactivated(session, user, actor.id)
        else:
            await revoke_refresh_tokens(session, user.id)
            await revocations.revoke_user(user.id, cutoff)
            await events.user_deactivated(session, user, actor.id)
    if "is_staff" in changes and changes["is_staff"] != user.is_staff:
        user.is_staff = changes["is_staff"]
        if not user.is_staff:
            # access tokens carry is_staff: the old claim must not outlive the demotion
            await revocations.revoke_user(user.id, cutoff)
    if "role" in changes and changes["role"] != user.profile.role:
        user.profile.role = changes["role"]
        user.profile.updated_at = now
    await session.flush()
    return user
