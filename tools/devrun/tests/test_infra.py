"""The embedded servers, for real: PostgreSQL from pgserver, nats-server, the SMTP sink."""

from __future__ import annotations

import asyncio
import io
import json
import smtplib
from email.message import EmailMessage
from pathlib import Path

import psutil
import psycopg
import pytest
from vc_devrun.config import RESERVED_PORTS, Entry
from vc_devrun.database import ensure_databases
from vc_devrun.infra import Infra, read_nats_info
from vc_devrun.procs import Output


def send_mail(port: int) -> None:
    message = EmailMessage()
    message["From"] = "identity@vc.local"
    message["To"] = "ada@example.com"
    message["Subject"] = "Verify your e-mail"
    message.set_content("Open http://127.0.0.1:8000/verify?token=abc123")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


@pytest.mark.slow
async def test_embedded_infra_starts_answers_and_leaves_nothing_behind(tmp_path: Path) -> None:
    log = io.StringIO()
    infra = Infra(tmp_path / "run", Output(log, color=False), env={}, fsync=False)
    try:
        exports = await infra.start()
        assert infra.postgres is not None
        assert infra.nats is not None
        assert infra.smtp is not None
        pids = [p.pid for p in infra.processes]
        assert all(pid is not None for pid in pids)
        children = psutil.Process().children(recursive=True)
        assert len(children) > 2  # postmaster, its workers, nats-server

        database_url = exports["DATABASE_URL"]
        assert database_url.startswith("postgresql://postgres@127.0.0.1:")
        assert infra.postgres.port not in RESERVED_PORTS
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cur = await conn.execute("SELECT 1")
            assert await cur.fetchone() == (1,)

        service = Entry(name="identity", app="m:f", port=1, database=True)
        created = await ensure_databases([service], database_url, {}, infra.output)
        assert created == ["identity"]
        assert await ensure_databases([service], database_url, {}, infra.output) == []
        async with await psycopg.AsyncConnection.connect(
            database_url.rsplit("/", 1)[0] + "/identity"
        ) as conn:
            cur = await conn.execute("SELECT current_database()")
            assert await cur.fetchone() == ("identity",)

        assert exports["EVENT_BUS_URL"] == exports["NATS_URL"]
        assert infra.nats.port is not None
        assert infra.nats.port not in RESERVED_PORTS
        info = await read_nats_info("127.0.0.1", infra.nats.port)
        assert info is not None
        assert json.loads(info.removeprefix("INFO "))["jetstream"] is True

        await asyncio.to_thread(send_mail, int(exports["SMTP_PORT"]))
        assert [m["Subject"] for m in infra.smtp.messages] == ["Verify your e-mail"]
        assert "token=abc123" in log.getvalue()
        assert list((tmp_path / "run" / "mail").glob("*.eml"))
    finally:
        await infra.stop()

    _gone, alive = psutil.wait_procs(children, timeout=3)
    assert alive == []
    assert psutil.Process().children(recursive=True) == []


async def test_given_urls_start_nothing(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgresql://u@db:5432/postgres",
        "NATS_URL": "nats://bus:4222",
        "SMTP_HOST": "mail",
        "SMTP_PORT": "2525",
    }
    infra = Infra(tmp_path, Output(io.StringIO(), color=False), env=env)

    exports = await infra.start()

    assert exports == {
        "DATABASE_URL": "postgresql://u@db:5432/postgres",
        "EVENT_BUS_URL": "nats://bus:4222",
        "SMTP_HOST": "mail",
        "SMTP_PORT": "2525",
    }
    assert infra.processes == []
    assert not (tmp_path / "pg").exists()
