"""Team membership authorization, the same in every service.

Every service that keeps data of a team answers "is this user a member of this team, with which
role?" from its own database, never the teams database:

- a local projection, ``team_members`` (and ``deleted_teams``), installed on the service's MetaData
  by :func:`install_membership_tables` (so its Alembic migrations create them), kept up to date by
  :func:`membership_consumer_handlers` from ``teams.member.*`` and ``teams.team.deleted`` events
  (the member an event is about is :func:`member_of`: ``data.member_id``, or ``data.user_id`` in
  events produced before ``member_id`` existed; ``user_id`` is otherwise the actor);
- on a miss, a read-through to the teams service (:class:`TeamsClient`, ``GET
  /internal/v1/teams/{team_id}/members/{user_id}`` with the caller's own bearer token forwarded),
  whose answer is cached in the projection. So a user who has just created a team can create a
  board in it in the very next request: no eventual-consistency 403.

Ordering: teams numbers every membership change of a team (``seq``, strictly increasing per team,
under a lock of the team row). A projection row remembers the ``seq`` it reflects and is only
overwritten by a larger one, so a replayed or late ``teams.member.added`` never resurrects a
member whose ``teams.member.removed`` was already applied. A removal keeps the row as a tombstone
(``role`` NULL): the member has lost access, and the ``seq`` guard stays. A deleted team is
remembered in ``deleted_teams`` and never comes back.

Roles and what they may do are read from one table, :data:`PERMISSIONS` (``can(role, action)``).
Non-members get 404, never 403, so nobody learns that another team exists.

Use in a service::

    membership = install_membership_tables(Base.metadata)          # models.py

    @on_team_deleted(membership)                                     # the service's team data
    async def drop_boards(session: AsyncSession, team_id: uuid.UUID, event: CloudEvent) -> None:
        await session.execute(delete(Board).where(Board.team_id == team_id))

    membership_consumer_handlers(consumer, membership)              # consumers
    create_service_app(..., on_startup=[membership_runtime(membership), event_runtime(...)])

    @router.post("/api/v1/teams/{team_id}/boards")
    async def create_board(member: TeamMember, ...): ...             # any member
    async def delete_board(member: Annotated[Membership, Depends(team_member("admin"))]): ...
    m = await require_membership(session, request, board.team_id, user, "admin")  # indirect
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.auth import AuthUser, CurrentUser
from vc_common.errors import Forbidden, NotFound, ServiceUnavailable
from vc_common.events.envelope import CloudEvent
from vc_common.logging import request_id_var
from vc_common.telemetry import inject_traceparent
from vc_common.uow import SessionDep

if TYPE_CHECKING:
    from vc_common.events.consumer import Consumer

log = logging.getLogger("vc.membership")

DEFAULT_TEAMS_URL = "http://127.0.0.1:8102"
INTERNAL_MEMBER_PATH = "/internal/v1/teams/{team_id}/members/{user_id}"


# --------------------------------------------------------------------------------------------
# Roles and the permission matrix (the one place that says who may do what)
# --------------------------------------------------------------------------------------------


class Role(StrEnum):
    """``owner > admin > member``; compare with ``<``/``>=`` (by rank, not alphabetically)."""

    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role | str) -> bool:
        return self.rank >= Role(other).rank

    def __lt__(self, other: str) -> bool:
        return self.rank < Role(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Role(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Role(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Role(other).rank


_RANK = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Action(StrEnum):
    READ = "read"  # everything of the team
    CREATE_CONTENT = "create_content"  # tasks, comments, messages, focus sessions...
    MANAGE_MEMBERS = "manage_members"  # add, change role, remove (not owners: see teams)
    MANAGE_BOARDS = "manage_boards"
    MANAGE_COLUMNS = "manage_columns"
    MANAGE_LABELS = "manage_labels"
    MANAGE_ROOMS = "manage_rooms"
    UPDATE_TEAM = "update_team"
    MANAGE_OWNERS = "manage_owners"  # grant, change or remove the owner role
    TRANSFER_OWNERSHIP = "transfer_ownership"
    DELETE_TEAM = "delete_team"


PERMISSIONS: dict[Action, Role] = {
    Action.READ: Role.MEMBER,
    Action.CREATE_CONTENT: Role.MEMBER,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.MANAGE_BOARDS: Role.ADMIN,
    Action.MANAGE_COLUMNS: Role.ADMIN,
    Action.MANAGE_LABELS: Role.ADMIN,
    Action.MANAGE_ROOMS: Role.ADMIN,
    Action.UPDATE_TEAM: Role.ADMIN,
    Action.MANAGE_OWNERS: Role.OWNER,
    Action.TRANSFER_OWNERSHIP: Role.OWNER,
    Action.DELETE_TEAM: Role.OWNER,
}
"""The least role that may perform each action (the contract's matrix)."""


def min_role_for(action: Action | str) -> Role:
    return PERMISSIONS[Action(action)]


def can(role: Role | str | None, action: Action | str) -> bool:
    """May a member with ``role`` perform ``action``? ``None`` (not a member) may do nothing."""
    return role is not None and Role(role).at_least(min_role_for(action))


@dataclass(frozen=True, slots=True)
class Membership:
    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Role

    def can(self, action: Action | str) -> bool:
        return can(self.role, action)

    def require(self, action: Action | str) -> None:
        """``Forbidden`` (403: the caller sees the team) unless the role allows ``action``."""
        if not self.can(action):
            raise Forbidden(f"This needs the {min_role_for(action)} role in the team.")


# --------------------------------------------------------------------------------------------
# The projection tables
# --------------------------------------------------------------------------------------------

TeamDeletedHook = Callable[[AsyncSession, uuid.UUID, CloudEvent], Awaitable[None]]


@dataclass(eq=False)
class MembershipTables:
    team_members: Table
    deleted_teams: Table
    team_deleted_hooks: list[TeamDeletedHook] = field(default_factory=list)


_installed: dict[int, MembershipTables] = {}


def install_membership_tables(metadata: MetaData) -> MembershipTables:
    """Add ``team_members`` and ``deleted_teams`` to a service's MetaData (idempotent)."""
    key = id(metadata)
    if key in _installed:
        return _installed[key]
    team_members = Table(
        "team_members",
        metadata,
        Column("team_id", Uuid, nullable=False),
        Column("user_id", Uuid, nullable=False),
        # NULL: removed (a tombstone that keeps the seq guard); the user has no access
        Column("role", String(16), nullable=True),
        Column("seq", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
        PrimaryKeyConstraint("team_id", "user_id"),
        Index("ix_team_members_user_id", "user_id"),
    )
    deleted_teams = Table(
        "deleted_teams",
        metadata,
        Column("team_id", Uuid, primary_key=True),
        Column("deleted_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    )
    tables = MembershipTables(team_members=team_members, deleted_teams=deleted_teams)
    _installed[key] = tables
    return tables


def membership_tables_of(metadata: MetaData) -> MembershipTables | None:
    return _installed.get(id(metadata))


def on_team_deleted(tables: MembershipTables) -> Callable[[TeamDeletedHook], TeamDeletedHook]:
    """Register ``async def hook(session, team_id, event)``: it deletes the service's data of a
    deleted team, in the same transaction as the projection update (and the inbox row)."""

    def register(hook: TeamDeletedHook) -> TeamDeletedHook:
        tables.team_deleted_hooks.append(hook)
        return hook

    return register


# --------------------------------------------------------------------------------------------
# Reading and writing the projection
# --------------------------------------------------------------------------------------------


async def team_is_deleted(
    session: AsyncSession, tables: MembershipTables, team_id: uuid.UUID
) -> bool:
    t = tables.deleted_teams
    return (
        await session.execute(select(t.c.team_id).where(t.c.team_id == team_id))
    ).first() is not None


async def cached_membership(
    session: AsyncSession, tables: MembershipTables, team_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    """The projection's answer only (no read-through): a live row, or None."""
    t = tables.team_members
    role = (
        await session.execute(
            select(t.c.role).where(t.c.team_id == team_id, t.c.user_id == user_id)
        )
    ).scalar_one_or_none()
    return Membership(team_id, user_id, Role(role)) if role is not None else None


async def team_member_ids(
    session: AsyncSession, tables: MembershipTables, team_id: uuid.UUID
) -> list[uuid.UUID]:
    """Members of a team as the projection knows them (complete once the consumer caught up)."""
    t = tables.team_members
    rows = await session.execute(
        select(t.c.user_id).where(t.c.team_id == team_id, t.c.role.is_not(None))
    )
    return [r[0] for r in rows]


async def user_team_ids(
    session: AsyncSession, tables: MembershipTables, user_id: uuid.UUID
) -> list[uuid.UUID]:
    t = tables.team_members
    rows = await session.execute(
        select(t.c.team_id).where(t.c.user_id == user_id, t.c.role.is_not(None))
    )
    return [r[0] for r in rows]


async def _apply(
    session: AsyncSession,
    tables: MembershipTables,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role | None,
    seq: int,
) -> bool:
    """Upsert one projection row unless it already reflects ``seq`` or later. True if applied."""
    if await team_is_deleted(session, tables, team_id):
        return False
    t = tables.team_members
    stmt = pg_insert(t).values(
        team_id=team_id, user_id=user_id, role=role.value if role else None, seq=seq
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[t.c.team_id, t.c.user_id],
        set_={"role": stmt.excluded.role, "seq": stmt.excluded.seq, "updated_at": func.now()},
        where=t.c.seq < stmt.excluded.seq,
    ).returning(t.c.seq)
    return (await session.execute(upsert)).first() is not None


async def apply_member(
    session: AsyncSession,
    tables: MembershipTables,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role | str,
    seq: int,
) -> bool:
    return await _apply(session, tables, team_id, user_id, Role(role), seq)


async def apply_removed(
    session: AsyncSession,
    tables: MembershipTables,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    seq: int,
) -> bool:
    return await _apply(session, tables, team_id, user_id, None, seq)


async def apply_team_deleted(
    session: AsyncSession, tables: MembershipTables, team_id: uuid.UUID, event: CloudEvent
) -> None:
    """Forget the team's members, remember the team is gone, run the service's hooks."""
    await session.execute(
        delete(tables.team_members).where(tables.team_members.c.team_id == team_id)
    )
    d = tables.deleted_teams
    await session.execute(
        pg_insert(d).values(team_id=team_id, deleted_at=event.time).on_conflict_do_nothing()
    )
    for hook in tables.team_deleted_hooks:
        await hook(session, team_id, event)


# --------------------------------------------------------------------------------------------
# Consumer handlers
# --------------------------------------------------------------------------------------------


def _uuid(data: dict[str, Any], key: str) -> uuid.UUID:
    return uuid.UUID(str(data[key]))


def member_of(event: CloudEvent) -> uuid.UUID:
    """The member a ``teams.member.*`` event is about (added, role changed, removed or left).

    ``data.member_id`` since teams follows the contract (``user_id`` = the acting user); events
    produced before that carry no ``member_id`` and put the member in ``user_id``, so that is
    the fallback. Read the actor from ``actor_id`` (the actor in both shapes), never ``user_id``.
    """
    data = event.data
    member = data.get("member_id")
    return uuid.UUID(str(member if member is not None else data["user_id"]))


def membership_consumer_handlers(consumer: Consumer, tables: MembershipTables) -> None:
    """Register the projection's handlers on a service's :class:`Consumer`.

    ``teams.member.added`` / ``.role_changed`` set the role, ``.removed`` tombstones the row (the
    user loses access now), ``teams.team.deleted`` forgets the team and runs the
    :func:`on_team_deleted` hooks. All of them are guarded by ``seq``, so duplicates and late
    replays change nothing. The row changed is the member's (:func:`member_of`), never the
    actor's.
    """

    @consumer.on("teams.member.added", "teams.member.role_changed")
    async def on_member_set(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        applied = await apply_member(
            session,
            tables,
            _uuid(data, "team_id"),
            member_of(event),
            data["role"],
            int(data["seq"]),
        )
        if not applied:
            log.debug("stale %s ignored (team %s seq %s)", event.type, data["team_id"], data["seq"])

    @consumer.on("teams.member.removed")
    async def on_member_removed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        await apply_removed(
            session, tables, _uuid(data, "team_id"), member_of(event), int(data["seq"])
        )

    @consumer.on("teams.team.deleted")
    async def on_deleted(session: AsyncSession, event: CloudEvent) -> None:
        await apply_team_deleted(session, tables, _uuid(event.data, "team_id"), event)

    @consumer.on_reset
    async def forget_memberships(session: AsyncSession) -> None:
        await session.execute(delete(tables.team_members))
        await session.execute(delete(tables.deleted_teams))


# --------------------------------------------------------------------------------------------
# Read-through to the teams service
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberAnswer:
    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    seq: int


class TeamsClient:
    """Typed client of the teams service's internal membership route.

    Authentication: the caller's own access token is forwarded. Teams answers about
    ``user_id`` only when the token's subject is that user or a member of the team, so the
    route tells nobody more than ``GET /api/v1/teams/{id}/members`` already would; and it is
    not routed by the gateway (``/internal/...``), so clients never see it.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_TEAMS_URL,
        *,
        timeout: float = 2.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._own = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0))
        )

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def membership(
        self, team_id: uuid.UUID, user_id: uuid.UUID, *, token: str
    ) -> MemberAnswer | None:
        """The user's role in the team, ``None`` if not a member (or no such team).

        Raises ``ServiceUnavailable`` when teams cannot answer (timeout, 5xx): the caller gets a
        503 and may retry, never a wrong 404.
        """
        headers = inject_traceparent(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        rid = request_id_var.get()
        if rid:
            headers["X-Request-ID"] = rid
        url = self.base_url + INTERNAL_MEMBER_PATH.format(team_id=team_id, user_id=user_id)
        try:
            resp = await self._client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("teams membership lookup failed: %s", exc)
            raise ServiceUnavailable(
                "Team membership cannot be checked right now; retry.", headers={"Retry-After": "1"}
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("teams membership lookup answered %s", resp.status_code)
            raise ServiceUnavailable(
                "Team membership cannot be checked right now; retry.", headers={"Retry-After": "1"}
            )
        body = resp.json()
        return MemberAnswer(
            team_id=uuid.UUID(body["team_id"]),
            user_id=uuid.UUID(body["user_id"]),
            role=Role(body["role"]),
            seq=int(body["seq"]),
        )


def teams_url_of(settings: Any) -> str:
    """``settings.teams_url`` when the service declares it, else ``TEAMS_URL``, else default."""
    url = getattr(settings, "teams_url", None) or os.environ.get("TEAMS_URL")
    return str(url or DEFAULT_TEAMS_URL)


def membership_runtime(
    tables: MembershipTables, *, teams_url: str | None = None, timeout: float = 2.0
) -> Callable[[FastAPI, AsyncExitStack], Awaitable[None]]:
    """Startup hook: makes ``tables`` the app's projection and opens one pooled TeamsClient."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        app.state.membership = tables
        if getattr(app.state, "teams_client", None) is None:
            client = TeamsClient(teams_url or teams_url_of(app.state.settings), timeout=timeout)
            app.state.teams_client = client
            stack.push_async_callback(client.aclose)

    return hook


def _tables_of(app: Any) -> MembershipTables:
    tables: MembershipTables | None = getattr(app.state, "membership", None)
    if tables is not None:
        return tables
    if len(_installed) == 1:
        return next(iter(_installed.values()))
    raise RuntimeError("no membership projection: add membership_runtime(tables) to on_startup")


async def _ask_teams(
    app: Any, team_id: uuid.UUID, user_id: uuid.UUID, token: str
) -> MemberAnswer | None:
    client: TeamsClient | None = getattr(app.state, "teams_client", None)
    if client is not None:
        return await client.membership(team_id, user_id, token=token)
    transient = TeamsClient(teams_url_of(getattr(app.state, "settings", None)))
    try:
        return await transient.membership(team_id, user_id, token=token)
    finally:
        await transient.aclose()


async def lookup_membership(
    session: AsyncSession, request: Request, team_id: uuid.UUID, user_id: uuid.UUID, *, token: str
) -> Membership | None:
    """``user_id``'s membership of the team: the projection, else teams (cached on the way).

    ``token`` authenticates the read-through: the caller's token (teams answers about another
    user only to a member of the same team). The cached row is written in ``session``, so it is
    kept when the request's unit of work commits.
    """
    tables = _tables_of(request.app)
    if await team_is_deleted(session, tables, team_id):
        return None
    cached = await cached_membership(session, tables, team_id, user_id)
    if cached is not None:
        return cached
    answer = await _ask_teams(request.app, team_id, user_id, token)
    if answer is None:
        return None
    await apply_member(session, tables, team_id, user_id, answer.role, answer.seq)
    return Membership(team_id, user_id, answer.role)


async def require_membership(
    session: AsyncSession,
    request: Request,
    team_id: uuid.UUID,
    user: AuthUser,
    min_role: Role | str = Role.MEMBER,
) -> Membership:
    """The caller's membership, or ``NotFound`` (not a member: the team's existence is not
    revealed) or ``Forbidden`` (a member whose role is below ``min_role``)."""
    member = await lookup_membership(session, request, team_id, user.id, token=user.token)
    if member is None:
        raise NotFound("Team not found.")
    if not member.role.at_least(min_role):
        raise Forbidden(f"This needs the {Role(min_role)} role in the team.")
    return member


def team_member(min_role: Role | str = Role.MEMBER) -> Callable[..., Awaitable[Membership]]:
    """A dependency reading ``team_id`` from the path: the caller's membership of at least
    ``min_role`` (404 for a non-member, 403 for a lower role)."""
    role = Role(min_role)

    async def dependency(
        team_id: uuid.UUID, request: Request, session: SessionDep, user: CurrentUser
    ) -> Membership:
        return await require_membership(session, request, team_id, user, role)

    dependency.__name__ = f"team_{role.value}"
    return dependency


def team_member_for(action: Action | str) -> Callable[..., Awaitable[Membership]]:
    """:func:`team_member` with the least role the permission matrix gives ``action``."""
    return team_member(min_role_for(action))


TeamMember = Annotated[Membership, Depends(team_member(Role.MEMBER))]
TeamAdmin = Annotated[Membership, Depends(team_member(Role.ADMIN))]
TeamOwner = Annotated[Membership, Depends(team_member(Role.OWNER))]

__all__: Sequence[str] = (
    "PERMISSIONS",
    "Action",
    "MemberAnswer",
    "Membership",
    "MembershipTables",
    "Role",
    "TeamAdmin",
    "TeamMember",
    "TeamOwner",
    "TeamsClient",
    "apply_member",
    "apply_removed",
    "apply_team_deleted",
    "cached_membership",
    "can",
    "install_membership_tables",
    "lookup_membership",
    "member_of",
    "membership_consumer_handlers",
    "membership_runtime",
    "min_role_for",
    "on_team_deleted",
    "require_membership",
    "team_member",
    "team_member_for",
    "team_member_ids",
    "user_team_ids",
)
