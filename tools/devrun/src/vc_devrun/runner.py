"""The platform on one machine: infra, databases, migrations, then the services and the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vc_common.ports import free_port, port_is_free

from vc_devrun.config import HOST, ConfigError, Entry, PlatformConfig, env_key, redact
from vc_devrun.database import (
    MigrationError,
    ensure_databases,
    overflow_for,
    pool_size_for,
    run_migrations,
    server_connection_limit,
    servers_of,
)
from vc_devrun.forkserver import TITLE_ROOM, Forker, become_subreaper
from vc_devrun.infra import PLANNED_PORTS, Infra, InfraError
from vc_devrun.procs import ManagedProcess, Output
from vc_devrun.webbuild import build_web

READY_TIMEOUT = 60.0
_SERVICE_PROBES = ("/readyz", "/healthz", "/health")
_GATEWAY_PROBES = ("/health", "/healthz", "/readyz")


class StartupError(Exception):
    """Something did not come up; the message says what and shows its last log lines."""


def build_env(
    config: PlatformConfig,
    base: Mapping[str, str],
    exports: Mapping[str, str],
    entries: Sequence[Entry] | None = None,
) -> dict[str, str]:
    """The environment every child gets: ours, the infra URLs, and where every service listens:
    ``<NAME>_URL`` is the base URL of the service, or the comma-separated base URLs of all its
    replicas when ``entries`` holds several instances of it (see :meth:`Platform.instances`)."""
    env = {**base, **exports}
    urls: dict[str, list[str]] = {}
    for service in config.services if entries is None else entries:
        urls.setdefault(service.env_prefix, []).append(service.url)
    for prefix, found in urls.items():
        env[f"{prefix}_URL"] = ",".join(found)
    if config.gateway is not None:
        env["GATEWAY_URL"] = config.gateway.url
        env["GATEWAY_PORT"] = str(config.gateway.port)
        # the links identity puts in its mails lead to this platform, wherever its gateway is
        env.setdefault("PUBLIC_URL", config.gateway.url)
    identity = config.service("identity")
    if identity is not None:
        env["JWKS_URL"] = f"{identity.url}/.well-known/jwks.json"
    env.setdefault("ENVIRONMENT", "development")
    env["PLATFORM_CONFIG"] = str(config.path)
    env["PYTHONUNBUFFERED"] = "1"
    return with_bytecode_cache(env, bytecode_dir(config))


def bytecode_dir(config: PlatformConfig) -> Path:
    """Where the children's compiled bytecode goes when the environment forbids ``__pycache__``
    beside the sources: ``pycache/`` in the virtualenv (the bytecode is that interpreter's, and
    every platform and test run shares it), else under the repository's ``.run/``."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / "pycache"
    return config.root / ".run" / "pycache"


def with_bytecode_cache(env: Mapping[str, str], cache: Path) -> dict[str, str]:
    """``env`` for a Python child that keeps its bytecode. With ``PYTHONDONTWRITEBYTECODE`` set
    (and the venv installed without ``.pyc``, as ``uv sync`` does by default), every process
    compiles every module it imports on every start: 60 % of a service's start-up CPU (6.3 s
    against 2.7 s for identity). The children write it under ``cache`` instead
    (``PYTHONPYCACHEPREFIX``), never beside the sources. A prefix the user chose is kept."""
    out = dict(env)
    if out.get("PYTHONDONTWRITEBYTECODE") and not out.get("PYTHONPYCACHEPREFIX"):
        del out["PYTHONDONTWRITEBYTECODE"]
        out["PYTHONPYCACHEPREFIX"] = str(cache)
    return out


def keep_bytecode(cache: Path) -> None:
    """The same for this process (the runner imports alembic and psycopg for its checks)."""
    if sys.dont_write_bytecode and not sys.pycache_prefix:
        sys.dont_write_bytecode = False
        sys.pycache_prefix = str(cache)


