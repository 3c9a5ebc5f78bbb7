"""teams_client: roles, the projection kept from teams' events (in order, idempotent,
tombstones), the team-deleted hook, and ``Context.authorize`` over the projection with a service's
permission table.

The read-through to a real teams service is tested in services/teams/tests
(test_membership_readthrough.py), where the teams app can be started.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter
from sqlalchemy import Column, MetaData, Table, Uuid, delete, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from teams_client import ADMIN, MEMBER, MembershipProjection, Role
from teams_client.events import member_of
from vc_common.app import create_service_app
from vc_common.authz import AUTHOR, Access, Permissions
from vc_common.context import Context, ContextDep
from vc_common.db import Database
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.tables import install_event_tables
from vc_common.models import service_metadata
from vc_common.ports import free_port
from vc_common.settings import ServiceSettings
from vc_common.tables import install_common_tables
from vc_common.testing.keys import TestSigner
from vc_common.testing.plugin import create_database, drop_database, running

# ----------------------------------------------------------------------------- roles


def test_roles_are_ordered_by_rank_not_alphabet() -> None:
    assert Role.MEMBER < Role.ADMIN < Role.OWNER
    assert Role.OWNER > "admin"
    assert sorted([Role.OWNER, Role.MEMBER, Role.ADMIN]) == [Role.MEMBER, Role.ADMIN, Role.OWNER]
    assert Role.ADMIN.at_least("member")
    assert not Role.ADMIN.at_least(Role.OWNER)
    assert max(Role) == Role.OWNER


# ----------------------------------------------------------------------------- a service


@dataclass
class Svc:
    db: Database
    tables: MembershipProjection
    things: Table
    consumer: Consumer
    hook_calls: list[uuid.UUID]
    fail_hook: list[bool]


@pytest_asyncio.fixture(scope="module")
async def svc() -> AsyncIterator[Svc]:
    metadata: MetaData = service_metadata()
    install_common_tables(metadata)
    install_event_tables(metadata)
    tables = MembershipProjection(metadata)
    things = Table(
        "things",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("team_id", Uuid, nullable=False),
    )
    calls: list[uuid.UUID] = []
    fail: list[bool] = [False]

    @tables.on_team_deleted
    async def drop_things(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
        assert event.type == "teams.team.deleted"
        await ctx.session.execute(delete(things).where(things.c.team_id == team_id))
        calls.append(team_id)
        if fail[0]:
            raise RuntimeError("the service's clean-up failed")

    consumer = Consumer("membership-test")
    tables.register(consumer)
    tables.register(consumer)  # idempotent: the handlers are registered once
    name = f"test_vc_membership_{os.getpid()}"
    url = await create_database(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    db = Database(url, pool_size=2)
    try:
        yield Svc(db, tables, things, consumer, calls, fail)
    finally:
        await db.dispose()
        await drop_database(name)


def member_event(
    type_: str,
    team: uuid.UUID,
    user: uuid.UUID,
    seq: int,
    role: str = "member",
    *,
    actor: uuid.UUID | None = None,
    old_shape: bool = False,
) -> CloudEvent:
    """A ``teams.member.*`` event about member ``user``, done by ``actor`` (default: ``user``).

    ``old_shape``: as teams produced them before ``member_id``: the member in ``user_id``.
    """
    actor = actor or user
    ids = (
        {"user_id": str(user), "actor_id": str(actor)}
        if old_shape
        else {"user_id": str(actor), "actor_id": str(actor), "member_id": str(user)}
    )
    return CloudEvent(
        source="teams",
        type=f"teams.member.{type_}",
        subject=str(team),
        data={"team_id": str(team), **ids, "role": role, "seq": seq},
    )


async def state(svc: Svc, team: uuid.UUID) -> dict[uuid.UUID, tuple[str | None, int]]:
    t = svc.tables.team_members
    async with svc.db.engine.connect() as conn:
        rows = await conn.execute(select(t.c.user_id, t.c.role, t.c.seq).where(t.c.team_id == team))
        return {r.user_id: (r.role, r.seq) for r in rows}


async def test_projection_follows_events_in_seq_order(svc: Svc) -> None:
    team, alice, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    added = member_event("added", team, alice, 2)
    assert await svc.consumer.handle(svc.db, added) is True
    assert await svc.consumer.handle(svc.db, added) is False  # duplicate delivery
    await svc.consumer.handle(svc.db, member_event("added", team, bob, 3, "admin"))
    await svc.consumer.handle(svc.db, member_event("role_changed", team, alice, 4, "admin"))
    # a late role change (older seq, delivered after a retry) does not win
    await svc.consumer.handle(svc.db, member_event("role_changed", team, alice, 1, "owner"))
    assert await state(svc, team) == {alice: ("admin", 4), bob: ("admin", 3)}

    await svc.consumer.handle(svc.db, member_event("removed", team, alice, 5, "admin"))
    assert await state(svc, team) == {alice: (None, 5), bob: ("admin", 3)}
    # replays of the old "added" (same id or a new copy) resurrect nobody
    await svc.consumer.handle(svc.db, added)
    await svc.consumer.handle(svc.db, member_event("added", team, alice, 2))
    assert (await state(svc, team))[alice] == (None, 5)
    # a real re-join has a newer seq
    await svc.consumer.handle(svc.db, member_event("added", team, alice, 6))
    assert (await state(svc, team))[alice] == ("member", 6)


def test_member_of_reads_member_id_else_the_old_user_id() -> None:
    team, member, actor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert member_of(member_event("added", team, member, 1, actor=actor)) == member
    assert member_of(member_event("added", team, member, 1, actor=actor, old_shape=True)) == member


async def test_an_old_shape_event_is_applied_to_the_member(svc: Svc) -> None:
    """Events produced before member_id (still in the brokers) carry the member in user_id."""
    team, owner, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await svc.consumer.handle(svc.db, member_event("added", team, owner, 1, "owner"))
    old = member_event("added", team, bob, 2, actor=owner, old_shape=True)
    assert "member_id" not in old.data
    assert old.data["user_id"] == str(bob)
    assert await svc.consumer.handle(svc.db, old) is True
    assert await state(svc, team) == {owner: ("owner", 1), bob: ("member", 2)}
    removed = member_event("removed", team, bob, 3, actor=owner, old_shape=True)
    assert await svc.consumer.handle(svc.db, removed) is True
    assert await state(svc, team) == {owner: ("owner", 1), bob: (None, 3)}


async def test_a_new_shape_event_changes_the_members_row_not_the_actors(svc: Svc) -> None:
    """user_id is the actor (the contract): the row changed is member_id's."""
    team, owner, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await svc.consumer.handle(svc.db, member_event("added", team, owner, 1, "owner"))
    added = member_event("added", team, bob, 2, actor=owner)
    assert (added.data["user_id"], added.data["member_id"]) == (str(owner), str(bob))
    await svc.consumer.handle(svc.db, added)
    assert await state(svc, team) == {owner: ("owner", 1), bob: ("member", 2)}
    await svc.consumer.handle(
        svc.db, member_event("role_changed", team, bob, 3, "admin", actor=owner)
    )
    assert await state(svc, team) == {owner: ("owner", 1), bob: ("admin", 3)}
    await svc.consumer.handle(svc.db, member_event("removed", team, bob, 4, "admin", actor=owner))
    assert await state(svc, team) == {owner: ("owner", 1), bob: (None, 4)}
    # and a mixed history (an old event, then new ones) stays ordered by seq on the member's row
    await svc.consumer.handle(
        svc.db, member_event("added", team, bob, 3, actor=owner, old_shape=True)
    )
    assert (await state(svc, team))[bob] == (None, 4)


