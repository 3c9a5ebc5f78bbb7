from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from identity.app import create_app
from vc_common.ports import free_port
from vc_common.testing.plugin import ServiceUnderTest

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"

# cheap hashes in tests; rate limits and the failed-login backoff high (REDIS_URL shares their
# counters between tests and between runs: every test fails its sign-ins from 127.0.0.1; the
# throttling tests lower them on their own app, strict_limits, with unique addresses)
TEST_ENV = {
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "8",
    "ARGON2_PARALLELISM": "1",
    "MAIL_SENDER_ENABLED": "false",
    "LOGIN_RATE_PER_ACCOUNT": "1000/minute",
    "LOGIN_RATE_PER_IP": "1000/minute",
    "LOGIN_FREE_FAILURES_PER_PAIR": "1000000",
    "LOGIN_FREE_FAILURES_PER_ADDRESS": "1000000",
    "REGISTER_RATE_PER_ACCOUNT": "1000/minute",
    "REGISTER_RATE_PER_IP": "1000/minute",
    "LOG_JSON": "false",
}


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(
        name="identity",
        app_factory=create_app,
        settings_env=TEST_ENV,
    )


@dataclass
class Account:
    id: uuid.UUID
    username: str
    email: str
    password: str
    access_token: str = ""
    refresh_token: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """Register and sign in real users through the HTTP API."""

    async def register(
        self, client: httpx.AsyncClient, username: str | None = None, **extra: Any
    ) -> Account:
        name = username or f"u_{secrets.token_hex(5)}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **extra}
        resp = await client.post("/api/v1/auth/register", json=body)
        assert resp.status_code == 201, resp.text
        data = resp.json()
        return Account(uuid.UUID(data["id"]), name, data["email"], body["password"], body=data)

    async def login(self, client: httpx.AsyncClient, account: Account) -> Account:
        resp = await client.post(
            "/api/v1/auth/login", json={"username": account.username, "password": account.password}
        )
        assert resp.status_code == 200, resp.text
        account.access_token = resp.json()["access_token"]
        account.refresh_token = resp.json()["refresh_token"]
        return account

    async def signed_in(
        self, client: httpx.AsyncClient, username: str | None = None, **extra: Any
    ) -> Account:
        return await self.login(client, await self.register(client, username, **extra))


@pytest.fixture
def api() -> Api:
    return Api()


class MailBox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.arrived.set()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def mail_env(
    smtp: tuple[MailBox, int], service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail sender on, pointed at the ``smtp`` server (set before the app is made)."""
    del service_env
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp[1]))
    monkeypatch.setenv("MAIL_SENDER_ENABLED", "true")
    monkeypatch.setenv("MAIL_POLL_INTERVAL", "0.05")


@pytest_asyncio.fixture
async def mail_client(mail_env: None, live_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The plugin's ``live_client`` (real commits) with the mail sender running."""
    del mail_env
    return live_client
