"""The platform on one machine: infra, databases, migrations, services, then the gateway."""

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

from vc_devrun.config import HOST, ConfigError, Entry, PlatformConfig, env_key, redact
from vc_devrun.database import MigrationError, ensure_databases, run_migrations
from vc_devrun.infra import Infra, InfraError, free_port, port_is_free
from vc_devrun.procs import ManagedProcess, Output

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
    identity = config.service("identity")
    if identity is not None:
        env["JWKS_URL"] = f"{identity.url}/.well-known/jwks.json"
    env.setdefault("ENVIRONMENT", "development")
    env["PLATFORM_CONFIG"] = str(config.path)
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
        for name in ["devrun", "postgres", "nats", "smtp", "gateway", *names]:
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

    def kill_now(self) -> None:
        for proc in [*self.children, *(self.infra.processes if self.infra else [])]:
            proc.kill_now()

    def _with_unstarted(self, instances: Sequence[Entry]) -> list[Entry]:
        """The started instances, plus the services ``--only`` left out (their configured URL)."""
        started = {e.name for e in instances}
        return [*instances, *(s for s in self.config.services if s.name not in started)]

    async def start_infra(
        self, *, event_bus: bool = True, smtp: bool = True, fanout: bool = False
    ) -> dict[str, str]:
        # VC_RUN_DIR: where the embedded servers keep their data (default .run/ in the repo);
        # the end-to-end tests point it at a fresh temporary folder
        run_dir = Path(self.env.get("VC_RUN_DIR") or self.config.root / ".run")
        self.infra = Infra(run_dir, self.output, self.env)
        exports = await self.infra.start(event_bus=event_bus, smtp=smtp, fanout=fanout)
        for proc in self.infra.processes:
            self._watch(proc)
        return exports

    async def prepare_databases(self, env: Mapping[str, str], migrate: bool = True) -> None:
        services = self.services
        await ensure_databases(services, env["DATABASE_URL"], env, self.output)
        if migrate:
            await run_migrations(self.config, env, self.output, only=[s.name for s in services])

    def _check_ports(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if entry.replica == 0 and not port_is_free(entry.port):
                key = "GATEWAY_PORT" if entry.is_gateway else f"{env_key(entry.name)}_PORT"
                raise StartupError(
                    f"port {entry.port} for {entry.label} is already in use (another `make run`?);"
                    f" set {key} to use another one"
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
                port = free_port()
                while port in taken:
                    port = free_port()
                taken.add(port)
                out.append(service.instance(k, port))
        return out

    async def _launch(self, entry: Entry, env: Mapping[str, str]) -> ManagedProcess:
        argv = entry.argv(sys.executable)
        child_env = {**env, "SERVICE_NAME": entry.name}
        proc = self._watch(
            ManagedProcess(
                entry.label, argv, output=self.output, env=child_env, cwd=self.config.root
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
        exports = await self.start_infra(fanout=any(s.replicas > 1 for s in services))
        env = build_env(self.config, self.env, exports, self._with_unstarted(services))
        await self.prepare_databases(env)
        deadline = time.monotonic() + self.timeout
        procs = [await self._launch(s, env) for s in services]
        await asyncio.gather(
            *(wait_ready(s, p, deadline, self.output) for s, p in zip(services, procs, strict=True))
        )
        if gateway is not None:
            proc = await self._launch(gateway, env)
            await wait_ready(
                gateway,
                proc,
                time.monotonic() + self.timeout,
                self.output,
                partial=bool(self.only),
            )
        self.output.raw(self.summary(exports, gateway, services, time.monotonic() - started))
        await asyncio.Event().wait()  # until cancelled by a signal or a death
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
        exports = await self.start_infra(event_bus=False, smtp=False)
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
            stop = asyncio.ensure_future(self.shutdown())
            while not stop.done():  # a late cancel must not cut the clean-up short
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(stop)

    async def shutdown(self) -> None:
        """Gateway first, then the services, then the infra; never raises."""
        for proc in [*self.children, *(self.infra.processes if self.infra else [])]:
            proc.stopping = True
        gateway = [p for p in self.children if self.config.gateway and p.name == "gateway"]
        others = [p for p in self.children if p not in gateway]
        for group in (gateway, others):
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


def install_signal_handlers(
    task: asyncio.Task[Any], on_second: Callable[[], None]
) -> Callable[[], None]:
    """First SIGINT/SIGTERM cancels ``task`` (a clean stop); a second one kills at once."""
    loop = asyncio.get_running_loop()
    count = 0

    def handler() -> None:
        nonlocal count
        count += 1
        if count == 1:
            task.cancel()
        else:
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
