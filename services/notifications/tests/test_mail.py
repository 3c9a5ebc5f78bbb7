"""E-mail through a real SMTP server: one mail per batching window (what is still unread),
a plain-text and an HTML part, urgent ones at once, retries, and two replicas sending each mail
once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from notifications.models import EmailBatch
from sqlalchemy import select
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, MovableClock

from .conftest import Inbox, MailBox, Person, focus_session, task_assigned, ts

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]


async def _batches(app: Any, user_id: uuid.UUID) -> list[EmailBatch]:
    async with app.state.db.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(EmailBatch)
                    .where(EmailBatch.user_id == user_id)
                    .order_by(EmailBatch.created_at)
                )
            ).scalars()
        )


async def test_several_within_two_minutes_make_one_mail(
    app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock, smtp: MailBox
) -> None:
    me, alice = await person(), await person(username="alice_m1")
    start = clock.now
    for i in range(3):
        await deliver("tasks.task.assigned", task_assigned(me.id, alice.id, title=f"t{i}"))
        clock.advance(seconds=30)
    assert await run_job(app, "send_mail") == 0  # the window is still open
    assert smtp.to(me.email) == []
    clock.set(start + timedelta(minutes=2))
    assert await run_job(app, "send_mail") == 1
    [mail] = smtp.to(me.email)
    [batch] = await _batches(app, me.id)
    assert batch.status == "sent"
    assert batch.to_address == me.email
    assert mail["Subject"] == "3 new notifications on VirtualCoworking"
    assert mail["Message-ID"] == f"<{batch.id.hex}@virtualcoworking.dev>"
    assert mail["From"] == "VirtualCoworking <notifications@virtualcoworking.dev>"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content()
    assert plain.startswith(f"Hello {me.username},")
    for i in range(3):
        assert f"* Task assigned: t{i}" in plain
    assert "alice_m1 assigned you “t0”" in plain
    assert "http://127.0.0.1:8000/api/v1/tasks/" in plain
    assert '<a href="http://127.0.0.1:8000/api/v1/tasks/' in html.get_content()
    # the next one opens a new window
    await deliver("tasks.task.assigned", task_assigned(me.id, alice.id, title="later"))
    assert [b.status for b in await _batches(app, me.id)] == ["sent", "pending"]
    assert await run_job(app, "send_mail") == 0


async def test_what_was_read_in_the_app_needs_no_mail(
    app: Any,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    client: httpx.AsyncClient,
    clock: MovableClock,
    smtp: MailBox,
) -> None:
    me = await person()
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), title="read me"))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4(), title="unread"))
    read = next(n for n in await inbox(me).items() if n["title"].endswith("read me"))
    await client.post(f"/api/v1/notifications/{read['id']}/read", headers=me.headers)
    clock.advance(minutes=2)
    assert await run_job(app, "send_mail") == 1
    [mail] = smtp.to(me.email)
    assert mail["Subject"] == "Task assigned: unread"

    other = await person()
    await deliver("tasks.task.assigned", task_assigned(other.id, uuid.uuid4()))
    await client.post("/api/v1/notifications/read-all", headers=other.headers)
    clock.advance(minutes=2)
    assert await run_job(app, "send_mail") == 1
    assert smtp.to(other.email) == []
    assert [b.status for b in await _batches(app, other.id)] == ["skipped"]


async def test_an_email_reminder_starting_soon_is_mailed_at_once(
    app: Any,
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    clock: MovableClock,
    smtp: MailBox,
) -> None:
    me = await person()
    # even while focusing: it starts within 15 minutes
    await deliver("focus.session.started", focus_session(me.id, clock.now, 90))
    start = clock.now + timedelta(minutes=10)
    await deliver(
        "calendar.reminder.due",
        {
            "event_id": str(uuid.uuid4()),
            "occurrence_start": ts(start),
            "reminder_type": "email",
            "recipient_ids": [str(me.id)],
            "title": "Standup",
            "start_time": ts(start),
            "team_id": None,
        },
    )
    assert await inbox(me).items() == []  # e-mail only
    assert await run_job(app, "send_mail") == 1
    [mail] = smtp.to(me.email)
    assert mail["Subject"] == "Reminder: Standup"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "“Standup” starts in 10 minutes (2026-11-24 09:10 UTC)." in body.get_content()


async def test_held_notifications_mail_after_their_release(
    app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock, smtp: MailBox
) -> None:
    me = await person()
    session, start = uuid.uuid4(), clock.now
    await deliver("focus.session.started", focus_session(me.id, start, 25, session_id=session))
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    assert await _batches(app, me.id) == []
    clock.advance(minutes=10)
    await deliver(
        "focus.session.ended", focus_session(me.id, start, 25, session_id=session, ended=clock.now)
    )
    [batch] = await _batches(app, me.id)
    assert batch.send_after == clock.now + timedelta(minutes=2)
    clock.advance(minutes=2)
    assert await run_job(app, "send_mail") == 1
    assert [m["Subject"] for m in smtp.to(me.email)] == ["Task assigned: Write the launch post"]


async def test_a_refused_mail_is_retried_with_backoff_then_given_up(
    app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock, smtp: MailBox
) -> None:
    me = await person()
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    clock.advance(minutes=2)
    smtp.refuse = True
    assert await run_job(app, "send_mail") == 1
    [batch] = await _batches(app, me.id)
    assert (batch.status, batch.attempts) == ("pending", 1)
    assert batch.last_error is not None
    assert "451" in batch.last_error
    assert batch.send_after == clock.now + timedelta(seconds=30)
    assert await run_job(app, "send_mail") == 0  # not before its retry time
    smtp.refuse = False
    clock.advance(seconds=30)
    assert await run_job(app, "send_mail") == 1
    assert len(smtp.to(me.email)) == 1
    [batch] = await _batches(app, me.id)
    assert (batch.status, batch.attempts) == ("sent", 2)

    # a user identity never told us an address of: retried, then dead, nothing sent
    ghost = uuid.uuid4()
    await deliver("tasks.task.assigned", task_assigned(ghost, uuid.uuid4()))
    for _ in range(8):
        clock.advance(hours=1)
        await run_job(app, "send_mail")
    [dead] = await _batches(app, ghost)
    assert (dead.status, dead.attempts) == ("dead", 8)
    assert dead.last_error == "no e-mail address known for the user"


async def test_two_replicas_send_each_mail_once(
    live_app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock, smtp: MailBox
) -> None:
    live_app.state.settings = live_app.state.settings.model_copy(
        update={"notifications_mail_batch": 2}
    )
    people = [await person() for _ in range(8)]
    for p in people:
        await deliver("tasks.task.assigned", task_assigned(p.id, uuid.uuid4()))
    clock.advance(minutes=2)

    async def mailer() -> int:
        total = 0
        while (n := await run_job(live_app, "send_mail")) > 0:
            total += n
        return total

    a, b = await asyncio.gather(mailer(), mailer())
    assert a + b == len(people)
    assert a > 0
    assert b > 0
    assert sorted(len(smtp.to(p.email)) for p in people) == [1] * len(people)


class DropsAtQuit:
    """An SMTP server that accepts the mail (250 to DATA) and then drops the connection at
    QUIT, as a server that crashes or a network that fails right after the send may."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO" or verb == b"HELO":
                writer.write(b"250 test\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                while (await reader.readline()) != b".\r\n":
                    pass
                self.accepted += 1
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                writer.transport.abort()  # no 221: the client sees the connection reset
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_connection_lost_after_the_server_took_the_mail_does_not_send_it_again(
    app: Any, deliver: Deliver, person: MakePerson, clock: MovableClock
) -> None:
    server = DropsAtQuit()
    await server.start()
    settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_timeout": 5.0}
    )
    try:
        me = await person()
        await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
        clock.advance(minutes=2)
        assert await run_job(app, "send_mail") == 1
        clock.advance(hours=2)
        assert await run_job(app, "send_mail") == 0
        assert server.accepted == 1
        [batch] = await _batches(app, me.id)
        assert (batch.status, batch.attempts) == ("sent", 1)
    finally:
        app.state.settings = settings
        server.stop()
