"""Task due dates as all-day ``deadline`` items for the team's members, following every tasks
event; meetings as ``meeting`` items for their participants (the CONTRACT shape)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from teams_client.testing import Team, member_removed
from vc_common.testing.plugin import Deliver, make_event

from ..conftest import MEETING_FIELDS, Query

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def task(team: Team, task_id: uuid.UUID, **over: Any) -> dict[str, Any]:
    return {
        "task_id": str(task_id),
        "board_id": str(uuid.UUID(int=1)),
        "team_id": str(team.id),
        "column_id": str(uuid.UUID(int=2)),
        "title": "Ship it",
        "assignee_id": str(team.other.id),
        "priority": "high",
        "due_date": "2026-12-10",
        "user_id": str(team.member.id),
        **over,
    }


async def send(deliver: Deliver, type_: str, data: dict[str, Any], at: datetime) -> None:
    await deliver(make_event(type_, data, subject=data["task_id"], time=at))


def deadlines(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["title"], i["start_date"]) for i in items if i["event_type"] == "deadline"]


async def test_a_due_date_follows_every_change_of_the_task(
    deliver: Deliver, query: Query, team: Team, joined: Any, set_timezone: Any
) -> None:
    await joined(team)
    tid = uuid.uuid4()
    await send(
        deliver,
        "tasks.task.created",
        task(team, tid, position=0, created_at="2026-12-01T09:00:00Z"),
        T0,
    )
    got = await query(team.owner, "2026-12-01", "2027-01-01")
    (item,) = got
    assert item["event_type"] == "deadline"
    assert item["kind"] == "task"
    assert item["task_id"] == item["id"] == str(tid)
    assert item["is_all_day"] is True
    assert (item["start_date"], item["end_date"]) == ("2026-12-10", "2026-12-10")
    assert (item["start_time"], item["end_time"]) == (
        "2026-12-10T00:00:00Z",
        "2026-12-11T00:00:00Z",
    )
    # the day is the caller's local day
    await set_timezone(team.owner, "Europe/Berlin")
    (item,) = await query(team.owner, "2026-12-01", "2027-01-01")
    assert item["start_time"] == "2026-12-09T23:00:00Z"
    # moved
    await send(
        deliver,
        "tasks.task.updated",
        task(
            team,
            tid,
            due_date="2026-12-20",
            changes={"due_date": {"from": "2026-12-10", "to": "2026-12-20"}},
            version=2,
        ),
        T0 + timedelta(minutes=1),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == [
        ("Ship it", "2026-12-20")
    ]
    # renamed on assignment too (every event carries the snapshot)
    await send(
        deliver,
        "tasks.task.assigned",
        task(team, tid, title="Ship it now", due_date="2026-12-20", previous_assignee_id=None),
        T0 + timedelta(minutes=2),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == [
        ("Ship it now", "2026-12-20")
    ]
    # completed: gone; reopened: back
    await send(
        deliver,
        "tasks.task.completed",
        task(
            team,
            tid,
            title="Ship it now",
            due_date="2026-12-20",
            completed_at="2026-12-01T09:03:00Z",
        ),
        T0 + timedelta(minutes=3),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == []
    await send(
        deliver,
        "tasks.task.reopened",
        task(
            team,
            tid,
            title="Ship it now",
            due_date="2026-12-20",
            reopened_at="2026-12-01T09:04:00Z",
            previous_completed_at="2026-12-01T09:03:00Z",
        ),
        T0 + timedelta(minutes=4),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == [
        ("Ship it now", "2026-12-20")
    ]
    # an older event delivered late (a retry) changes nothing
    await send(
        deliver,
        "tasks.task.updated",
        task(
            team,
            tid,
            due_date="2026-12-05",
            changes={"due_date": {"from": None, "to": "2026-12-05"}},
            version=1,
        ),
        T0 + timedelta(seconds=30),
    )
    await send(
        deliver,
        "tasks.task.completed",
        task(team, tid, completed_at="2026-12-01T09:00:40Z"),
        T0 + timedelta(seconds=40),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == [
        ("Ship it now", "2026-12-20")
    ]
    # cleared
    await send(
        deliver,
        "tasks.task.updated",
        task(
            team,
            tid,
            title="Ship it now",
            due_date=None,
            changes={"due_date": {"from": "2026-12-20", "to": None}},
            version=3,
        ),
        T0 + timedelta(minutes=5),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == []
    await send(
        deliver,
        "tasks.task.updated",
        task(
            team,
            tid,
            title="Ship it now",
            due_date="2026-12-24",
            changes={"due_date": {"from": None, "to": "2026-12-24"}},
            version=4,
        ),
        T0 + timedelta(minutes=6),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == [
        ("Ship it now", "2026-12-24")
    ]
    # deleted: gone, and nothing older or later brings it back
    await send(
        deliver,
        "tasks.task.deleted",
        task(
            team, tid, due_date="2026-12-24", completed_at=None, deleted_at="2026-12-01T09:07:00Z"
        ),
        T0 + timedelta(minutes=7),
    )
    await send(
        deliver,
        "tasks.task.updated",
        task(team, tid, changes={"title": {"from": "a", "to": "b"}}, version=9),
        T0 + timedelta(minutes=8),
    )
    assert deadlines(await query(team.member, "2026-12-01", "2027-01-01")) == []


async def test_deadlines_are_for_the_teams_members_only(
    deliver: Deliver, query: Query, team: Team, joined: Any
) -> None:
    await joined(team)
    await send(
        deliver,
        "tasks.task.created",
        task(team, uuid.uuid4(), position=0, created_at="2026-12-01T09:00:00Z"),
        T0,
    )
    assert len(await query(team.other, "2026-12-01", "2027-01-01")) == 1
    assert await query(team.outsider, "2026-12-01", "2027-01-01") == []
    await deliver(member_removed(team.id, team.other))
    assert await query(team.other, "2026-12-01", "2027-01-01") == []
    # a task without due date is no deadline; a moved task carries its completion
    tid = uuid.uuid4()
    await send(
        deliver,
        "tasks.task.created",
        task(team, tid, due_date=None, position=1, created_at="2026-12-01T09:00:00Z"),
        T0,
    )
    assert len(await query(team.member, "2026-12-01", "2027-01-01")) == 1
    await send(
        deliver,
        "tasks.task.moved",
        task(
            team,
            tid,
            due_date="2026-12-15",
            from_column_id=str(uuid.UUID(int=2)),
            to_column_id=str(uuid.UUID(int=3)),
            from_position=1,
            position=0,
            is_completed=True,
        ),
        T0 + timedelta(minutes=1),
    )
    assert len(await query(team.member, "2026-12-01", "2027-01-01")) == 1


async def test_meetings_show_for_their_participants(
    deliver: Deliver, query: Query, team: Team, joined: Any
) -> None:
    await joined(team)
    mid = str(uuid.uuid4())
    shape = {
        "meeting_id": mid,
        "team_id": str(team.id),
        "title": "Design review",
        "start_time": "2026-12-02T15:00:00Z",
        "end_time": "2026-12-02T16:00:00Z",
        "participant_ids": [str(team.member.id), str(team.admin.id)],
        "user_id": str(team.admin.id),
        **MEETING_FIELDS,
        "created_by_id": str(team.admin.id),
    }
    await deliver(make_event("meetings.meeting.scheduled", shape, subject=mid, time=T0))
    (item,) = await query(team.member, "2026-12-01", "2026-12-31")
    assert (item["event_type"], item["kind"], item["meeting_id"], item["id"]) == (
        "meeting",
        "meeting",
        mid,
        mid,
    )
    assert item["start_time"] == "2026-12-02T15:00:00Z"
    assert item["attendee_ids"] == sorted([str(team.member.id), str(team.admin.id)])
    assert await query(team.other, "2026-12-01", "2026-12-31") == []  # not a participant
    await deliver(
        make_event(
            "meetings.meeting.updated",
            {
                **shape,
                "start_time": "2026-12-03T15:00:00Z",
                "end_time": "2026-12-03T15:30:00Z",
                "participant_ids": [str(team.other.id)],
                "changed": ["start_time", "end_time", "participant_ids"],
            },
            subject=mid,
            time=T0 + timedelta(minutes=1),
        )
    )
    assert await query(team.member, "2026-12-01", "2026-12-31") == []
    (item,) = await query(team.other, "2026-12-01", "2026-12-31")
    assert item["end_time"] == "2026-12-03T15:30:00Z"
    await deliver(
        make_event(
            "meetings.meeting.cancelled",
            {**shape, "status": "cancelled", "reason": "cancelled"},
            subject=mid,
            time=T0 + timedelta(minutes=2),
        )
    )
    assert await query(team.other, "2026-12-01", "2026-12-31") == []
    await deliver(
        make_event(
            "meetings.meeting.updated",
            {**shape, "changed": ["title"]},
            subject=mid,
            time=T0 + timedelta(minutes=3),
        )
    )
    assert await query(team.member, "2026-12-01", "2026-12-31") == []


async def test_a_deleted_team_takes_its_calendar_with_it(
    deliver: Deliver, query: Query, team: Team, joined: Any, create: Any
) -> None:
    await joined(team)
    await create(
        team.member,
        team_id=str(team.id),
        start_time="2026-12-02T09:00:00Z",
        end_time="2026-12-02T10:00:00Z",
    )
    await send(
        deliver,
        "tasks.task.created",
        task(team, uuid.uuid4(), position=0, created_at="2026-12-01T09:00:00Z"),
        T0,
    )
    assert len(await query(team.member, "2026-12-01", "2026-12-31")) == 2
    await deliver(
        make_event(
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
    )
    assert await query(team.member, "2026-12-01", "2026-12-31") == []
    await send(
        deliver,
        "tasks.task.created",
        task(team, uuid.uuid4(), position=0, created_at="2026-12-01T09:00:00Z"),
        T0,
    )
    assert await query(team.member, "2026-12-01", "2026-12-31") == []


async def test_a_batch_of_task_events_applies_each_by_the_rules(
    app: Any, deliver: Deliver, query: Query, team: Team, joined: Any
) -> None:
    """The consumer takes a run of tasks' events at once (four statements): new tasks, existing
    ones, several events of one task, an older one late, a task created and deleted in the run."""
    await joined(team)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    minute = timedelta(minutes=1)
    await send(deliver, "tasks.task.created", task(team, b, title="B", position=0), T0)
    steps = [
        ("tasks.task.created", task(team, a, title="A", position=0), T0),
        ("tasks.task.updated", task(team, b, title="B", due_date="2026-12-20"), T0 + minute),
        ("tasks.task.updated", task(team, a, title="A2", due_date="2026-12-15"), T0 + 2 * minute),
        ("tasks.task.updated", task(team, b, title="old", due_date="2026-12-05"), T0 - minute),
        ("tasks.task.created", task(team, c, title="C", position=1), T0 + 3 * minute),
        ("tasks.task.completed", task(team, a, title="A2", due_date="2026-12-15"), T0 + 4 * minute),
        ("tasks.task.deleted", task(team, c, title="C"), T0 + 5 * minute),
        ("tasks.task.reopened", task(team, a, title="A2", due_date="2026-12-15"), T0 + 6 * minute),
    ]
    events = [make_event(t, d, subject=d["task_id"], time=at) for t, d, at in steps]
    [consumer] = app.state.consumers
    assert await consumer.handle_batch(app.state.db, events) == [True] * len(events)
    # A: its last snapshot, reopened; B: the newer due date kept (the older event came late); C:
    # created and deleted in the run, gone
    assert sorted(deadlines(await query(team.member, "2026-12-01", "2027-01-01"))) == [
        ("A2", "2026-12-15"),
        ("B", "2026-12-20"),
    ]
