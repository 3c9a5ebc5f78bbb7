"""Scheduling, reading, changing and deleting meetings: who may, what they see, what is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox

from ..conftest import Schedule, iso

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_a_meeting_is_scheduled_with_its_invited_participants_and_a_room(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    r = await client.post(
        f"/api/v1/teams/{team.id}/meetings",
        json={
            "title": "Planning",
            "description": "Q1",
            "start_time": iso(T0),
            "end_time": iso(T0 + timedelta(hours=1)),
            "participant_ids": [str(team.other.id), str(team.admin.id), str(team.other.id)],
        },
        headers=team.member.headers,
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert r.headers["location"] == f"/api/v1/meetings/{m['id']}"
    assert m["status"] == "scheduled"
    assert m["created_by_id"] == str(team.member.id)
    assert m["provider"] == "jitsi"
    assert m["meeting_link"].startswith("https://meet.jit.si/vc-")
    room = m["meeting_link"].rsplit("/", 1)[1]
    assert len(room) == len("vc-") + 32  # 128 random bits
    people = {p["user_id"]: p for p in m["participants"]}
    assert set(people) == {str(team.member.id), str(team.other.id), str(team.admin.id)}
    assert {p["status"] for p in people.values()} == {"invited"}
    assert all(p["invited"] and p["attended_minutes"] == 0 for p in people.values())

    (event,) = await outbox("meetings.meeting.scheduled")
    data = event["data"]
    assert event["subject"] == m["id"]
    assert data["meeting_id"] == m["id"]
    assert data["team_id"] == str(team.id)
    assert data["user_id"] == str(team.member.id)
    assert data["title"] == "Planning"
    assert data["start_time"].startswith("2026-11-24T10:00:00")
    assert set(data["participant_ids"]) == set(people)

    other = await client.post(
        f"/api/v1/teams/{team.id}/meetings",
        json={"title": "x", "start_time": iso(T0), "end_time": iso(T0 + timedelta(hours=1))},
        headers=team.member.headers,
    )
    assert other.json()["meeting_link"] != m["meeting_link"]


async def test_bad_input_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    base = {"title": "x", "start_time": iso(T0), "end_time": iso(T0 + timedelta(minutes=5))}
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({**base, "end_time": iso(T0 - timedelta(minutes=1))}, ["body", "end_time"]),
        ({**base, "end_time": iso(T0)}, ["body", "end_time"]),
        (
            {**base, "participant_ids": [str(team.other.id), str(team.outsider.id)]},
            ["body", "participant_ids", 1],
        ),
        ({**base, "title": ""}, ["body", "title"]),
    ]
    for body, loc in cases:
        r = await client.post(
            f"/api/v1/teams/{team.id}/meetings", json=body, headers=team.member.headers
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["loc"] == loc
    listed = await client.get(f"/api/v1/teams/{team.id}/meetings", headers=team.member.headers)
    assert listed.json()["items"] == []
    assert await outbox() == []


async def test_outsiders_see_nothing_of_a_teams_meetings(
    client: httpx.AsyncClient, team: Team, schedule: Schedule
) -> None:
    m = await schedule(client, team, start=T0)
    h = team.outsider.headers
    assert (await client.get(f"/api/v1/meetings/{m['id']}", headers=h)).status_code == 404
    assert (await client.get(f"/api/v1/teams/{team.id}/meetings", headers=h)).status_code == 404
    for action in ("join", "leave", "start", "end", "cancel"):
        r = await client.post(f"/api/v1/meetings/{m['id']}/{action}", headers=h)
        assert r.status_code == 404, (action, r.text)
    r = await client.post(
        f"/api/v1/teams/{team.id}/meetings",
        json={"title": "x", "start_time": iso(T0), "end_time": iso(T0 + timedelta(hours=1))},
        headers=h,
    )
    assert r.status_code == 404
    r = await client.get(f"/api/v1/meetings/{m['id']}")
    assert r.status_code == 401


async def test_list_filters_by_status_and_time_range_and_pages(
    client: httpx.AsyncClient, team: Team, schedule: Schedule
) -> None:
    a = await schedule(client, team, start=T0, title="a")
    b = await schedule(client, team, start=T0 + timedelta(days=1), title="b")
    c = await schedule(client, team, start=T0 + timedelta(days=2), title="c")
    r = await client.post(f"/api/v1/meetings/{b['id']}/cancel", headers=team.member.headers)
    assert r.status_code == 200

    async def titles(**params: Any) -> list[str]:
        r = await client.get(
            f"/api/v1/teams/{team.id}/meetings", params=params, headers=team.other.headers
        )
        assert r.status_code == 200, r.text
        return [m["title"] for m in r.json()["items"]]

    assert await titles() == ["a", "b", "c"]
    assert await titles(status="scheduled") == ["a", "c"]
    assert await titles(status="cancelled") == ["b"]
    # overlapping [from, to): a meeting that ends exactly at `from` is not in it
    assert await titles(**{"from": iso(T0 + timedelta(minutes=30))}) == ["b", "c"]
    assert await titles(**{"from": iso(T0 + timedelta(minutes=29))}) == ["a", "b", "c"]
    assert await titles(**{"to": iso(T0 + timedelta(days=1))}) == ["a"]
    assert await titles(**{"from": iso(T0), "to": iso(T0 + timedelta(days=2))}) == ["a", "b"]
    bad = await client.get(
        f"/api/v1/teams/{team.id}/meetings",
        params={"status": "nope"},
        headers=team.other.headers,
    )
    assert bad.status_code == 422

    first = await client.get(
        f"/api/v1/teams/{team.id}/meetings", params={"limit": 2}, headers=team.other.headers
    )
    page = first.json()
    assert [m["id"] for m in page["items"]] == [a["id"], b["id"]]
    rest = await client.get(
        f"/api/v1/teams/{team.id}/meetings",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=team.other.headers,
    )
    assert [m["id"] for m in rest.json()["items"]] == [c["id"]]
    assert rest.json()["next_cursor"] is None


async def test_the_creator_or_an_admin_changes_it_other_members_get_403(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, outbox: ReadOutbox
) -> None:
    m = await schedule(client, team, by=team.member, start=T0, invite=[team.other])
    url = f"/api/v1/meetings/{m['id']}"
    r = await client.patch(url, json={"title": "Nope"}, headers=team.other.headers)
    assert r.status_code == 403
    r = await client.patch(url, json={"title": "Retro"}, headers=team.member.headers)
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Retro"
    r = await client.patch(
        url,
        json={"end_time": iso(T0 + timedelta(hours=2)), "participant_ids": [str(team.admin.id)]},
        headers=team.admin.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["end_time"].startswith("2026-11-24T12:00:00")
    # the invitation list is replaced; the creator always stays
    assert {p["user_id"] for p in body["participants"]} == {str(team.member.id), str(team.admin.id)}
    r = await client.patch(
        url, json={"end_time": iso(T0 - timedelta(hours=1))}, headers=team.admin.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "end_time"]
    r = await client.patch(
        url, json={"participant_ids": [str(team.outsider.id)]}, headers=team.admin.headers
    )
    assert r.status_code == 422
    r = await client.patch(url, json={"title": None}, headers=team.admin.headers)
    assert r.status_code == 422
    # nothing changed: no event
    r = await client.patch(url, json={"title": "Retro"}, headers=team.member.headers)
    assert r.status_code == 200

    updates = await outbox("meetings.meeting.updated")
    assert [e["data"]["changed"] for e in updates] == [["title"], ["end_time", "participant_ids"]]
    assert updates[1]["data"]["user_id"] == str(team.admin.id)
    assert set(updates[1]["data"]["participant_ids"]) == {str(team.member.id), str(team.admin.id)}


async def test_delete_by_the_creator_or_an_admin(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, outbox: ReadOutbox
) -> None:
    m = await schedule(client, team, by=team.member, start=T0)
    url = f"/api/v1/meetings/{m['id']}"
    assert (await client.delete(url, headers=team.other.headers)).status_code == 403
    assert (await client.delete(url, headers=team.admin.headers)).status_code == 204
    assert (await client.get(url, headers=team.member.headers)).status_code == 404
    (cancelled,) = await outbox("meetings.meeting.cancelled")
    assert cancelled["data"]["reason"] == "deleted"
    assert len(await outbox("meetings.meeting.deleted")) == 1

    live = await schedule(client, team, by=team.member, start=T0)
    assert (
        await client.post(f"/api/v1/meetings/{live['id']}/join", headers=team.member.headers)
    ).status_code == 200
    r = await client.delete(f"/api/v1/meetings/{live['id']}", headers=team.member.headers)
    assert r.status_code == 409


async def test_a_deleted_team_takes_its_meetings(
    client: httpx.AsyncClient, team: Team, schedule: Schedule, deliver: Any, app: Any
) -> None:
    m = await schedule(client, team, start=T0)
    await deliver(
        "teams.team.deleted",
        {
            "team_id": str(team.id),
            "user_id": str(team.owner.id),
            "actor_id": str(team.owner.id),
            "name": "x",
            "member_ids": [str(u.id) for u in team.members],
        },
        subject=team.id,
    )
    from sqlalchemy import text

    async with app.state.db.sessionmaker() as s:
        left = (
            await s.execute(text("SELECT count(*) FROM meetings WHERE id = :i"), {"i": m["id"]})
        ).scalar()
    assert left == 0


async def test_a_naive_timestamp_is_read_as_utc(
    client: httpx.AsyncClient, team: Team, clock: MovableClock
) -> None:
    del clock
    r = await client.post(
        f"/api/v1/teams/{team.id}/meetings",
        json={
            "title": "x",
            "start_time": "2026-11-24T10:00:00",
            "end_time": "2026-11-24T11:00:00+01:00",
        },
        headers=team.member.headers,
    )
    assert r.status_code == 422  # 11:00+01:00 is 10:00Z: not after the start
