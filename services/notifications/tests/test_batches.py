"""A broker batch applied whole, as the bus delivers it (``Consumer.handle_batch``): its events
judged in delivery order, each applied exactly once, in a fixed number of statements however many
events it holds."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from notifications.consumers import consumer
from notifications.models import EmailBatch, Hold, Notification
from sqlalchemy import event, select
from vc_common.events.envelope import CloudEvent
from vc_common.testing.plugin import MovableClock, ReadOutbox, make_event

from .conftest import Inbox, Person, focus_session, task_assigned

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]
DELIVERED = "notifications.notification.delivered"


def _assigned(to: uuid.UUID, title: str, **kw: Any) -> CloudEvent:
    return make_event("tasks.task.assigned", task_assigned(to, uuid.uuid4(), title=title, **kw))


def _commented(on: Person, by: Person) -> CloudEvent:
    comment = str(uuid.uuid4())
    data = {
        "comment_id": comment,
        "task_id": str(uuid.uuid4()),
        "board_id": str(uuid.uuid4()),
        "team_id": str(uuid.uuid4()),
        "user_id": str(by.id),
        "content": "Looks good",
        "task_title": "Launch",
        "assignee_id": str(on.id),
        "task_created_by_id": str(by.id),
        "created_at": "2026-11-24T09:00:00Z",
    }
    return make_event("tasks.comment.added", data, subject=comment)


@contextmanager
def _statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements run on the app's database while the block runs."""
    seen: list[str] = []
    engine = app.state.db.engine.sync_engine

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_batch_is_judged_in_delivery_order_and_applied_once(
    app: Any, person: MakePerson, inbox: InboxOf, outbox: ReadOutbox, clock: MovableClock
) -> None:
    me, carol = await person(), await person(username="carol_b")
    before = _assigned(me.id, "before")
    focus = make_event("focus.session.started", focus_session(me.id, clock.now, 25))
    during = _assigned(me.id, "during")
    urgent = _assigned(me.id, "urgent", priority="urgent")
    comment = _commented(me, carol)
    batch = [before, focus, during, during, urgent, comment]

    db = app.state.db
    assert await consumer.handle_batch(db, batch) == [True, True, True, False, True, True]
    # before the session started: delivered; during it: held (info), but the urgent one and
    # nothing else goes through; the comment (info, during the session) waits too
    titles = [n["title"] for n in await inbox(me).items()]
    assert sorted(titles) == ["Task assigned: before", "Task assigned: urgent"]
    async with db.sessionmaker() as s:
        hold = (await s.execute(select(Hold).where(Hold.user_id == me.id))).scalar_one()
    assert hold.reason == "focus"
    published = [e["data"]["title"] for e in await outbox(DELIVERED, subject=me.id)]
    assert published == ["Task assigned: before", "Task assigned: urgent"]

    # the same deliveries again (a redelivery of the whole batch): nothing new
    assert await consumer.handle_batch(db, batch) == [False] * len(batch)
    assert len(await inbox(me).items()) == 2
    assert len(await outbox(DELIVERED, subject=me.id)) == 2


async def test_a_batch_takes_the_same_statements_however_many_events_it_holds(
    app: Any, person: MakePerson, inbox: InboxOf
) -> None:
    people = [await person() for _ in range(3)]
    counts = []
    for size in (4, 90):
        batch = [_assigned(people[i % 3].id, f"t{i}") for i in range(size)]
        with _statements(app) as seen:
            assert all(await consumer.handle_batch(app.state.db, batch))
        counts.append(len([s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE"))]))
    # the inbox rows, one lookup of the recipients, their open mail, one write
    assert counts == [4, 4]
    assert sum([await inbox(p).unread() for p in people]) == 94


async def test_an_urgent_notification_hurries_the_mail_already_pending(
    app: Any, person: MakePerson, clock: MovableClock
) -> None:
    me = await person()
    db = app.state.db
    await consumer.handle_batch(db, [_assigned(me.id, "a"), _assigned(me.id, "b")])
    clock.advance(minutes=1)
    await consumer.handle_batch(db, [_assigned(me.id, "c", priority="urgent")])
    async with db.sessionmaker() as s:
        [batch] = (await s.execute(select(EmailBatch).where(EmailBatch.user_id == me.id))).scalars()
        attached = (
            await s.execute(
                select(Notification.email_batch_id).where(Notification.recipient_id == me.id)
            )
        ).scalars()
        # one mail for the three, due now instead of two minutes after the first
        assert batch.send_after == clock.now
        assert batch.created_at == clock.now - timedelta(minutes=1)
        assert list(attached) == [batch.id] * 3