async def test_team_deleted_runs_the_hook_in_the_same_transaction(svc: Svc) -> None:
    team, other_team, alice = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await svc.consumer.handle(svc.db, member_event("added", team, alice, 1, "owner"))
    async with svc.db.unit_of_work() as s:
        await s.execute(
            insert(svc.things).values(
                [
                    {"id": uuid.uuid4(), "team_id": team},
                    {"id": uuid.uuid4(), "team_id": team},
                    {"id": uuid.uuid4(), "team_id": other_team},
                ]
            )
        )
    deleted = CloudEvent(
        source="teams",
        type="teams.team.deleted",
        subject=str(team),
        data={
            "team_id": str(team),
            "user_id": str(alice),
            "actor_id": str(alice),
            "member_ids": [str(alice)],
        },
    )

    async def things_of(t: uuid.UUID) -> int:
        async with svc.db.engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(svc.things)
                        .where(svc.things.c.team_id == t)
                    )
                ).scalar_one()
            )

    svc.fail_hook[0] = True  # the service's clean-up fails: nothing at all is applied
    with pytest.raises(RuntimeError):
        await svc.consumer.handle(svc.db, deleted)
    assert await things_of(team) == 2
    assert await state(svc, team) == {alice: ("owner", 1)}

    svc.fail_hook[0] = False  # the redelivery applies it, once
    assert await svc.consumer.handle(svc.db, deleted) is True
    assert await svc.consumer.handle(svc.db, deleted) is False
    assert svc.hook_calls == [team, team]
    assert await things_of(team) == 0
    assert await things_of(other_team) == 1
    assert await state(svc, team) == {}
    # the team stays deleted: a late "added" is ignored
    await svc.consumer.handle(svc.db, member_event("added", team, alice, 7))
    assert await state(svc, team) == {}


# ----------------------------------------------------------------------- Context.authorize

