"""teams_client's projection end to end against the real teams service (uvicorn, a free port).

A stand-in "boards" service (its own database, built like any service: a
``MembershipProjection``, a permission table, ``ctx.authorize`` in its rules). Its projection is
empty at first, so a team created a moment ago is found by reading through to teams; then the
projection is kept by teams' real events, taken from teams' outbox and fed through
``Consumer.handle``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter
from sqlalchemy import Column, MetaData, Table, Uuid, delete, insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from teams.models import event_tables as teams_event_tables
from teams_client import ADMIN, MEMBER, MembershipProjection
from vc_common.app import create_service_app
from vc_common.authz import Access, Permissions
from vc_common.context import Context, ContextDep
from vc_common.db import Database
from vc_common.errors import NotFound
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.tables import install_event_tables
from vc_common.models import service_metadata
from vc_common.settings import ServiceSettings
from vc_common.tables import install_common_tables
from vc_common.testing.plugin import TestUser, create_database, drop_database, running

PERMISSIONS = Permissions({"thing.read": MEMBER, "thing.create": ADMIN})


@dataclass
class Boards:
    client: httpx.AsyncClient
    db: Database
    tables: MembershipProjection
    things: Table
    consumer: Consumer


def boards_service(things: Table) -> APIRouter:
    router = APIRouter()

    @router.post("/api/v1/teams/{team_id}/things", status_code=201)
    async def create_thing(team_id: uuid.UUID, ctx: ContextDep) -> dict[str, str]:
        member = await ctx.authorize(team_id, "thing.create")
        thing_id = uuid.uuid4()
        await ctx.session.execute(insert(things).values(id=thing_id, team_id=team_id))
        return {"id": str(thing_id), "role": member.role.value}

    @router.get("/api/v1/teams/{team_id}/things")
    async def list_things(team_id: uuid.UUID, ctx: ContextDep) -> list[str]:
        await ctx.authorize(team_id, "thing.read")
        rows = await ctx.session.execute(select(things.c.id).where(things.c.team_id == team_id))
        return [str(r[0]) for r in rows]

    @router.get("/api/v1/things/{thing_id}")
    async def get_thing(thing_id: uuid.UUID, ctx: ContextDep) -> dict[str, str]:
        team_id = (
            await ctx.session.execute(select(things.c.team_id).where(things.c.id == thing_id))
        ).scalar()
        if team_id is None:
            raise NotFound("Thing not found.")
        member = await ctx.authorize(team_id, "thing.read", not_found="Thing not found.")
        return {"id": str(thing_id), "role": member.role.value}

    return router


@pytest_asyncio.fixture
async def boards(
    teams_server: Any, signer: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Boards]:
    metadata: MetaData = service_metadata()
    install_common_tables(metadata)
    install_event_tables(metadata)
    tables = MembershipProjection(metadata)
    things = Table(
        "things",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("team_id", Uuid, nullable=False, index=True),
    )

    @tables.on_team_deleted
    async def drop_things(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
        del event
        await ctx.session.execute(delete(things).where(things.c.team_id == team_id))

    consumer = Consumer("boards-test")
    tables.register(consumer)

    name = f"test_boards_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = await create_database(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    monkeypatch.setenv("TEAMS_URL", teams_server.url)
    monkeypatch.setenv("EVENTS_ENABLED", "false")
    settings = ServiceSettings(service_name="boards", environment="test", database_url=url)
    app = create_service_app(
        settings,
        title="boards",
        routers=[boards_service(things)],
        metadata=metadata,
        consumers=[consumer],
        access=Access(PERMISSIONS, tables.reader(settings)),
    )
    try:
        async with (
            running(app, None, signer),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://boards"
            ) as client,
        ):
            yield Boards(client, app.state.db, tables, things, consumer)
    finally:
        await drop_database(name)


async def teams_events(database_url: str, team_id: str) -> list[CloudEvent]:
    engine = create_async_engine(database_url)
    t = teams_event_tables.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(t.c.payload).where(t.c.subject == team_id).order_by(t.c.seq)
        )
        events = [CloudEvent.model_validate(r[0]) for r in rows]
    await engine.dispose()
    return events


async def projection(b: Boards, team_id: Any) -> dict[str, tuple[str | None, int]]:
    t = b.tables.team_members
    async with b.db.engine.connect() as conn:
        rows = await conn.execute(
            select(t.c.user_id, t.c.role, t.c.seq).where(t.c.team_id == uuid.UUID(str(team_id)))
        )
        return {str(r.user_id): (r.role, r.seq) for r in rows}


async def test_a_new_team_is_usable_at_once_then_events_keep_the_projection(
    teams_server: Any,
    boards: Boards,
    database_url: str,
    make_user: Callable[..., TestUser],
    identity_users: dict[uuid.UUID, str],
) -> None:
    owner, bob, outsider = make_user(), make_user(), make_user()
    identity_users[bob.id] = bob.username
    async with httpx.AsyncClient(base_url=teams_server.url) as teams:
        team = (
            await teams.post("/api/v1/teams", json={"name": "Fresh"}, headers=owner.headers)
        ).json()
        tid = team["id"]

        # the very next request, in another service, with no event delivered yet: no 403/404
        created = await boards.client.post(f"/api/v1/teams/{tid}/things", headers=owner.headers)
        assert created.status_code == 201, created.text
        assert created.json()["role"] == "owner"
        assert await projection(boards, tid) == {str(owner.id): ("owner", 1)}  # cached

        # an outsider: 404, never 403, and nothing cached
        for path in (f"/api/v1/teams/{tid}/things", f"/api/v1/things/{created.json()['id']}"):
            assert (await boards.client.get(path, headers=outsider.headers)).status_code == 404
        assert (
            await boards.client.get(
                f"/api/v1/teams/{uuid.uuid4()}/things", headers=outsider.headers
            )
        ).status_code == 404
        assert str(outsider.id) not in await projection(boards, tid)

        # bob joins as a member: reads (read-through), may not create (admin+): 403
        assert (
            await teams.post(
                f"/api/v1/teams/{tid}/members", json={"user_id": str(bob.id)}, headers=owner.headers
            )
        ).status_code == 201
        thing = created.json()["id"]
        assert (await boards.client.get(f"/api/v1/things/{thing}", headers=bob.headers)).json()[
            "role"
        ] == "member"
        assert (
            await boards.client.post(f"/api/v1/teams/{tid}/things", headers=bob.headers)
        ).status_code == 403

        # bob is removed in teams; the projection still has him until the event arrives
        assert (
            await teams.delete(f"/api/v1/teams/{tid}/members/{bob.id}", headers=owner.headers)
        ).status_code == 204
    assert (
        await boards.client.get(f"/api/v1/teams/{tid}/things", headers=bob.headers)
    ).status_code == 200

    # now the events, in order, through the consumer (each twice: delivery is at least once)
    events = await teams_events(database_url, tid)
    assert [e.type for e in events] == [
        "teams.team.created",
        "teams.member.added",
        "teams.member.added",
        "teams.member.removed",
    ]
    for e in events:
        await boards.consumer.handle(boards.db, e)
        assert await boards.consumer.handle(boards.db, e) is False
    assert await projection(boards, tid) == {str(owner.id): ("owner", 1), str(bob.id): (None, 3)}
    assert (
        await boards.client.get(f"/api/v1/teams/{tid}/things", headers=bob.headers)
    ).status_code == 404

    # a stale copy of "added" (another id, older seq) replayed later resurrects nobody
    stale = events[2].model_copy(update={"id": uuid.uuid4()})
    assert await boards.consumer.handle(boards.db, stale) is True
    assert (await projection(boards, tid))[str(bob.id)] == (None, 3)
    assert (
        await boards.client.get(f"/api/v1/teams/{tid}/things", headers=bob.headers)
    ).status_code == 404


async def test_team_deletion_drops_the_services_data(
    teams_server: Any,
    boards: Boards,
    database_url: str,
    make_user: Callable[..., TestUser],
) -> None:
    owner = make_user()
    async with httpx.AsyncClient(base_url=teams_server.url) as teams:
        tid = (
            await teams.post("/api/v1/teams", json={"name": "Doomed"}, headers=owner.headers)
        ).json()["id"]
        assert (
            await boards.client.post(f"/api/v1/teams/{tid}/things", headers=owner.headers)
        ).status_code == 201
        assert (
            await teams.delete(f"/api/v1/teams/{tid}", headers=owner.headers)
        ).status_code == 204
    for e in await teams_events(database_url, tid):
        await boards.consumer.handle(boards.db, e)
    async with boards.db.engine.connect() as conn:
        left = (
            await conn.execute(
                select(boards.things.c.id).where(boards.things.c.team_id == uuid.UUID(tid))
            )
        ).all()
        gone = (
            await conn.execute(
                select(boards.tables.deleted_teams.c.team_id).where(
                    boards.tables.deleted_teams.c.team_id == uuid.UUID(tid)
                )
            )
        ).all()
    assert left == []
    assert len(gone) == 1
    assert await projection(boards, tid) == {}
    assert (
        await boards.client.get(f"/api/v1/teams/{tid}/things", headers=owner.headers)
    ).status_code == 404
