"""All of the users module's SQL."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager
from vc_common.db import Prepared

from identity.auth.usernames import login_key
from identity.models import User, UserProfile
from identity.users.schemas import ProfileRead, UserRead


def _with_profile() -> Select[User]:
    return select(User).join(User.profile).options(contains_eager(User.profile))


@functools.cache
def _by_id(for_update: bool) -> Select[User]:
    """Built once: building the statement (the join, ``contains_eager``, the comparison) was
    ~18 % of an authenticated ``GET /users/me``'s CPU when done per request (py-spy)."""
    stmt = _with_profile().where(User.id == bindparam("user_id"))
    return stmt.with_for_update() if for_update else stmt


async def get(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    result = await session.execute(_by_id(for_update), {"user_id": user_id})
    return result.scalars().first()


_USER = tuple(UserRead.model_fields.keys() - {"profile"})
_PROFILE = tuple(ProfileRead.model_fields)
_u, _p = User.__table__, UserProfile.__table__
# the answer of ``GET /users/me`` (every client asks it first), prepared (``vc_common.db``):
# through the ORM its statement was most of the request's CPU
_read = Prepared(
    select(*(_u.c[n] for n in _USER), *(_p.c[n].label(f"profile_{n}") for n in _PROFILE))
    .join_from(_u, _p, _p.c.user_id == _u.c.id)
    .where(_u.c.id == bindparam("user_id"))
)


async def read(session: AsyncSession, user_id: uuid.UUID) -> UserRead | None:
    """The user as they see themselves (no ORM object: for answers only)."""
    r = await _read.first(session, user_id=user_id)
    if r is None:
        return None
    profile = ProfileRead(**{n: r[f"profile_{n}"] for n in _PROFILE})
    return UserRead(**{n: r[n] for n in _USER}, profile=profile)


async def by_login(session: AsyncSession, login: str) -> User | None:
    """By username or e-mail, case-insensitively (usernames cannot hold ``@``)."""
    key = login_key(login)
    column = func.lower(User.email) if "@" in key else func.lower(User.username)
    stmt = _with_profile().where(column == key)
    return (await session.execute(stmt)).scalars().first()


async def by_verification_token(session: AsyncSession, token_hash: str) -> User | None:
    stmt = (
        _with_profile()
        .where(UserProfile.verification_token == token_hash)
        .with_for_update(of=UserProfile)
    )
    return (await session.execute(stmt)).scalars().first()


async def add(session: AsyncSession, user: User) -> None:
    session.add(user)
    session.add(user.profile)
    await session.flush()


def search(q: str | None) -> Select[User]:
    stmt = _with_profile()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                *(
                    col.ilike(pattern, escape="\\")
                    for col in (User.username, User.email, User.first_name, User.last_name)
                )
            )
        )
    return stmt


def as_users(rows: list[Any]) -> list[User]:
    return [r if isinstance(r, User) else r[0] for r in rows]
