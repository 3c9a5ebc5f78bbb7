"""What notifications publishes, validated against its contract by the ``outbox`` fixture; and
what the identity and teams projections change."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from vc_common.testing.plugin import Deliver, MovableClock, ReadOutbox

from .conftest import Inbox, Person, task_assigned

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]
DELIVERED = "notifications.notification.delivered"


async def test_each_delivered_notification_is_published_for_the_live_socket(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, outbox: ReadOutbox, clock: MovableClock
) -> None:
    me = await person()
    team = uuid.uuid4()
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), team_id=team))
    [n] = await inbox(me).items()
    [event] = await outbox(DELIVERED, subject=me.id)  # validated against its schema
    assert event["source"] == "notifications"
    assert event["data"] == {
        "notification_id": n["id"],
        "recipient_id": str(me.id),
        "user_id": str(me.id),
        "team_id": str(team),
        "kind": "task.assigned",
        "notification_type": "info",
        "title": n["title"],
        "message": n["message"],
        "link": n["link"],
        "is_read": False,
        "created_at": "2026-11-24T09:00:00.000000Z",
        "delivered_at": "2026-11-24T09:00:00.000000Z",
        "was_held": False,
    }
    del clock


async def test_mail_only_notifications_are_not_published(
    deliver: Deliver, person: MakePerson, outbox: ReadOutbox
) -> None:
    me = await person()
    await deliver(
        "calendar.reminder.due",
        {
            "event_id": str(uuid.uuid4()),
            "occurrence_start": "2026-11-25T09:00:00Z",
            "reminder_type": "email",
            "recipient_ids": [str(me.id)],
            "title": "Standup",
            "start_time": "2026-11-25T09:00:00Z",
            "team_id": None,
        },
    )
    assert await outbox(DELIVERED, subject=me.id) == []


async def test_a_deactivated_user_gets_nothing_and_a_reactivated_one_again(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    me = await person()
    common = {"user_id": str(me.id), "username": me.username, "actor_id": str(uuid.uuid4())}
    clock.advance(minutes=1)
    await deliver("identity.user.deactivated", {**common, "deactivated_at": "2026-11-24T09:01:00Z"})
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert await inbox(me).items() == []
    await deliver("identity.user.reactivated", {**common, "reactivated_at": "2026-11-24T09:02:00Z"})
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert len(await inbox(me).items()) == 1


async def test_a_renamed_team_is_named_so_in_the_next_notification(
    deliver: Deliver, person: MakePerson, inbox: InboxOf
) -> None:
    from teams_client.testing import member_added

    owner, bob, carol = await person(), await person(), await person()
    team = uuid.uuid4()
    base = {"team_id": str(team), "description": "", "owner_id": str(owner.id)}
    actor = {"user_id": str(owner.id), "actor_id": str(owner.id)}
    await deliver(
        "teams.team.created",
        {**base, **actor, "name": "Old", "created_at": "2026-11-24T08:00:00.000000Z"},
        subject=team,
    )
    await deliver(
        "teams.team.updated",
        {**base, **actor, "name": "New", "changed_fields": ["name"]},
        subject=team,
    )
    for seq, who in ((1, bob), (2, carol)):
        event = member_added(team, who.id, seq=seq)
        event.data.update(actor)
        await deliver(event)
    assert [n["title"] for n in await inbox(carol).items()] == ["You joined New"]
