"""The user's Google Calendar events (integrations' ``calendar_event.imported/removed``) as
read-only ``external`` items of their own range queries, never of anyone else's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from teams_client.testing import Team
from vc_common.testing.plugin import Deliver, make_event

from ..conftest import Query

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
INTEGRATION = uuid.uuid4()


def google(user_id: uuid.UUID, external_id: str, **over: Any) -> dict[str, Any]:
    return {
        "integration_id": str(INTEGRATION),
        "user_id": str(user_id),
        "integration_type": "google_calendar",
        "external_id": external_id,
        "title": "Dentist",
        "description": None,
        "location": "Main St 1",
        "start_time": "2026-12-03T14:00:00Z",
        "end_time": "2026-12-03T15:00:00Z",
        "is_all_day": False,
        "status": "confirmed",
        "calendar_event_id": None,
        **over,
    }


async def send(deliver: Deliver, type_: str, data: dict[str, Any], at: datetime) -> None:
    await deliver(make_event(type_, data, subject=str(INTEGRATION), time=at))


def external(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["title"], i["start_time"]) for i in items if i["kind"] == "external"]


async def test_an_imported_event_shows_to_its_owner_until_it_is_removed(
    deliver: Deliver, query: Query, team: Team, joined: Any
) -> None:
    await joined(team)
    owner = team.member
    await send(deliver, "integrations.calendar_event.imported", google(owner.id, "g1"), T0)
    (item,) = await query(owner, "2026-12-01", "2026-12-31")
    assert item["kind"] == "external"
    assert (item["source"], item["external_id"]) == ("google_calendar", "g1")
    assert (item["title"], item["location"], item["event_type"]) == (
        "Dentist",
        "Main St 1",
        "other",
    )
    assert (item["start_time"], item["end_time"]) == (
        "2026-12-03T14:00:00Z",
        "2026-12-03T15:00:00Z",
    )
    assert item["team_id"] is None
    # nobody else sees it, not even in the same team; a team-filtered query leaves it out
    assert external(await query(team.other, "2026-12-01", "2026-12-31")) == []
    assert external(await query(owner, "2026-12-01", "2026-12-31", team_id=str(team.id))) == []

    # changed in Google: moved; a late redelivery of the first import changes nothing
    moved = google(
        owner.id, "g1", start_time="2026-12-04T10:00:00Z", end_time="2026-12-04T11:00:00Z"
    )
    await send(deliver, "integrations.calendar_event.imported", moved, T0 + timedelta(minutes=5))
    await send(deliver, "integrations.calendar_event.imported", google(owner.id, "g1"), T0)
    assert external(await query(owner, "2026-12-01", "2026-12-31")) == [
        ("Dentist", "2026-12-04T10:00:00Z")
    ]
    removed = {
        "integration_id": str(INTEGRATION),
        "user_id": str(owner.id),
        "integration_type": "google_calendar",
        "external_id": "g1",
        "removed_at": "2026-12-01T09:10:00Z",
    }
    await send(deliver, "integrations.calendar_event.removed", removed, T0 + timedelta(minutes=10))
    # an import older than the removal (delivered late) does not bring it back
    await send(deliver, "integrations.calendar_event.imported", moved, T0 + timedelta(minutes=5))
    assert external(await query(owner, "2026-12-01", "2026-12-31")) == []


async def test_echoes_all_day_events_and_a_disconnect(
    deliver: Deliver, query: Query, team: Team, joined: Any
) -> None:
    await joined(team)
    owner = team.admin
    # the Google copy of one of our own events is not shown a second time
    echo = google(owner.id, "echo", calendar_event_id=str(uuid.uuid4()))
    await send(deliver, "integrations.calendar_event.imported", echo, T0)
    all_day = google(
        owner.id,
        "trip",
        title="Trip",
        is_all_day=True,
        start_time="2026-12-07T00:00:00Z",
        end_time="2026-12-09T00:00:00Z",
    )
    await send(deliver, "integrations.calendar_event.imported", all_day, T0)
    (trip,) = await query(owner, "2026-12-01", "2026-12-31")
    assert (trip["title"], trip["is_all_day"]) == ("Trip", True)
    assert (trip["start_date"], trip["end_date"]) == ("2026-12-07", "2026-12-08")

    disconnected = {
        "integration_id": str(INTEGRATION),
        "user_id": str(owner.id),
        "integration_type": "google_calendar",
        "disconnected_at": "2026-12-01T10:00:00Z",
        "revoked_at_provider": True,
    }
    await send(
        deliver, "integrations.integration.disconnected", disconnected, T0 + timedelta(hours=1)
    )
    assert await query(owner, "2026-12-01", "2026-12-31") == []
