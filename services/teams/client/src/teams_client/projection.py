"""Teams' memberships as another service keeps them: a local projection with a read-through.

Every service that keeps a team's data answers "is this user a member of this team, with which
role?" from its own database, never teams' database::

    # models.py
    membership = MembershipProjection(Base.metadata)     # tables team_members, deleted_teams
    # consumers.py
    membership.register(consumer)

    @membership.on_team_deleted                           # the service's data of a deleted team
    async def drop_boards(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None: ...

    # app.py
    create_service_app(..., access=Access(PERMISSIONS, membership.reader(settings)))

- The projection follows ``teams.member.*`` and ``teams.team.deleted``: :meth:`register` it on the
  service's consumer (``create_service_app`` refuses a reader whose projection nobody keeps). teams
  numbers every membership change of a team (``seq``); a row is only overwritten by a larger
  ``seq``, so a replayed or late ``added`` never resurrects a removed member. A removal keeps a
  tombstone (``role`` NULL) that keeps the guard; a deleted team never comes back.
- On a miss, :class:`ProjectionReader` asks teams (:class:`~teams_client.client.TeamsClient`,
  with the actor's own token) and caches the answer in the caller's transaction: a user who has
  just created a team can use it in the very next request. Without an actor (a consumer, a job)
  the projection alone answers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.authz import Membership
from vc_common.context import Context
from vc_common.db import Prepared, database_of, is_read_only
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from teams_client import events
from teams_client.client import TeamsClient, teams_url
from teams_client.roles import Role

log = logging.getLogger("vc.teams_client.projection")

TeamDeletedHook = Callable[[Context, uuid.UUID, CloudEvent], Awaitable[None]]

#: ``session.info`` key of the standings a statement of the transaction already read
_PREFETCHED = "teams_client.prefetched_standing"


class MembershipProjection:
    def __init__(self, metadata: MetaData) -> None:
        self.team_members = Table(
            "team_members",
            metadata,
            Column("team_id", Uuid, nullable=False),
            Column("user_id", Uuid, nullable=False),
            # NULL: removed (a tombstone that keeps the seq guard); the user has no access
            Column("role", String(16), nullable=True),
            Column("seq", BigInteger, nullable=False),
            Column(
                "updated_at", DateTime(timezone=True), server_default=func.now(), nullable=False
            ),
            PrimaryKeyConstraint("team_id", "user_id"),
            Index("ix_team_members_user_id", "user_id"),
        )
        self.deleted_teams = Table(
            "deleted_teams",
            metadata,
            Column("team_id", Uuid, primary_key=True),
            Column(
                "deleted_at", DateTime(timezone=True), server_default=func.now(), nullable=False
            ),
        )
        self._team_deleted_hooks: list[TeamDeletedHook] = []
        self._consumers: set[str] = set()
        team, user = bindparam("team_id", type_=Uuid), bindparam("user_id", type_=Uuid)
        # what an authorization reads, in one round trip (it was two: deleted, then the role);
        # every request of every service makes it: built once, prepared (``vc_common.db``)
        self._standing = Prepared(select(*self.standing_of(team, user)))

    def standing_of(
        self, team_id: ColumnElement[uuid.UUID], user_id: ColumnElement[uuid.UUID]
    ) -> tuple[ColumnElement[bool], ColumnElement[str | None]]:
        """What an authorization reads (``deleted``, the live ``role`` or NULL), as two columns
        a service's own statement can carry: the statement that loads a resource reads its
        actor's standing in the same round trip, and hands it to :meth:`prefetched`."""
        m, d = self.team_members, self.deleted_teams
        return (
            exists().where(d.c.team_id == team_id).label("deleted"),
            select(m.c.role)
            .where(m.c.team_id == team_id, m.c.user_id == user_id)
            .scalar_subquery()
            .label("role"),
        )

    def prefetched(
        self,
        session: AsyncSession,
        team_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        deleted: bool,
        role: str | None,
    ) -> None:
        """The standing of ``user_id`` in ``team_id`` as a statement of this transaction read
        it (:meth:`standing_of`): the next lookup of that membership in ``session`` (an
        ``authorize``) takes it instead of a statement of its own, once."""
        session.info.setdefault(_PREFETCHED, {})[(team_id, user_id)] = (deleted, role)

    def on_team_deleted(self, hook: TeamDeletedHook) -> TeamDeletedHook:
        """Register ``async def hook(ctx, team_id, event)``: it deletes the service's data of a
        deleted team, in the same transaction as the projection update (and the inbox row)."""
        self._team_deleted_hooks.append(hook)
        return hook

    def reader(self, settings: Any = None, *, timeout: float = 2.0) -> ProjectionReader:
        return ProjectionReader(self, teams_url(settings), timeout=timeout)

    # -- reading --------------------------------------------------------------------------

    async def is_deleted(self, session: AsyncSession, team_id: uuid.UUID) -> bool:
        t = self.deleted_teams
        found = await session.execute(select(t.c.team_id).where(t.c.team_id == team_id))
        return found.first() is not None

    async def deleted_among(
        self, session: AsyncSession, team_ids: set[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of ``team_ids`` are deleted teams (one statement, for a batch of events)."""
        if not team_ids:
            return set()
        t = self.deleted_teams
        found = await session.execute(select(t.c.team_id).where(t.c.team_id.in_(team_ids)))
        return set(found.scalars())

    async def cached(
        self, session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None:
        """The projection's answer only (no read-through): a live row, or None."""
        t = self.team_members
        role = (
            await session.execute(
                select(t.c.role).where(t.c.team_id == team_id, t.c.user_id == user_id)
            )
        ).scalar_one_or_none()
        return Membership(team_id, user_id, Role(role)) if role is not None else None

    async def standing(
        self, session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[bool, Membership | None]:
        """Whether the team is deleted, and the projection's live membership (no read-through),
        in one statement (none when the caller's own statement read them: :meth:`prefetched`)."""
        known: dict[tuple[uuid.UUID, uuid.UUID], tuple[bool, str | None]] | None
        known = session.info.get(_PREFETCHED)
        found = known.pop((team_id, user_id), None) if known else None
        if found is None:
            deleted, role = await self._standing.one(session, team_id=team_id, user_id=user_id)
            found = (bool(deleted), role)
        deleted, role = found
        member = Membership(team_id, user_id, Role(role)) if role is not None else None
        return deleted, member

    async def member_ids(self, session: AsyncSession, team_id: uuid.UUID) -> list[uuid.UUID]:
        """Members of a team as the projection knows them (complete once the consumer caught up)."""
        t = self.team_members
        rows = await session.execute(
            select(t.c.user_id).where(t.c.team_id == team_id, t.c.role.is_not(None))
        )
        return [r[0] for r in rows]

    async def team_ids_of(self, session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
        t = self.team_members
        rows = await session.execute(
            select(t.c.team_id).where(t.c.user_id == user_id, t.c.role.is_not(None))
        )
        return [r[0] for r in rows]

    # -- writing --------------------------------------------------------------------------

    async def _apply(
        self,
        session: AsyncSession,
        team_id: uuid.UUID,
        user_id: uuid.UUID,
        role: Role | None,
        seq: int,
    ) -> bool:
        """Upsert one row unless it already reflects ``seq`` or later. True if applied."""
        if await self.is_deleted(session, team_id):
            return False
        t = self.team_members
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
        self,
        session: AsyncSession,
        team_id: uuid.UUID,
        user_id: uuid.UUID,
        role: Role | str,
        seq: int,
    ) -> bool:
        return await self._apply(session, team_id, user_id, Role(role), seq)

    async def apply_removed(
        self, session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID, seq: int
    ) -> bool:
        return await self._apply(session, team_id, user_id, None, seq)

    async def apply_team_deleted(self, ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
        """Forget the team's members, remember the team is gone, run the service's hooks."""
        session = ctx.session
        await session.execute(
            delete(self.team_members).where(self.team_members.c.team_id == team_id)
        )
        d = self.deleted_teams
        await session.execute(
            pg_insert(d).values(team_id=team_id, deleted_at=event.time).on_conflict_do_nothing()
        )
        for hook in self._team_deleted_hooks:
            await hook(ctx, team_id, event)

    # -- following teams' events ------------------------------------------------------------

    def register(self, consumer: Consumer) -> None:
        """Handlers on ``consumer`` (call it once, in the service's ``consumers.py``):
        ``added``/``role_changed`` set the role, ``removed`` tombstones the row,
        ``teams.team.deleted`` forgets the team and runs the hooks. All are guarded by ``seq``,
        so duplicates and late replays change nothing."""
        if consumer.name in self._consumers:
            return
        self._consumers.add(consumer.name)

        @consumer.on(events.MEMBER_ADDED, events.MEMBER_ROLE_CHANGED)
        async def on_member_set(ctx: Context, event: CloudEvent) -> None:
            data = event.data
            applied = await self.apply_member(
                ctx.session,
                uuid.UUID(str(data["team_id"])),
                events.member_of(event),
                data["role"],
                int(data["seq"]),
            )
            if not applied:
                log.debug(
                    "stale %s ignored (team %s seq %s)", event.type, data["team_id"], data["seq"]
                )

        @consumer.on(events.MEMBER_REMOVED)
        async def on_member_removed(ctx: Context, event: CloudEvent) -> None:
            data = event.data
            await self.apply_removed(
                ctx.session,
                uuid.UUID(str(data["team_id"])),
                events.member_of(event),
                int(data["seq"]),
            )

        @consumer.on(events.TEAM_DELETED)
        async def on_team_deleted(ctx: Context, event: CloudEvent) -> None:
            await self.apply_team_deleted(ctx, uuid.UUID(str(event.data["team_id"])), event)

        @consumer.on_reset
        async def forget_memberships(session: AsyncSession) -> None:
            await session.execute(delete(self.team_members))
            await session.execute(delete(self.deleted_teams))


class ProjectionReader:
    """The :class:`~vc_common.authz.MembershipSource` of a service that keeps the projection."""

    def __init__(self, projection: MembershipProjection, url: str, *, timeout: float) -> None:
        self.projection = projection
        self.url = url
        self.timeout = timeout
        self.client: TeamsClient | None = None

    async def start(self, app: Any, stack: AsyncExitStack) -> None:
        del app
        self.client = TeamsClient(self.url, timeout=self.timeout)
        stack.push_async_callback(self.client.aclose)

    def ensure_followed(self, consumers: Sequence[Consumer]) -> None:
        """``create_service_app`` checks that a consumer of the service keeps the projection."""
        if not any(c.name in self.projection._consumers for c in consumers):
            raise ValueError(
                "the membership projection follows no consumer of this service: call "
                "membership.register(consumer) in its consumers.py"
            )

    async def lookup(
        self, ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None:
        """The projection, else (with an actor) teams, whose answer is cached in ``ctx.session``
        and so kept when the unit of work commits."""
        p = self.projection
        deleted, cached = await p.standing(ctx.session, team_id, user_id)
        if deleted:
            return None
        if cached is not None or ctx.actor is None:
            return cached
        if self.client is None:
            raise RuntimeError("ProjectionReader.start was not run (create_service_app does it)")
        answer = await self.client.membership(team_id, user_id, token=ctx.actor.token)
        if answer is None:
            return None
        if is_read_only(ctx.session):
            # a safe-method request's session does not write: the cache fill is a unit of its own
            # (idempotent: the projection keeps the highest seq)
            async with database_of(ctx.session).unit_of_work() as session:
                await p.apply_member(session, team_id, user_id, answer.role, answer.seq)
        else:
            await p.apply_member(ctx.session, team_id, user_id, answer.role, answer.seq)
        return Membership(team_id, user_id, answer.role)
