"""Rules about users as teams sees them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.errors import Invalid, NotFound

from teams.users import repository
from teams.users.client import IdentityClient


async def require_joinable_user(
    session: AsyncSession, identity: IdentityClient, user_id: uuid.UUID, *, token: str
) -> None:
    """A user who may be added to a team: known and active.

    Unknown to the projection: identity is asked (with the caller's token) and the answer
    recorded. Unknown to identity: 404. Deactivated: 422 (the user exists, but cannot join).
    """
    known = await repository.get(session, user_id)
    if known is None:
        found = await identity.get_user(user_id, token=token)
        if found is None:
            raise NotFound("User not found.")
        await repository.record_lookup(session, user_id, found.username)
        return
    if not known.is_active:
        raise Invalid("This user is deactivated and cannot join a team.", loc=["body", "user_id"])
