"""Preferences: defaults, partial changes, refusals (422 with the field, nothing written), and
the channels they choose for what arrives next."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from notifications.kinds import KINDS
from notifications.models import EmailBatch, Notification
from sqlalchemy import select
from vc_common.testing.plugin import Deliver

from .conftest import Inbox, Person, task_assigned

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]
PATH = "/api/v1/notifications/preferences"


async def test_the_defaults(person: MakePerson, client: httpx.AsyncClient) -> None:
    me = await person(timezone="Europe/Berlin")
    r = await client.get(PATH, headers=me.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["channels"]) == set(KINDS)
    assert body["channels"]["task.assigned"] == {"in_app": True, "email": True}
    assert body["channels"]["meeting.started"] == {"in_app": True, "email": False}
    assert body["defer_during_focus"] is True
    assert body["quiet_hours"] is None
    assert body["timezone"] == "Europe/Berlin"


async def test_put_changes_only_what_it_names(
    person: MakePerson, client: httpx.AsyncClient
) -> None:
    me = await person()
    r = await client.put(
        PATH,
        json={
            "channels": {"task.assigned": {"email": False}},
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["channels"]["task.assigned"] == {"in_app": True, "email": False}
    assert r.json()["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    r = await client.put(PATH, json={"defer_during_focus": False}, headers=me.headers)
    body = (await client.get(PATH, headers=me.headers)).json()
    assert body == r.json()
    assert body["defer_during_focus"] is False
    assert body["channels"]["task.assigned"] == {"in_app": True, "email": False}
    assert body["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    r = await client.put(PATH, json={"quiet_hours": None}, headers=me.headers)
    assert r.json()["quiet_hours"] is None
    other = await person()
    assert (await client.get(PATH, headers=other.headers)).json()["defer_during_focus"] is True


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"channels": {"task.exploded": {"email": False}}}, ["body", "channels", "task.exploded"]),
        (
            {"channels": {"task.assigned": {"sms": True}}},
            ["body", "channels", "task.assigned", "sms"],
        ),
        (
            {"channels": {"task.assigned": {"email": "no"}}},
            ["body", "channels", "task.assigned", "email"],
        ),
        ({"channels": None}, ["body", "channels"]),
        ({"defer_during_focus": "yes"}, ["body", "defer_during_focus"]),
        ({"defer_during_focus": None}, ["body", "defer_during_focus"]),
        ({"quiet_hours": {"start": "22:00"}}, ["body", "quiet_hours", "end"]),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, ["body", "quiet_hours", "start"]),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, ["body", "quiet_hours"]),
        (
            {"quiet_hours": {"start": "22:00+02:00", "end": "07:00"}},
            ["body", "quiet_hours", "start"],
        ),
        ({"mute": True}, ["body", "mute"]),
    ],
)
async def test_bad_preferences_are_a_422_and_change_nothing(
    person: MakePerson, client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    me = await person()
    before = (await client.get(PATH, headers=me.headers)).json()
    r = await client.put(PATH, json=body, headers=me.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert next(e["loc"][: len(loc)] for e in r.json()["errors"]) == loc
    assert (await client.get(PATH, headers=me.headers)).json() == before


async def test_channels_choose_how_the_next_ones_travel(
    app: Any, deliver: Deliver, person: MakePerson, inbox: InboxOf, client: httpx.AsyncClient
) -> None:
    me = await person()

    async def rows() -> list[Any]:
        async with app.state.db.sessionmaker() as session:
            return list(
                (
                    await session.execute(
                        select(Notification.in_app, Notification.email, EmailBatch.id)
                        .outerjoin(EmailBatch, EmailBatch.id == Notification.email_batch_id)
                        .where(Notification.recipient_id == me.id)
                        .order_by(Notification.created_at, Notification.id)
                    )
                ).all()
            )

    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    [(in_app, email, batch)] = await rows()
    assert (in_app, email, batch is not None) == (True, True, True)

    await client.put(
        PATH, json={"channels": {"task.assigned": {"in_app": False}}}, headers=me.headers
    )
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert [(a, e) for a, e, _ in await rows()] == [(True, True), (False, True)]
    assert len(await inbox(me).items()) == 1  # mail only: not in the inbox

    await client.put(
        PATH, json={"channels": {"task.assigned": {"email": False}}}, headers=me.headers
    )
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert len(await rows()) == 2  # both channels off: nothing made
