from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from focus.consumers import consumer
from focus.models import UserTimezone
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.events.envelope import CloudEvent


async def tz_of(db_connection: AsyncConnection, user_id: uuid.UUID) -> str | None:
    t = UserTimezone.__table__
    return await db_connection.scalar(select(t.c.timezone).where(t.c.user_id == user_id))


def user_event(
    user_id: uuid.UUID, timezone: str | None, *, at: datetime, type_: str = "identity.user.updated"
) -> CloudEvent:
    return CloudEvent(
        source="identity",
        type=type_,
        subject=str(user_id),
        time=at,
        data={"user_id": str(user_id), "username": "u", "timezone": timezone},
    )


async def test_identity_events_set_the_timezone(app: Any, db_connection: AsyncConnection) -> None:
    user = uuid.uuid4()
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert await tz_of(db_connection, user) is None  # UTC until known
    registered = user_event(user, "Asia/Kolkata", at=t0, type_="identity.user.registered")
    assert await consumer.handle(app.state.db, registered)
    assert await tz_of(db_connection, user) == "Asia/Kolkata"
    assert not await consumer.handle(app.state.db, registered)  # a redelivery: nothing
    newer = user_event(user, "America/Los_Angeles", at=t0 + timedelta(minutes=5))
    older = user_event(user, "Europe/Paris", at=t0 + timedelta(minutes=1))
    await consumer.handle(app.state.db, newer)
    await consumer.handle(app.state.db, older)  # late: never wins over a newer one
    assert await tz_of(db_connection, user) == "America/Los_Angeles"
    await consumer.handle(app.state.db, user_event(user, "Not/AZone", at=t0 + timedelta(hours=1)))
    assert await tz_of(db_connection, user) == "America/Los_Angeles"
    await consumer.handle(app.state.db, user_event(user, None, at=t0 + timedelta(hours=2)))
    assert await tz_of(db_connection, user) == "UTC"


async def test_events_without_a_timezone_change_nothing(
    app: Any, db_connection: AsyncConnection
) -> None:
    user = uuid.uuid4()
    event = CloudEvent(
        source="identity",
        type="identity.user.updated",
        subject=str(user),
        data={"user_id": str(user), "username": "renamed"},
    )
    assert await consumer.handle(app.state.db, event)
    assert await tz_of(db_connection, user) is None


def test_the_consumer_listens_to_what_it_handles() -> None:
    assert set(consumer.patterns) >= {
        "identity.user.registered",
        "identity.user.updated",
        "teams.member.added",
        "teams.member.removed",
        "teams.member.role_changed",
        "teams.team.deleted",
    }
