"""Fixtures of the notifications tests, on top of the shared plugins (``vc_common``: ``app``,
``client``, ``live_app``, ``deliver``, ``clock``, ``outbox``; ``teams_client``: ``fake_teams``,
``team``): users made known the way identity tells them (its events), the events of the other
contexts in their producers' shapes, and a real SMTP server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from vc_common.ports import free_port
from vc_common.testing.plugin import Deliver, MovableClock, ServiceUnderTest, TestUser

TEST_ENV = {
    # the jobs' loops never tick by themselves in a test: tests run them with run_job
    "NOTIFICATIONS_RELEASE_INTERVAL_SECONDS": "3600",
    "NOTIFICATIONS_MAIL_INTERVAL_SECONDS": "3600",
    # no relay or broker consumer: the shared broker's streams carry other suites' events
    "EVENTS_ENABLED": "false",
    "LOG_JSON": "false",
}


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="notifications", settings_env=TEST_ENV)


def ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass
class Person:
    """A user identity told notifications about (username, e-mail, timezone)."""

    id: uuid.UUID
    username: str
    email: str
    headers: dict[str, str]
    token: str


@pytest.fixture
def person(
    deliver: Deliver, make_user: Callable[..., TestUser]
) -> Callable[..., Awaitable[Person]]:
    async def make(timezone: str = "UTC", username: str | None = None) -> Person:
        u = make_user(username or f"u{uuid.uuid4().hex[:8]}")
        await deliver(
            "identity.user.registered",
            {
                "user_id": str(u.id),
                "username": u.username,
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                "email": f"{u.username}@example.com",
                "date_joined": "2026-11-01T00:00:00Z",
            },
        )
        return Person(u.id, u.username, f"{u.username}@example.com", u.headers, u.token)

    return make


def task_assigned(
    assignee: uuid.UUID | None,
    actor: uuid.UUID | None,
    *,
    team_id: uuid.UUID | None = None,
    title: str = "Write the launch post",
    priority: str = "medium",
    task_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """``data`` of ``tasks.task.assigned`` as tasks writes it."""
    return {
        "task_id": str(task_id or uuid.uuid4()),
        "board_id": str(uuid.uuid4()),
        "team_id": str(team_id or uuid.uuid4()),
        "column_id": str(uuid.uuid4()),
        "title": title,
        "assignee_id": str(assignee) if assignee else None,
        "priority": priority,
        "due_date": "2026-12-01",
        "version": 2,
        "position": 0,
        "completed_at": None,
        "user_id": str(actor) if actor else None,
        "previous_assignee_id": None,
    }


def focus_session(
    user_id: uuid.UUID,
    start: datetime,
    minutes: int = 25,
    *,
    session_id: uuid.UUID | None = None,
    ended: datetime | None = None,
    ended_by: str = "user",
) -> dict[str, Any]:
    """``data`` of ``focus.session.started`` (``ended`` None) or ``.ended``, as focus writes it."""
    planned = start + timedelta(minutes=minutes)
    data: dict[str, Any] = {
        "session_id": str(session_id or uuid.uuid4()),
        "user_id": str(user_id),
        "team_id": None,
        "task_id": None,
        "focus_type": "pomodoro" if minutes == 25 else "custom",
        "start_time": ts(start),
        "planned_end_time": ts(planned),
        "end_time": None,
        "planned_minutes": minutes,
        "actual_minutes": None,
        "is_completed": False,
        "interruptions": 0,
        "minutes_by_day": {},
        "timezone": "UTC",
    }
    if ended is not None:
        actual = max(0, int((ended - start).total_seconds() // 60))
        data.update(
            end_time=ts(ended),
            actual_minutes=actual,
            is_completed=actual >= minutes,
            minutes_by_day={start.date().isoformat(): actual} if actual else {},
            minutes=actual,
            ended_by=ended_by,
        )
    return data


class Inbox:
    """The inbox of one user, read through the API."""

    def __init__(self, client: httpx.AsyncClient, who: Person | TestUser) -> None:
        self.client = client
        self.headers = who.headers

    async def items(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/api/v1/notifications", params=params, headers=self.headers)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def unread(self) -> int:
        r = await self.client.get("/api/v1/notifications/unread-count", headers=self.headers)
        assert r.status_code == 200, r.text
        return int(r.json()["count"])


@pytest.fixture
def inbox(client: httpx.AsyncClient) -> Callable[[Person | TestUser], Inbox]:
    return lambda who: Inbox(client, who)


# --- SMTP ------------------------------------------------------------------------------------


class MailBox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session
        if self.refuse:
            return "451 4.3.0 try again later (test)"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(app_for_mail: Any) -> Iterator[MailBox]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings = app_for_mail.state.settings
    app_for_mail.state.settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5.0}
    )
    try:
        yield box
    finally:
        app_for_mail.state.settings = settings
        controller.stop()


@pytest.fixture
def app_for_mail(request: pytest.FixtureRequest) -> Any:
    name = "live_app" if "live_app" in request.fixturenames else "app"
    return request.getfixturevalue(name)


__all__ = ["Deliver", "MovableClock"]