async def http_get_status(port: int, path: str, within: float = 2.0) -> int | None:
    """Status code of ``GET http://127.0.0.1:<port><path>``, or None if nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), within)
    except (OSError, TimeoutError):
        return None
    try:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: vc-devrun\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), within)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status_line.decode("latin-1").split()
    if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


async def wait_ready(
    entry: Entry,
    proc: ManagedProcess,
    deadline: float,
    output: Output,
    *,
    partial: bool = False,
) -> str | None:
    """Poll the entry's readiness path until 200. A 404 moves on to the next usual health path;
    if it has none at all, answering HTTP is taken as up (with a warning). Returns the path."""
    defaults = _GATEWAY_PROBES if entry.is_gateway else _SERVICE_PROBES
    paths = [entry.ready_path, *(p for p in defaults if p != entry.ready_path)]
    index = 0
    last: int | None = None
    while True:
        if not proc.running:
            raise StartupError(
                f"{entry.label} exited with code {proc.returncode} before it was ready; "
                f"its last lines:\n{proc.tail()}"
            )
        last = await http_get_status(entry.port, paths[index])
        if last == 200:
            if index > 0:
                output.info(f"note: {entry.label} has no {paths[0]}; {paths[index]} answered 200")
            return paths[index]
        if last == 503 and partial and entry.is_gateway:
            output.info(
                f"note: {entry.label} answers 503 on {paths[index]}: expected with --only, "
                "as the services not started count as down"
            )
            return paths[index]
        if last == 404:
            if index + 1 < len(paths):
                index += 1
                continue
            output.info(
                f"warning: {entry.label} answers HTTP but has none of "
                f"{', '.join(paths)}; taking it as up"
            )
            return None
        if time.monotonic() > deadline:
            what = "no answer" if last is None else f"last status {last}"
            raise StartupError(
                f"{entry.label} not ready on {entry.url}{paths[index]} in time ({what}); "
                f"its last lines:\n{proc.tail()}"
            )
        await asyncio.sleep(0.3)


def run_dir_for(config: PlatformConfig, env: Mapping[str, str]) -> Path:
    """Where the embedded servers keep their data: ``VC_RUN_DIR``, else ``.run/`` in the repo, or
    ``.run/platform-<gateway port>/`` for a platform moved by ``PORT_BASE`` / ``GATEWAY_PORT``, so
    that one setting (``PORT_BASE=9100 make run``) runs a second platform beside the first. The
    end-to-end tests point ``VC_RUN_DIR`` at a fresh temporary folder."""
    if env.get("VC_RUN_DIR"):
        return Path(env["VC_RUN_DIR"])
    moved = env.get("PORT_BASE") or env.get("GATEWAY_PORT")
    if moved:
        port = config.gateway.port if config.gateway is not None else moved
        return config.root / ".run" / f"platform-{port}"
    return config.root / ".run"


#: a crashed service waits FIRST_BACKOFF, doubled by each crash within CRASH_WINDOW seconds, at
#: most MAX_BACKOFF; more than MAX_CRASHES within the window stop the platform
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
CRASH_WINDOW = 300.0
MAX_CRASHES = 10


@dataclass
class Platform:
    config: PlatformConfig
    output: Output
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    only: Sequence[str] = ()
    gateway: bool = True
    timeout: float = READY_TIMEOUT
    infra: Infra | None = None
    children: list[ManagedProcess] = field(default_factory=list)
    failure: str | None = None
    _task: asyncio.Task[Any] | None = None
    _stopping: bool = False
    #: once everything is up, a service, the gateway or an embedded server (PostgreSQL, NATS)
    #: that dies is restarted (with backoff) instead of stopping the platform
    _supervising: bool = False
    _crashes: dict[str, list[float]] = field(default_factory=dict)
    _restarts: set[asyncio.Task[None]] = field(default_factory=set)
    #: the process the services are forked from (see vc_devrun.forkserver), None when off
    forker: Forker | None = None
    forkserver: ManagedProcess | None = None

    @property
    def services(self) -> list[Entry]:
        unknown = [n for n in self.only if self.config.service(n) is None]
        if unknown:
            raise ConfigError(f"unknown service(s): {', '.join(unknown)}")
        return [s for s in self.config.services if not self.only or s.name in self.only]

    def __post_init__(self) -> None:
        # Fix the width of the name column up front so the output stays aligned.
        names = [
            s.name if s.replicas == 1 else s.instance(s.replicas - 1, s.port).label
            for s in self.config.services
        ]
        for name in ["devrun", "postgres", "nats", "smtp", "forkserver", "gateway", *names]:
            self.output.register(name)

    def _child_died(self, proc: ManagedProcess, code: int) -> None:
        if self.failure is None:
            self.failure = f"{proc.name} exited unexpectedly with code {code}"
            self.output.error(f"{self.failure}; its last lines:\n{proc.tail()}")
            self.output.error("shutting the platform down")
        if not self._stopping and self._task is not None and not self._task.done():
            self._task.cancel()

    def _watch(self, proc: ManagedProcess) -> ManagedProcess:
        proc.on_exit = self._child_died
        return proc

    def _supervise(self, proc: ManagedProcess) -> ManagedProcess:
        proc.on_exit = self._service_died
        return proc

    def _service_died(self, proc: ManagedProcess, code: int) -> None:
        """Before the platform is up a death is fatal (a broken service should say so at once);
        after, the process is started again, waiting longer after each recent crash (0.5 s,
        1 s, 2 s ... 30 s), as a supervisor would. Too many crashes in a row stop everything."""
        if self._stopping:
            return
        if not self._supervising:
            self._child_died(proc, code)
            return
        delay = self._crash_delay(proc, code)
        if delay is not None:
            self._schedule_restart(self._restart(proc, delay))

    def _crash_delay(self, proc: ManagedProcess, code: int) -> float | None:
        """How long to wait before starting ``proc`` again after this crash (the backoff), or
        None when it crashed too often and the platform is being stopped."""
        now = time.monotonic()
        recent = [t for t in self._crashes.get(proc.name, []) if now - t < CRASH_WINDOW]
        recent.append(now)
        self._crashes[proc.name] = recent
        if len(recent) > MAX_CRASHES:
            self.output.error(f"{proc.name} crashed {len(recent)} times in {CRASH_WINDOW:g}s")
            self._child_died(proc, code)
            return None
        delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** (len(recent) - 1))
        self.output.error(
            f"{proc.name} exited unexpectedly with code {code}; restarting it in {delay:g}s."
            f" Its last lines:\n{proc.tail()}"
        )
        return delay

    def _schedule_restart(self, restart: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(restart)
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    def _supervise_infra(self, proc: ManagedProcess) -> ManagedProcess:
        proc.on_exit = self._infra_died
        return proc

    def _infra_died(self, proc: ManagedProcess, code: int) -> None:
        """An embedded server (PostgreSQL, NATS) that dies once the platform is up is started
        again as it was (same port, same data: PostgreSQL runs its crash recovery, JetStream
        reloads its streams), with the services' backoff; the services reconnect by themselves.
        Before the platform is up, a death is fatal."""
        if self._stopping:
            return
        if not self._supervising or self.infra is None:
            self._child_died(proc, code)
            return
        delay = self._crash_delay(proc, code)
        if delay is not None:
            self._schedule_restart(self._restart_infra(proc, delay))

    async def _restart_infra(self, proc: ManagedProcess, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stopping or self.infra is None:
            return
        try:
            ready = await self.infra.restart(proc)
        except (OSError, InfraError) as exc:
            self.output.error(f"cannot restart {proc.name}: {exc}")
            self._child_died(proc, -1)
            return
        if ready:
            self.output.info(f"restarted {proc.name} (pid {proc.pid})")
        elif proc.running:  # up but never ready: give up on the platform
            await proc.stop()
            self._child_died(proc, -1)
        # else it died again while starting: its exit has scheduled the next try (backoff)

    async def _restart(self, proc: ManagedProcess, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stopping:
            return
        try:
            await proc.start()
        except OSError as exc:
            self.output.error(f"cannot restart {proc.name}: {exc}")
            self._child_died(proc, -1)
            return
        self.output.info(f"restarted {proc.name} (pid {proc.pid})")

    def kill_now(self) -> None:
        for proc in [
            *self.children,
            *self._forkserver,
            *(self.infra.processes if self.infra else []),
        ]:
            proc.kill_now()

    @property
    def _forkserver(self) -> list[ManagedProcess]:
        return [self.forkserver] if self.forkserver is not None else []

    async def start_forkserver(self) -> None:
        """``python -m vc_devrun.forkserver``, importing the common libraries while the infra
        starts; off with ``VC_DEVRUN_FORK=0``, or where this process cannot be the subreaper
        its services need (not Linux)."""
        if self.env.get("VC_DEVRUN_FORK", "1") == "0" or not become_subreaper():
            return
        forker = Forker()
        fd = forker.server_end()
        env = with_bytecode_cache({**self.env, "PYTHONUNBUFFERED": "1"}, bytecode_dir(self.config))
        # the last argument is room for each service's command line (``ps`` shows theirs)
        argv = [sys.executable, "-m", "vc_devrun.forkserver", str(fd), " " * TITLE_ROOM]
        proc = ManagedProcess(
            "forkserver", argv, output=self.output, env=env, cwd=self.config.root, pass_fds=[fd]
        )
        proc.on_exit = lambda _proc, _code: forker.close()  # the services start as before
        try:
            await proc.start()
        finally:
            forker.started()
        self.forker, self.forkserver = forker, proc

    def _with_unstarted(self, instances: Sequence[Entry]) -> list[Entry]:
        """The started instances, plus the services ``--only`` left out (their configured URL)."""
        started = {e.name for e in instances}
        return [*instances, *(s for s in self.config.services if s.name not in started)]

    async def start_infra(
        self,
        *,
        event_bus: bool = True,
        smtp: bool = True,
        fanout: bool = False,
        attach: bool = False,
    ) -> dict[str, str]:
        run_dir = run_dir_for(self.config, self.env)
        self.infra = Infra(run_dir, self.output, self.env)
        # the provider sandbox comes with the SMTP sink (for running services, not migrations),
        # when there is an integrations service to use it
        sandbox = smtp and any(s.name == "integrations" for s in self.services)
        exports = await self.infra.start(
            event_bus=event_bus, smtp=smtp, fanout=fanout, sandbox=sandbox, attach=attach
        )
        for proc in self.infra.processes:
            self._supervise_infra(proc)
        return exports

    async def prepare_databases(self, env: Mapping[str, str], migrate: bool = True) -> None:
        services = self.services
        await ensure_databases(services, env["DATABASE_URL"], env, self.output)
        if migrate:
            await run_migrations(self.config, env, self.output, only=[s.name for s in services])

    async def size_pools(self, env: dict[str, str], processes: Sequence[Entry]) -> None:
        """Share what each server has left among the processes with a database on it
        (DB_POOL_SIZE, unless it is set: the smallest share of any server): see
        :func:`vc_devrun.database.pool_size_for`."""
        base = env.get("DATABASE_URL")
        if "DB_POOL_SIZE" in env or not base:
            return
        sizes: list[tuple[int, int]] = []
        for server, sharing in servers_of(processes, base, env).items():
            limit, taken = await server_connection_limit(server)
            size = pool_size_for(limit, taken, sharing)
            overflow = overflow_for(limit, taken, sharing, size)
            sizes.append((size, overflow))
            self.output.info(
                f"PostgreSQL at {redact(server)} takes {limit} connections, {taken} of them"
                f" reserved or in use: a pool of {size} (+{overflow} in a burst) for each of the"
                f" {sharing} processes on it"
            )
        if sizes:
            size, overflow = min(sizes)
            env["DB_POOL_SIZE"] = str(size)
            env.setdefault("DB_MAX_OVERFLOW", str(overflow))
            self.output.info(
                f"DB_POOL_SIZE={size} DB_MAX_OVERFLOW={env['DB_MAX_OVERFLOW']} (set them to"
                " override)"
            )

    def _check_ports(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if entry.replica == 0 and not port_is_free(entry.port):
                key = "GATEWAY_PORT" if entry.is_gateway else f"{env_key(entry.name)}_PORT"
                raise StartupError(
                    f"port {entry.port} for {entry.label} is already in use (another `make run`?):"
                    " move the whole platform with PORT_BASE (PORT_BASE=9000: the gateway on"
                    f" 9000, every service beside it), or this one port with {key}"
                )

    def instances(self, services: Sequence[Entry]) -> list[Entry]:
        """One entry per process to start: a service with ``replicas = N`` gives N, the first on
        its configured port, the others on free ports (never one another's nor a configured one)."""
        taken = {s.port for s in self.config.services}
        if self.config.gateway is not None:
            taken.add(self.config.gateway.port)
        out: list[Entry] = []
        for service in services:
            out.append(service.instance(0, service.port))
            for k in range(1, service.replicas):
                port = free_port(avoid=taken | PLANNED_PORTS)
                taken.add(port)
                out.append(service.instance(k, port))
        PLANNED_PORTS.update(taken)  # the embedded servers keep off them
        return out

    async def _launch(self, entry: Entry, env: Mapping[str, str]) -> ManagedProcess:
        argv = entry.argv(sys.executable)
        child_env = {**env, "SERVICE_NAME": entry.name}
        proc = self._supervise(
            ManagedProcess(
                entry.label,
                argv,
                output=self.output,
                env=child_env,
                cwd=self.config.root,
                forker=self.forker,
            )
        )
        self.children.append(proc)
        self.output.info(f"starting {entry.label}: {shlex.join(argv)}")
        await proc.start()
        return proc

    async def run(self) -> int:
        """Start everything, wait for Ctrl-C / SIGTERM or a death, stop everything."""
        return await self._lifecycle(self._run_all)

    async def run_infra(self, migrate: bool = True) -> int:
        """Only the infra (plus databases and migrations), then print the env to export."""
        return await self._lifecycle(lambda: self._run_infra(migrate))

    async def run_migrate(self) -> int:
        """Databases and migrations only (an embedded PostgreSQL just for the time it takes)."""
        return await self._lifecycle(self._run_migrate)

    async def _run_all(self) -> int:
        started = time.monotonic()
        services = self.instances(self.services)
        gateway = self.config.gateway if self.gateway else None
        self._check_ports([*services, *([gateway] if gateway else [])])
        # the web client builds (or comes from its cache) and the fork server imports the
        # services' libraries while the infra starts
        web = asyncio.create_task(asyncio.to_thread(build_web, self.config.root, self.env))
        await self.start_forkserver()
        exports = await self.start_infra(fanout=any(s.replicas > 1 for s in services))
        env = build_env(self.config, self.env, exports, self._with_unstarted(services))
        await self.prepare_databases(env)
        await self.size_pools(env, services)
        deadline = time.monotonic() + self.timeout
        procs = [await self._launch(s, env) for s in services]
        state, message = await web
        if state in ("no-node", "failed"):
            self.output.error(f"web client: {message}")
        elif state != "skipped" and gateway is not None:
            self.output.info(f"web client: {message}; open {gateway.url}/ in a browser")
        # The gateway starts with the services (its imports overlap theirs: 6 s of a 35 s warm
        # start when it waited for them); its /health answers 200 once every service is ready,
        # and it is polled only after they are.
        gateway_proc = await self._launch(gateway, env) if gateway is not None else None
        await asyncio.gather(
            *(wait_ready(s, p, deadline, self.output) for s, p in zip(services, procs, strict=True))
        )
        if gateway is not None and gateway_proc is not None:
            await wait_ready(
                gateway,
                gateway_proc,
                time.monotonic() + self.timeout,
                self.output,
                partial=bool(self.only),
            )
        self.output.raw(self.summary(exports, gateway, services, time.monotonic() - started))
        self._supervising = True
        await asyncio.Event().wait()  # until cancelled by a signal or a fatal death
        return 0

    async def _run_infra(self, migrate: bool) -> int:
        exports = await self.start_infra()
        env = build_env(self.config, self.env, exports)
        await self.prepare_databases(env, migrate=migrate)
        keys = [
            *exports,
            *(f"{s.env_prefix}_URL" for s in self.config.services),
            *(k for k in ("GATEWAY_URL", "JWKS_URL", "ENVIRONMENT") if k in env),
        ]
        lines = ["", "# infra is up; in another shell:"]
        lines += [f"export {k}={shlex.quote(env[k])}" for k in keys]
        lines += ["# Ctrl-C here stops it", ""]
        self.output.raw("\n".join(lines))
        await asyncio.Event().wait()
        return 0

    async def _run_migrate(self) -> int:
        # beside a running `make run`: migrate its databases, never stop its PostgreSQL
        exports = await self.start_infra(event_bus=False, smtp=False, attach=True)
        env = build_env(self.config, self.env, exports)
        await self.prepare_databases(env)
        self.output.info("migrations applied")
        return 0

    async def _lifecycle(self, body: Callable[[], Coroutine[Any, Any, int]]) -> int:
        """Run ``body`` until it ends, a signal cancels it or a child dies; always clean up."""
        self._task = asyncio.current_task()
        try:
            return await body()
        except asyncio.CancelledError:
            if self.failure is None:
                self.output.info("stopping")
                return 0
            return 1
        except (StartupError, InfraError, MigrationError, ConfigError) as exc:
            self.output.error(str(exc))
            return 1
        except Exception as exc:
            self.output.error(f"unexpected error: {exc!r}")
            raise
        finally:
            self._stopping = True
            for task in list(self._restarts):
                task.cancel()
            stop = asyncio.ensure_future(self.shutdown())
            while not stop.done():  # a late cancel must not cut the clean-up short
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(stop)

    async def shutdown(self) -> None:
        """Gateway first, then the services, then the infra; never raises."""
        for proc in [
            *self.children,
            *self._forkserver,
            *(self.infra.processes if self.infra else []),
        ]:
            proc.stopping = True
        gateway = [p for p in self.children if self.config.gateway and p.name == "gateway"]
        others = [p for p in self.children if p not in gateway]
        for group in (gateway, others, self._forkserver):
            results = await asyncio.gather(*(p.stop() for p in group), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    self.output.error(f"error while stopping: {result!r}")
        if self.infra is not None:
            await self.infra.stop()
        self.output.info("stopped")

    def summary(
        self,
        exports: Mapping[str, str],
        gateway: Entry | None,
        services: Sequence[Entry],
        elapsed: float,
    ) -> str:
        rows: list[tuple[str, str, str]] = []
        if gateway is not None:
            rows.append(("gateway", gateway.url, f"docs {gateway.url}/docs"))
        for service in services:
            rows.append((service.label, service.url, f"docs {service.url}/docs"))
        infra = self.infra
        embedded = infra is not None and infra.postgres is not None
        rows.append(
            (
                "postgresql",
                redact(exports["DATABASE_URL"]),
                "embedded, data .run/pg" if embedded else "from DATABASE_URL",
            )
        )
        embedded = infra is not None and infra.nats is not None and "NATS_URL" in exports
        fanout_only = embedded and exports.get("EVENT_BUS_URL") != exports.get("NATS_URL")
        rows.append(
            (
                "event bus",
                exports.get("EVENT_BUS_URL", ""),
                "embedded NATS JetStream, data .run/nats"
                if embedded and not fanout_only
                else "from EVENT_BUS_URL",
            )
        )
        if fanout_only:
            rows.append(("fan-out", exports["NATS_URL"], "embedded NATS for the replicas"))
        if "SMTP_HOST" in exports:
            embedded = infra is not None and infra.smtp is not None
            rows.append(
                (
                    "smtp",
                    f"smtp://{exports['SMTP_HOST']}:{exports['SMTP_PORT']}",
                    "sink: mails print here, copies in .run/mail" if embedded else "from SMTP_HOST",
                )
            )
        width = max(len(r[0]) for r in rows)
        url_width = max(len(r[1]) for r in rows)
        lines = ["", f"VirtualCoworking is up ({elapsed:.1f}s) — Ctrl-C stops everything", ""]
        lines += [f"  {n.ljust(width)}  {u.ljust(url_width)}  {note}" for n, u, note in rows]
        return "\n".join([*lines, ""])


#: a second signal this soon after the first is the same Ctrl-C arriving twice: the terminal
#: sends SIGINT to the whole foreground group (make, uv, the runner) and ``uv run`` forwards its
#: own copy to the runner, so under ``make run`` one Ctrl-C came as two, and the second one
#: SIGKILLed PostgreSQL (crash recovery on the next start: 15 s of a warm start's 87 s)
DUPLICATE_SIGNAL = 1.0


def install_signal_handlers(
    task: asyncio.Task[Any], on_second: Callable[[], None]
) -> Callable[[], None]:
    """First SIGINT/SIGTERM cancels ``task`` (a clean stop); a second one kills at once, unless
    it comes within :data:`DUPLICATE_SIGNAL` seconds of the first (then it is the same one)."""
    loop = asyncio.get_running_loop()
    first: float | None = None

    def handler() -> None:
        nonlocal first
        now = time.monotonic()
        if first is None:
            first = now
            task.cancel()
        elif now - first >= DUPLICATE_SIGNAL:
            on_second()

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, handler)

    def remove() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)

    return remove


async def supervise(
    make: Callable[[], Coroutine[Any, Any, int]], on_second: Callable[[], None]
) -> int:
    """Run ``make()`` as a task that a signal cancels (its own finally blocks clean up)."""
    task = asyncio.create_task(make())
    remove = install_signal_handlers(task, on_second)
    try:
        return await task
    except asyncio.CancelledError:
        return 0
    finally:
        remove()
