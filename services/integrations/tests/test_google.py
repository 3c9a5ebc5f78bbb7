"""Google Calendar: a full sync, incremental ones with syncToken (only what changed), 410 →
full resync, and our calendar events pushed to Google."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, ReadOutbox, TestUser

from .conftest import Connect


def _event(i: int, **kw: Any) -> dict[str, Any]:
    return {
        "id": kw.pop("id", f"ev{i}{uuid.uuid4().hex[:6]}"),
        "summary": f"Event {i}",
        "start": {
            "dateTime": f"2026-12-{1 + i % 27:02d}T09:00:00+01:00",
            "timeZone": "Europe/Paris",
        },
        "end": {"dateTime": f"2026-12-{1 + i % 27:02d}T10:00:00+01:00", "timeZone": "Europe/Paris"},
        **kw,
    }


async def _sync(app: Any, client: httpx.AsyncClient, user: TestUser, iid: str, **body: Any) -> Any:
    r = await client.post(f"/api/v1/integrations/{iid}/sync", json=body, headers=user.headers)
    assert r.status_code == 202, r.text
    await run_job(app, "syncs")
    logs = await client.get(f"/api/v1/integrations/{iid}/sync-logs", headers=user.headers)
    return logs.json()["items"][0]


async def test_full_then_incremental_then_410(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    db_connection: AsyncConnection,
    outbox: ReadOutbox,
) -> None:
    calendar = f"cal-{uuid.uuid4().hex[:8]}"
    got = await connect(user, "google_calendar")
    r = await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"calendar_id": calendar}},
        headers=user.headers,
    )
    assert r.status_code == 200
    seeded = (
        await sandbox_http.post(
            f"/_sandbox/google/calendars/{calendar}/events",
            json=[_event(i) for i in range(260)]  # more than one page of 250
            + [{**_event(999), "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-26"}}],
        )
    ).json()
    first = await _sync(app, client, user, got["id"])
    assert (first["status"], first["records_synced"]) == ("completed", 261)
    stored = (
        await db_connection.execute(
            text("SELECT count(*) FROM google_events WHERE integration_id = :i"), {"i": got["id"]}
        )
    ).scalar_one()
    assert stored == 261
    imported = await outbox("integrations.calendar_event.imported")
    assert len(imported) == 261
    all_day = next(e for e in imported if e["data"]["is_all_day"])
    assert all_day["data"]["start_time"].startswith("2026-12-24T00:00:00")
    assert all_day["data"]["end_time"].startswith("2026-12-26T00:00:00")
    timed = next(e for e in imported if e["data"]["external_id"] == seeded[0]["id"])
    assert timed["data"]["start_time"] == "2026-12-01T08:00:00.000000Z"

    # two changes and a deletion on Google: the next sync moves only those
    await sandbox_http.post(
        f"/_sandbox/google/calendars/{calendar}/events",
        json=[
            {"id": seeded[0]["id"], "summary": "Moved"},
            {"id": seeded[1]["id"], "summary": "Renamed"},
            {"id": seeded[2]["id"], "status": "cancelled"},
        ],
    )
    second = await _sync(app, client, user, got["id"])
    assert (second["status"], second["sync_type"], second["records_synced"]) == (
        "completed",
        "incremental",
        3,
    )
    [removed] = await outbox("integrations.calendar_event.removed")
    assert removed["data"]["external_id"] == seeded[2]["id"]
    titles = {
        r.google_id: r.title
        for r in await db_connection.execute(
            text("SELECT google_id, title FROM google_events WHERE integration_id = :i"),
            {"i": got["id"]},
        )
    }
    assert titles[seeded[0]["id"]] == "Moved"
    assert seeded[2]["id"] not in titles

    nothing = await _sync(app, client, user, got["id"])
    assert nothing["records_synced"] == 0

    # Google forgets the sync token: 410 Gone → a full sync, and it completes
    await sandbox_http.post("/_sandbox/google/expire-sync-tokens")
    await sandbox_http.post(
        f"/_sandbox/google/calendars/{calendar}/events", json=[_event(5000, id="late-one")]
    )
    resync = await _sync(app, client, user, got["id"])
    assert resync["status"] == "completed"
    # everything listed again: 261 seeded, one cancelled, one new
    assert resync["records_synced"] == 261
    after = (
        await db_connection.execute(
            text("SELECT count(*) FROM google_events WHERE integration_id = :i"), {"i": got["id"]}
        )
    ).scalar_one()
    assert after == 261


async def test_our_calendar_events_are_pushed_to_google(
    app: Any,
    user: TestUser,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    deliver: Deliver,
    client: httpx.AsyncClient,
    outbox: ReadOutbox,
) -> None:
    calendar = f"push-{uuid.uuid4().hex[:8]}"
    got = await connect(user, "google_calendar")
    await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"calendar_id": calendar}},
        headers=user.headers,
    )
    event_id = uuid.uuid4()
    data = {
        "event_id": str(event_id),
        "user_id": str(user.id),
        "created_by_id": str(user.id),
        "title": "Planning",
        "start_time": "2026-12-02T09:00:00Z",
        "end_time": "2026-12-02T10:00:00Z",
    }
    assert await deliver("calendar.event.created", data, subject=event_id)
    on_google = (await sandbox_http.get(f"/_sandbox/google/calendars/{calendar}/events")).json()
    assert [
        (e["summary"], e["extendedProperties"]["private"]["vc_event_id"]) for e in on_google
    ] == [("Planning", str(event_id))]
    await deliver("calendar.event.updated", {**data, "title": "Planning (moved)"}, subject=event_id)
    on_google = (await sandbox_http.get(f"/_sandbox/google/calendars/{calendar}/events")).json()
    assert [e["summary"] for e in on_google] == ["Planning (moved)"]
    # its echo in the next sync says whose it is, so the calendar does not import it twice
    await _sync(app, client, user, got["id"])
    [echo] = await outbox("integrations.calendar_event.imported")
    assert echo["data"]["calendar_event_id"] == str(event_id)
    await deliver("calendar.event.cancelled", data, subject=event_id)
    on_google = (await sandbox_http.get(f"/_sandbox/google/calendars/{calendar}/events")).json()
    assert [e["status"] for e in on_google] == ["cancelled"]
    # an event the calendar imported from Google is not pushed back
    copy = {**data, "event_id": str(uuid.uuid4()), "external_source": "google_calendar"}
    await deliver("calendar.event.created", copy)
    on_google = (await sandbox_http.get(f"/_sandbox/google/calendars/{calendar}/events")).json()
    assert len(on_google) == 1
