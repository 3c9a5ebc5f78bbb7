"""Identity's revocation list: written with the change that revokes (logout, refresh-token
reuse, password change, deactivation, demotion), served to every verifier.

:class:`SessionRevocations` is the :class:`~vc_common.auth.RevocationStore` identity's service
functions are given: each revocation is a row in the request's transaction (durable, and only if
the change commits) and is also handed to the app's own store at once (Redis, shared by every
verifier, when ``REDIS_URL`` is set; else identity's in-memory projection). Verifiers without
Redis poll ``GET /internal/v1/revocations?after=<cursor>`` (:class:`vc_common.auth.RevocationFeed`).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser, RevocationStore
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.uow import SessionDep

from identity.models import Revocation

PAGE = 1000
#: rows younger than this are listed again whatever the cursor: a transaction that took its id
#: before a later one committed first is not skipped
OVERLAP = timedelta(seconds=30)
#: beyond the access-token lifetime, how long a revocation is kept (the verifiers' leeway)
LEEWAY = 60


class SessionRevocations:
    def __init__(self, session: AsyncSession, inner: RevocationStore, access_ttl: int) -> None:
        self.session = session
        self.inner = inner
        self.access_ttl = access_ttl

    def sign_in_expiry(self) -> int:
        """When every access token of a sign-in revoked now has expired."""
        return int(time.time()) + self.access_ttl + LEEWAY

    async def _record(self, kind: str, key: str, value: int, expires: int) -> None:
        self.session.add(
            Revocation(
                kind=kind,
                key=key,
                value=value,
                expires_at=datetime.fromtimestamp(expires, UTC),
            )
        )
        await self.session.flush()

    async def revoke_token(self, jti: str, exp: int) -> None:
        await self._record("jti", jti, exp, exp)
        await self.inner.revoke_token(jti, exp)

    async def revoke_session(self, sid: str, exp: int) -> None:
        await self._record("sid", sid, exp, exp)
        await self.inner.revoke_session(sid, exp)

    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None:
        await self._record("user", str(user_id), before, before + self.access_ttl + LEEWAY)
        await self.inner.revoke_user(user_id, before)

    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
        return await self.inner.is_revoked(user, issued_at)


internal_router = APIRouter(
    prefix="/internal/v1", include_in_schema=False, responses=PROBLEM_RESPONSES
)


@internal_router.get("/revocations")
async def list_revocations(
    session: SessionDep, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    """What was revoked after ``after`` (and anything from the last 30 seconds), oldest first,
    still alive; ``last``: the cursor to send next."""
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(Revocation.id, Revocation.kind, Revocation.key, Revocation.value)
            .where(
                Revocation.expires_at > now,
                or_(Revocation.id > after, Revocation.created_at > now - OVERLAP),
            )
            .order_by(Revocation.id)
            .limit(PAGE)
        )
    ).all()
    if len(rows) >= PAGE:
        last = rows[-1].id
    else:
        last = (await session.execute(select(func.max(Revocation.id)))).scalar() or 0
    return {
        "last": last,
        "items": [{"kind": r.kind, "key": r.key, "value": r.value} for r in rows],
    }


async def purge_expired(session: AsyncSession) -> int:
    """Forget revocations no token they name can outlive."""
    result = await session.execute(
        delete(Revocation).where(Revocation.expires_at < datetime.now(UTC) - OVERLAP)
    )
    return int(getattr(result, "rowcount", 0) or 0)
