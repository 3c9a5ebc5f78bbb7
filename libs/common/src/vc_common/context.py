"""The context a rule runs in: the unit of work, the actor, the clock, the service's access rules.

Service functions take a :class:`Context` (never a Starlette ``Request``), so an endpoint, an
event consumer and a scheduled job call the very same function::

    async def complete_task(ctx: Context, task_id: uuid.UUID) -> Task: ...

    # endpoint
    async def move_task(task_id: uuid.UUID, body: TaskMove, ctx: ContextDep) -> TaskRead: ...
    # consumer (ctx.actor is None: the system acts)
    @consumer.on("integrations.github.issue_closed")
    async def on_closed(ctx: Context, event: CloudEvent) -> None: ...
    # job
    Job("reminders", every=5.0, run=fire_due_reminders)   # async def fire_due_reminders(ctx)

- ``ctx.session``: the one ``AsyncSession`` of the request, delivery or job tick; services and
  repositories only ``flush()``, whoever opened the unit of work commits or rolls back.
- ``ctx.actor``: the authenticated user (``None`` when the system acts); ``ctx.user`` insists.
- ``ctx.now()``: the app's clock (``app.state.clock``), which tests move instead of sleeping.
- ``ctx.authorize(team_id, action)``: the one way to check who may do what (see
  :mod:`vc_common.authz`).
- ``ctx.resource(name)``: what the app built at start-up for its rules (``app.state.<name>``:
  a socket hub, a runtime of clients), reached the same way from a request, a consumer and a
  job, with no module-level registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, overload

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.auth import AuthUser, BearerCredentials, current_user, optional_user
from vc_common.authz import Access, Grant, Membership
from vc_common.errors import NotFound, Unauthorized
from vc_common.uow import get_session

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Context:
    session: AsyncSession
    actor: AuthUser | None = None
    clock: Clock = system_clock
    settings: Any = None
    access: Access | None = None
    state: Any = None  # the app's state (``app.state``), for :meth:`resource`

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return an aware datetime")
        return now.astimezone(UTC)

    def resource(self, name: str, *, required: bool = True) -> Any:
        """``app.state.<name>``, built by the app's lifespan; ``None`` when absent and not
        ``required`` (a RuntimeError when required: the app was started without it)."""
        value = getattr(self.state, name, None) if self.state is not None else None
        if value is None and required:
            raise RuntimeError(f"{name!r} is not started in this app (see its lifespan)")
        return value

    @property
    def user(self) -> AuthUser:
        """The acting user; ``Unauthorized`` when the system acts (a consumer, a job)."""
        if self.actor is None:
            raise Unauthorized("An access token is required.")
        return self.actor

    def _access(self) -> Access:
        if self.access is None:
            raise RuntimeError("this service declares no access rules (create_service_app access=)")
        return self.access

    async def membership(
        self, team_id: uuid.UUID, user_id: uuid.UUID | None = None
    ) -> Membership | None:
        """``user_id``'s (default: the actor's) membership of the team, or ``None``."""
        uid = user_id if user_id is not None else self.user.id
        source = self._access().source
        if source is None:
            raise RuntimeError("this service reads no team memberships (Access source=)")
        return await source.lookup(self, team_id, uid)

    @overload
    async def authorize(
        self,
        team_id: uuid.UUID,
        action: str,
        *,
        author_id: uuid.UUID | None = None,
        not_found: str = ...,
    ) -> Membership: ...

    @overload
    async def authorize(
        self,
        team_id: None,
        action: str,
        *,
        author_id: uuid.UUID | None = None,
        not_found: str = ...,
    ) -> None: ...

    @overload
    async def authorize(
        self,
        team_id: uuid.UUID | None,
        action: str,
        *,
        author_id: uuid.UUID | None = None,
        not_found: str = ...,
    ) -> Membership | None: ...

    async def authorize(
        self,
        team_id: uuid.UUID | None,
        action: str,
        *,
        author_id: uuid.UUID | None = None,
        not_found: str = "Team not found.",
    ) -> Membership | None:
        """The actor's membership of ``team_id`` (``None`` for a resource without a team) if
        the service's table allows ``action``, else ``NotFound(not_found)`` (not a member, or
        someone else's personal resource: its existence is not revealed) or ``Forbidden``.
        """
        actor = self.user
        member = None
        if team_id is not None:
            member = await self.membership(team_id)
            if member is None:
                raise NotFound(not_found)
        grant = Grant(actor=actor, member=member, author_id=author_id)
        permissions = self._access().permissions
        if team_id is None and author_id is not None and not permissions.allows(action, grant):
            raise NotFound(not_found)
        permissions.check(action, grant)
        return member

    def allows(
        self, action: str, member: Membership | None, *, author_id: uuid.UUID | None = None
    ) -> bool:
        """Whether the actor may do ``action`` (for answers that depend on it, no error)."""
        grant = Grant(actor=self.actor, member=member, author_id=author_id)
        return self._access().permissions.allows(action, grant)


def context_for(app: Any, session: AsyncSession, actor: AuthUser | None = None) -> Context:
    """The context of ``app`` around ``session`` (consumers and jobs: ``actor`` None)."""
    state = app.state
    return Context(
        session=session,
        actor=actor,
        clock=getattr(state, "clock", None) or system_clock,
        settings=getattr(state, "settings", None),
        access=getattr(state, "access", None),
        state=state,
    )


# The two context dependencies take the request and its bearer credentials only, and call what
# ``SessionDep`` and ``CurrentUser`` would resolve themselves: FastAPI solves every dependency of
# the tree on every request (~20 % of an authenticated one-row read's CPU with five dependants,
# py-spy on identity's GET /users/me; now three). An endpoint that also asks for ``SessionDep`` or
# ``CurrentUser`` gets the same session and user (the unit of work and the scope keep them).
async def request_context(request: Request, credentials: BearerCredentials) -> Context:
    user = await current_user(request, credentials)
    return context_for(request.app, await get_session(request), user)


async def optional_context(request: Request, credentials: BearerCredentials) -> Context:
    user = await optional_user(request, credentials)
    return context_for(request.app, await get_session(request), user)


ContextDep = Annotated[Context, Depends(request_context)]
"""An authenticated request's context (401 without a valid access token)."""

PublicContextDep = Annotated[Context, Depends(optional_context)]
"""A request's context whether or not it carries an access token (``actor`` may be None)."""
