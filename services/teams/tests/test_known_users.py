"""Teams learns which users exist from identity's events (``known_users``), idempotently and in
order; a deactivated user cannot be added."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from teams.users.models import KnownUser
from vc_common.db import Database
from vc_common.events.envelope import CloudEvent
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]
T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def identity_event(type_: str, user: TestUser, at: datetime, **data: Any) -> CloudEvent:
    return CloudEvent(
        source="identity",
        type=f"identity.user.{type_}",
        subject=str(user.id),
        time=at,
        data={"user_id": str(user.id), "username": user.username, **data},
    )


async def known_row(db_connection: AsyncConnection, user: TestUser) -> tuple[Any, ...] | None:
    row = (
        await db_connection.execute(
            select(KnownUser.username, KnownUser.is_active).where(KnownUser.id == user.id)
        )
    ).first()
    return tuple(row) if row else None


async def test_identity_events_build_the_projection(
    app: Any,
    client: httpx.AsyncClient,
    db_connection: AsyncConnection,
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
) -> None:
    db = Database.from_engine(
        db_connection,
        join_transaction_mode="create_savepoint",
    )
    consumer = app.state.consumers[0]
    owner, alice = make_user(), make_user()
    team = await make_team(owner)
    add = {"user_id": str(alice.id)}
    url = f"/api/v1/teams/{team['id']}/members"

    registered = identity_event("registered", alice, T0, email="a@example.com")
    assert await consumer.handle(db, registered) is True
    assert await consumer.handle(db, registered) is False  # a duplicate: no effect
    assert await known_row(db_connection, alice) == (alice.username, True)

    renamed = identity_event(
        "updated", alice, T0 + timedelta(minutes=1), username="alice2", changed_fields=["username"]
    )
    await consumer.handle(db, renamed)
    await consumer.handle(
        db,
        identity_event(
            "deactivated",
            alice,
            T0 + timedelta(minutes=2),
            username="alice2",
            actor_id=str(owner.id),
        ),
    )
    assert await known_row(db_connection, alice) == ("alice2", False)
    assert (await client.post(url, json=add, headers=owner.headers)).status_code == 422

    # a late copy of an older event (a new id, an older time) does not reactivate her
    late = identity_event("registered", alice, T0)
    await consumer.handle(db, late)
    assert await known_row(db_connection, alice) == ("alice2", False)

    await consumer.handle(
        db,
        identity_event(
            "reactivated",
            alice,
            T0 + timedelta(minutes=3),
            username="alice2",
            actor_id=str(owner.id),
        ),
    )
    assert await known_row(db_connection, alice) == ("alice2", True)
    assert (await client.post(url, json=add, headers=owner.headers)).status_code == 201


async def test_an_event_overrides_a_read_through_row(
    app: Any,
    db_connection: AsyncConnection,
    make_user: Callable[..., TestUser],
    known: Callable[..., Awaitable[TestUser]],
) -> None:
    db = Database.from_engine(
        db_connection,
        join_transaction_mode="create_savepoint",
    )
    bob = await known(make_user())  # event_time NULL, as a read-through leaves it
    await app.state.consumers[0].handle(
        db, identity_event("deactivated", bob, T0 - timedelta(days=1), actor_id=str(uuid.uuid4()))
    )
    assert await known_row(db_connection, bob) == (bob.username, False)
