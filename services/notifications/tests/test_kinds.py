"""One test per kind: the producer's real event shape (validated against its contract where
the producer exists, the CONTRACT.md shape where it does not yet) makes the right notification
for the right people, and never for the actor."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from teams_client.testing import member_added
from vc_common.testing.plugin import Deliver, MovableClock, make_event

from .conftest import Inbox, Person, task_assigned, ts

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]


async def test_a_task_assigned_to_you(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    alice, bob = await person(username="alice_t1"), await person()
    team = uuid.uuid4()
    data = task_assigned(bob.id, alice.id, team_id=team, priority="high")
    assert await deliver("tasks.task.assigned", data)

    [n] = await inbox(bob).items()
    assert n["kind"] == "task.assigned"
    assert n["title"] == "Task assigned: Write the launch post"
    assert (
        n["message"]
        == "alice_t1 assigned you “Write the launch post” (high priority, due 2026-12-01)."
    )
    assert n["link"] == f"/api/v1/tasks/{data['task_id']}"
    assert n["team_id"] == str(team)
    assert n["notification_type"] == "info"
    assert n["is_read"] is False
    assert n["read_at"] is None
    assert n["created_at"] == n["delivered_at"] == "2026-11-24T09:00:00Z"
    assert await inbox(alice).items() == []
    del clock


async def test_assigning_yourself_or_unassigning_notifies_nobody(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    alice = await person()
    await deliver("tasks.task.assigned", task_assigned(alice.id, alice.id))
    await deliver("tasks.task.assigned", task_assigned(None, alice.id))
    assert await inbox(alice).items() == []


async def test_an_urgent_task_is_a_warning_and_a_system_assignment_names_nobody(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    bob = await person()
    await deliver("tasks.task.assigned", task_assigned(bob.id, None, priority="urgent"))
    [n] = await inbox(bob).items()
    assert n["notification_type"] == "warning"
    assert n["message"].startswith("You were assigned “Write the launch post”")


async def test_a_comment_on_a_task_you_are_assigned_to_or_created(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    creator, assignee, author = await person(), await person(), await person(username="carol_c")
    task = uuid.uuid4()
    data = {
        "comment_id": str(uuid.uuid4()),
        "task_id": str(task),
        "board_id": str(uuid.uuid4()),
        "team_id": str(uuid.uuid4()),
        "user_id": str(author.id),
        "content": "Looks  good,\nship it " + "x" * 300,
        "task_title": "Launch",
        "assignee_id": str(assignee.id),
        "task_created_by_id": str(creator.id),
        "created_at": "2026-11-24T09:00:00Z",
    }
    await deliver("tasks.comment.added", data, subject=data["comment_id"])
    for who in (creator, assignee):
        [n] = await inbox(who).items()
        assert n["kind"] == "task.commented"
        assert n["title"] == "New comment on “Launch”"
        assert n["message"].startswith("carol_c commented: “Looks good, ship it xxx")
        assert n["message"].endswith("…”")
        assert len(n["message"]) < 250
        assert n["link"] == f"/api/v1/tasks/{task}/comments"
    assert await inbox(author).items() == []

    # the author comments on their own task: only the assignee hears of it
    own = {**data, "comment_id": str(uuid.uuid4()), "user_id": str(creator.id)}
    await deliver("tasks.comment.added", own, subject=own["comment_id"])
    assert len(await inbox(assignee).items()) == 2
    assert len(await inbox(creator).items()) == 1


async def test_being_added_to_a_team(deliver: Deliver, person: MakePerson, inbox: InboxOf) -> None:
    owner, bob = await person(username="olga_o"), await person()
    team = uuid.uuid4()
    await deliver(
        "teams.team.created",
        {
            "team_id": str(team),
            "name": "Apollo",
            "description": "",
            "owner_id": str(owner.id),
            "user_id": str(owner.id),
            "actor_id": str(owner.id),
            "created_at": "2026-11-24T08:00:00.000000Z",
        },
        subject=team,
    )
    await deliver(member_added(team, owner.id, "owner", seq=1))  # the creator: by themself
    added = member_added(team, bob.id, "admin", seq=2)
    added.data.update(user_id=str(owner.id), actor_id=str(owner.id))
    await deliver(added)

    assert await inbox(owner).items() == []
    [n] = await inbox(bob).items()
    assert n["kind"] == "team.member_added"
    assert n["title"] == "You joined Apollo"
    assert n["message"] == "olga_o added you to Apollo as an admin."
    assert n["link"] == f"/api/v1/teams/{team}"
    assert n["team_id"] == str(team)


async def test_a_meeting_you_are_invited_to_and_its_start(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    host, ann, ben = await person(username="hugo_h"), await person(), await person()
    meeting, team = uuid.uuid4(), uuid.uuid4()
    base = {"meeting_id": str(meeting), "team_id": str(team), "title": "Planning"}
    start = clock.now + timedelta(days=1)
    await deliver(
        "meetings.meeting.scheduled",
        {
            **base,
            "user_id": str(host.id),
            "start_time": ts(start),
            "end_time": ts(start + timedelta(hours=1)),
            "participant_ids": [str(host.id), str(ann.id), str(ben.id)],
        },
        subject=meeting,
    )
    for who in (ann, ben):
        [n] = await inbox(who).items(kind="meeting.invited")
        assert n["title"] == "Meeting invitation: Planning"
        assert n["message"] == "hugo_h invited you to “Planning” at 2026-11-25 09:00 UTC."
        assert n["link"] == f"/api/v1/meetings/{meeting}"
    assert await inbox(host).items() == []

    await deliver(
        "meetings.meeting.started",
        {
            **base,
            "user_id": str(host.id),
            "started_at": ts(clock.now),
            "participant_ids": [str(host.id), str(ann.id)],
        },
        subject=meeting,
    )
    [n] = await inbox(ann).items(kind="meeting.started")
    assert n["title"] == "Meeting started: Planning"
    assert await inbox(ben).items(kind="meeting.started") == []
    assert await inbox(host).items() == []


async def test_a_calendar_reminder_chooses_its_channels_by_reminder_type(
    app: Any, deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    from notifications.models import Notification
    from sqlalchemy import select

    creator, guest = await person(), await person()
    start = clock.now + timedelta(hours=2)

    async def remind(reminder_type: str) -> str:
        event_id = uuid.uuid4()
        await deliver(
            "calendar.reminder.due",
            {
                "event_id": str(event_id),
                "occurrence_start": ts(start),
                "reminder_type": reminder_type,
                "recipient_ids": [str(creator.id), str(guest.id)],
                "title": f"Review {reminder_type}",
                "start_time": ts(start),
                "team_id": None,
            },
            subject=event_id,
        )
        return str(event_id)

    both = await remind("both")
    in_app = await remind("notification")
    mail_only = await remind("email")

    items = await inbox(guest).items()
    assert [i["title"] for i in items] == ["Reminder: Review notification", "Reminder: Review both"]
    assert items[1]["message"] == "“Review both” starts at 2026-11-24 11:00 UTC."
    assert items[1]["link"] == f"/api/v1/calendar/events/{both}"
    assert len(await inbox(creator).items()) == 2  # the creator is reminded too: no actor

    async with app.state.db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Notification.link, Notification.in_app, Notification.email).where(
                    Notification.recipient_id == guest.id
                )
            )
        ).all()
    channels = {link.rsplit("/", 1)[1]: (a, e) for link, a, e in rows}
    assert channels == {both: (True, True), in_app: (True, False), mail_only: (False, True)}


async def test_an_at_mention_in_a_room_of_your_team(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    author = await person(username="dora_d")
    bob = await person(username="Bob_M1")
    outsider = await person(username="eve_m1")
    team = uuid.uuid4()
    for i, who in enumerate((author, bob), start=1):
        await deliver(member_added(team, who.id, seq=i))
    message = uuid.uuid4()
    await deliver(
        "chat.message.posted",
        {
            "message_id": str(message),
            "room_id": str(uuid.uuid4()),
            "team_id": str(team),
            "user_id": str(author.id),
            "timestamp": "2026-11-24T09:00:00Z",
            "mentions": ["bob_m1.", "eve_m1", "dora_d", "nobody_here"],
        },
    )
    [n] = await inbox(bob).items(kind="chat.mention")
    assert n["title"] == "You were mentioned in chat"
    assert n["message"] == "dora_d mentioned you in a message."
    assert n["link"] == f"/api/v1/messages/{message}"
    assert n["team_id"] == str(team)
    assert await inbox(outsider).items() == []  # not in the room's team
    assert await inbox(author).items(kind="chat.mention") == []


async def test_a_message_without_mentions_changes_nothing(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    bob = await person()
    assert await deliver(
        "chat.message.posted",
        {
            "message_id": str(uuid.uuid4()),
            "room_id": str(uuid.uuid4()),
            "team_id": str(uuid.uuid4()),
            "user_id": str(uuid.uuid4()),
            "timestamp": "2026-11-24T09:00:00Z",
        },
    )
    assert await inbox(bob).items() == []


async def test_your_focus_goal_reached(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    me = await person()
    goal = uuid.uuid4()
    await deliver(
        "focus.goal.reached",
        {
            "goal_id": str(goal),
            "user_id": str(me.id),
            "team_id": None,
            "date": "2026-11-24",
            "target_hours": 2,
            "actual_hours": 2.25,
            "timezone": "UTC",
            "reached_at": "2026-11-24T09:00:00Z",
        },
        subject=goal,
    )
    [n] = await inbox(me).items()
    assert n["kind"] == "focus.goal_reached"
    assert n["notification_type"] == "success"
    assert n["message"] == "You focused 2.25 h of your 2 h goal for 2026-11-24."
    assert n["link"] == "/api/v1/focus/goals/2026-11-24"


async def test_an_integration_that_needs_reconnecting(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    me = await person()
    integration = uuid.uuid4()
    await deliver(
        "integrations.integration.needs_reconnect",
        {
            "integration_id": str(integration),
            "integration_type": "google_calendar",
            "user_id": str(me.id),
            "reason": "invalid_grant",
            "detected_at": "2026-11-24T09:00:00.000000Z",
        },
        subject=integration,
    )
    [n] = await inbox(me).items()
    assert n["kind"] == "integration.needs_reconnect"
    assert n["notification_type"] == "warning"
    assert n["title"] == "Reconnect Google Calendar"
    assert n["link"] == "/api/v1/integrations"


async def test_the_same_event_twice_makes_one_notification(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    bob = await person()
    event = make_event("tasks.task.assigned", task_assigned(bob.id, uuid.uuid4()))
    assert await deliver(event)
    assert not await deliver(event)
    assert len(await inbox(bob).items()) == 1


async def test_a_task_created_with_an_assignee_notifies_once(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    """tasks publishes ``created`` then ``assigned`` for a task created with an assignee:
    the assignee hears of it once, from ``assigned``."""
    alice, bob = await person(), await person()
    assigned = task_assigned(bob.id, alice.id)
    created = {
        **{k: v for k, v in assigned.items() if k != "previous_assignee_id"},
        "user_id": str(alice.id),
        "position": 0,
        "label_ids": [],
        "created_at": "2026-11-24T09:00:00Z",
    }
    await deliver("tasks.task.created", created, subject=created["task_id"])
    assert await inbox(bob).items() == []
    await deliver("tasks.task.assigned", assigned, subject=assigned["task_id"])
    assert len(await inbox(bob).items()) == 1
