"""The embedded servers, for real: PostgreSQL from pgserver, nats-server, the SMTP sink."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import smtplib
import tempfile
from email.message import EmailMessage
from pathlib import Path

import psutil
import psycopg
import pytest
from vc_common.ports import RESERVED_PORTS
from vc_devrun.config import Entry
from vc_devrun.database import ensure_databases
from vc_devrun.infra import Infra, InfraError, read_nats_info
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


@pytest.mark.slow
async def test_a_second_runner_never_stops_the_first_ones_postgres(tmp_path: Path) -> None:
    """`make migrate` (or a second `make run`) beside a running platform: the first used to stop
    the running PostgreSQL as a "leftover". Now a second `run` is refused with a clear message
    and `migrate` uses the running server."""
    run_dir = tmp_path / "run"
    first = Infra(run_dir, Output(io.StringIO(), color=False), env={}, fsync=False)
    try:
        exports = await first.start(event_bus=False, smtp=False)
        second = Infra(run_dir, Output(io.StringIO(), color=False), env={})
        with pytest.raises(InfraError, match="another runner"):
            await second.start(event_bus=False, smtp=False)
        migrate = Infra(run_dir, Output(io.StringIO(), color=False), env={})
        attached = await migrate.start(event_bus=False, smtp=False, attach=True)
        assert attached["DATABASE_URL"] == exports["DATABASE_URL"]
        await migrate.stop()  # stops nothing it did not start
        async with await psycopg.AsyncConnection.connect(exports["DATABASE_URL"]) as conn:
            cur = await conn.execute("SELECT 1")
            assert await cur.fetchone() == (1,)
    finally:
        await first.stop()
    again = Infra(run_dir, Output(io.StringIO(), color=False), env={}, fsync=False)
    try:  # the first runner is gone: the folder is free again
        await again.start(event_bus=False, smtp=False)
    finally:
        await again.stop()


@pytest.mark.slow
async def test_a_killed_embedded_server_comes_back_on_its_port_with_its_data() -> None:
    """kill -9 of PostgreSQL and of NATS, then :meth:`Infra.restart` (what the runner's
    supervisor calls): the same URLs answer again, the committed row survived crash recovery
    (durable commits, as `make run` has them: fsync=False would allow losing it).

    Not under pytest's tmp_path: any pytest starting meanwhile re-chmods its base to 0700,
    which locks out the `pgserver` user PostgreSQL runs as under root, at the restart."""
    run_dir = Path(tempfile.mkdtemp(prefix="vc-devrun-restart-"))
    infra = Infra(run_dir / "run", Output(io.StringIO(), color=False), env={})
    try:
        exports = await infra.start(smtp=False)
        assert infra.postgres is not None
        assert infra.nats is not None
        database_url = exports["DATABASE_URL"]
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        for server in (infra.postgres, infra.nats):
            proc = server.process
            assert proc is not None
            port = server.port
            psutil.Process(proc.pid).kill()
            await proc.wait()
            assert await infra.restart(proc)
            assert server.port == port
            assert proc.running
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cur = await conn.execute("SELECT n FROM kept")
            assert await cur.fetchall() == [(7,)]
        assert infra.nats.port is not None
        assert await read_nats_info("127.0.0.1", infra.nats.port) is not None
    finally:
        await infra.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    assert psutil.Process().children(recursive=True) == []
