"""Tokens at rest: MultiFernet with rotation, production refuses the development key, and no
log line ever carries a token."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from integrations.connections.service import rotate_keys
from integrations.crypto import Secret, TokenCipher
from integrations.settings import DEVELOPMENT_KEY, Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.jobs import Job, run_job
from vc_common.testing.plugin import MovableClock, TestUser

from .conftest import Connect, Sandbox


def test_multifernet_rotation_reads_old_and_writes_new() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = TokenCipher([old]).encrypt("xoxb-secret")
    assert stored is not None
    assert "xoxb" not in stored
    both = TokenCipher([new, old])
    assert both.decrypt(stored) == Secret("xoxb-secret")
    assert not both.is_current(stored)
    rotated = both.rotate(stored)
    assert rotated is not None
    assert both.is_current(rotated)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        TokenCipher([new]).decrypt(stored)
    assert TokenCipher([new]).decrypt(rotated) == Secret("xoxb-secret")


def test_a_secret_never_prints_its_value() -> None:
    s = Secret("ya29.token")
    assert "ya29" not in repr(s)
    assert "ya29" not in str(s)
    assert "ya29" not in f"{s}"


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://db/x",
        "EVENT_BUS_URL": "nats://bus:4222",
        "JWKS_URL": "http://identity/.well-known/jwks.json",
        "SERVICE_CLIENT_SECRET": "s3cret",
        "GITHUB_WEBHOOK_SECRET": "hook",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("INTEGRATIONS_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ValueError, match="development INTEGRATIONS_ENCRYPTION_KEYS"):
        Settings()
    monkeypatch.setenv(
        "INTEGRATIONS_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},{DEVELOPMENT_KEY}"
    )
    with pytest.raises(ValueError, match="development"):
        Settings()
    monkeypatch.setenv("INTEGRATIONS_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    assert Settings().is_production


async def test_rotate_keys_reencrypts_every_token(
    app: Any, user: TestUser, connect: Connect, db_connection: AsyncConnection
) -> None:
    got = await connect(user, "google_calendar")
    rt = runtime_of(app)
    old_cipher = rt.cipher
    new_key = Fernet.generate_key().decode()
    rt.cipher = TokenCipher([new_key, *app.state.settings.keys()])
    try:
        done = await run_job(app, Job("rotate-keys", rotate_keys))
        assert done >= 2
        row = (
            await db_connection.execute(
                text("SELECT access_token, refresh_token FROM integrations WHERE id = :i"),
                {"i": got["id"]},
            )
        ).one()
        only_new = TokenCipher([new_key])  # the old key can now be dropped
        assert only_new.decrypt(row.access_token) is not None
        assert only_new.decrypt(row.refresh_token) is not None
        assert await run_job(app, Job("rotate-keys", rotate_keys)) == 0  # idempotent
    finally:
        rt.cipher = old_cipher


def runtime_of(app: Any) -> Any:
    return app.state.runtime


async def test_no_log_line_carries_a_token(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    got = await connect(user, "slack")
    await sandbox_http.post(
        "/_sandbox/fail", json={"provider": "slack", "kind": "token", "status": 500}
    )
    clock.advance(minutes=56)
    await run_job(app, "refresh")  # a failure logged
    clock.advance(minutes=5)
    await run_job(app, "refresh")  # a success
    await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    await run_job(app, "syncs")
    await client.delete(f"/api/v1/integrations/{got['id']}", headers=user.headers)
    secrets = [*sandbox.state.access, *sandbox.state.refresh]
    assert secrets
    logged = "\n".join(r.getMessage() + str(r.args) + str(r.exc_text or "") for r in caplog.records)
    assert "refresh failed" in logged  # the failure was logged...
    for s in secrets:
        assert s not in logged  # ...without any token