PERMISSIONS = Permissions(
    {"thing.read": MEMBER, "thing.manage": ADMIN, "thing.edit": AUTHOR | ADMIN}
)


@pytest_asyncio.fixture
async def api(svc: Svc) -> AsyncIterator[tuple[httpx.AsyncClient, TestSigner]]:
    """An app over the projection whose teams service is unreachable (a closed port)."""
    router = APIRouter()

    @router.get("/api/v1/teams/{team_id}/things")
    async def read(team_id: uuid.UUID, ctx: ContextDep) -> dict[str, str]:
        member = await ctx.authorize(team_id, "thing.read")
        return {"role": member.role.value}

    @router.delete("/api/v1/teams/{team_id}/things")
    async def manage(team_id: uuid.UUID, ctx: ContextDep) -> dict[str, str]:
        member = await ctx.authorize(team_id, "thing.manage")
        return {"role": member.role.value}

    @router.patch("/api/v1/teams/{team_id}/things/{author_id}")
    async def edit(team_id: uuid.UUID, author_id: uuid.UUID, ctx: ContextDep) -> dict[str, str]:
        member = await ctx.authorize(team_id, "thing.edit", author_id=author_id)
        return {"role": member.role.value}

    signer = TestSigner()
    os.environ["TEAMS_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = ServiceSettings(service_name="things", environment="test", database_url=svc.db.url)
    consumer = Consumer("things-test")
    svc.tables.register(consumer)
    app = create_service_app(
        settings,
        title="things",
        routers=[router],
        metadata=svc.tables.team_members.metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, svc.tables.reader(timeout=0.5)),
    )
    try:
        async with (
            running(app, None, signer),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://things"
            ) as client,
        ):
            yield client, signer
    finally:
        del os.environ["TEAMS_URL"]


def test_a_projection_nobody_keeps_is_refused(svc: Svc) -> None:
    settings = ServiceSettings(service_name="things", environment="test", database_url=svc.db.url)
    with pytest.raises(ValueError, match="follows no consumer"):
        create_service_app(
            settings,
            title="things",
            routers=[],
            metadata=svc.tables.team_members.metadata,
            consumers=[Consumer("unrelated-test")],
            access=Access(PERMISSIONS, svc.tables.reader()),
        )


def headers(signer: TestSigner, user: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {signer.token(user)}"}


async def test_dependencies_answer_from_the_projection(
    svc: Svc,
    api: tuple[httpx.AsyncClient, TestSigner],
) -> None:
    client, signer = api
    team, admin, member, stranger = (uuid.uuid4() for _ in range(4))
    await svc.consumer.handle(svc.db, member_event("added", team, admin, 1, "admin"))
    await svc.consumer.handle(svc.db, member_event("added", team, member, 2, "member"))
    url = f"/api/v1/teams/{team}/things"

    assert (await client.get(url, headers=headers(signer, admin))).json() == {"role": "admin"}
    assert (await client.delete(url, headers=headers(signer, admin))).status_code == 200
    assert (await client.get(url, headers=headers(signer, member))).status_code == 200
    forbidden = await client.delete(url, headers=headers(signer, member))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get("/api/v1/teams/not-a-uuid/things", headers=headers(signer, admin))
    ).status_code == 422

    # not in the projection and teams cannot be reached: 503 (retry), never a wrong 404/403
    down = await client.get(url, headers=headers(signer, stranger))
    assert down.status_code == 503
    assert down.headers["retry-after"] == "1"

    # the author, or an admin, edits; another member may not (403: they see the team)
    assert (
        await client.patch(f"{url}/{member}", headers=headers(signer, member))
    ).status_code == 200
    assert (
        await client.patch(f"{url}/{member}", headers=headers(signer, admin))
    ).status_code == 200
    other = await client.patch(f"{url}/{admin}", headers=headers(signer, member))
    assert other.status_code == 403
    assert other.json()["action"] == "thing.edit"

    # a removed member is not served from the projection any more (teams is asked: 503 here)
    await svc.consumer.handle(svc.db, member_event("removed", team, member, 3))
    assert (await client.get(url, headers=headers(signer, member))).status_code == 503


async def test_a_deleted_team_is_404_without_asking_teams(
    svc: Svc,
    api: tuple[httpx.AsyncClient, TestSigner],
) -> None:
    client, signer = api
    team, owner = uuid.uuid4(), uuid.uuid4()
    await svc.consumer.handle(svc.db, member_event("added", team, owner, 1, "owner"))
    await svc.consumer.handle(
        svc.db,
        CloudEvent(
            source="teams",
            type="teams.team.deleted",
            subject=str(team),
            data={
                "team_id": str(team),
                "user_id": str(owner),
                "actor_id": str(owner),
                "member_ids": [str(owner)],
            },
        ),
    )
    resp = await client.get(f"/api/v1/teams/{team}/things", headers=headers(signer, owner))
    assert resp.status_code == 404
