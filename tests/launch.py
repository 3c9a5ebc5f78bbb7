"""The platform's real processes for a suite, started as `make run` starts them: ``python -m
vc_devrun run`` with every port free, its own run folder (``VC_RUN_DIR``) and :data:`PLATFORM_ENV`.
Used by the end-to-end suites (tests/e2e/conftest.py), the chaos run and the soak.

Also: :func:`new_user` (registered and signed in through the gateway) and :func:`processes` (the
pids of the platform's processes by name, read from /proc, for the suites that kill or sample
them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from vc_common.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
# settings the suites need, given to the platform before it starts
PLATFORM_ENV = {
    "GATEWAY_RATE_PER_USER": "off",
    "GATEWAY_RATE_PER_IP": "off",
    "NOTIFICATIONS_EMAIL_BATCH_SECONDS": "1",  # a one-second mail batch, not two minutes
    # every test signs up its users from this one address: more than 20 an hour
    "REGISTER_RATE_PER_IP": "10000/hour",
    # and signs them in from it, the fuzzer with wrong passwords too: the limits and the
    # failed-login backoff are identity's own tests' business, not a shared suite's
    "LOGIN_RATE_PER_IP": "10000/minute",
    "LOGIN_RATE_PER_ACCOUNT": "10000/minute",
    "LOGIN_FREE_FAILURES_PER_ADDRESS": "1000000",
    "LOGIN_FREE_FAILURES_PER_PAIR": "1000000",
}
PASSWORD = "correct horse battery staple"
# the platforms of this pytest session (tests/conftest.py's `platform`), by the gateway's URL
RUNNING: dict[str, RunningPlatform] = {}
RUN_DIRS: dict[str, Path] = {}  # the platform's base URL -> its run folder (mails, data)
# the platform's base URL -> each service's own port, and the gateway's metrics port ("gateway")
PORTS: dict[str, dict[str, int]] = {}


class PlatformError(Exception):
    """The platform exited or did not become healthy; the message ends with its log."""


@dataclass
class RunningPlatform:
    base: str  # the gateway's base URL
    run_dir: Path
    ports: dict[str, int]  # each service's own port, and "gateway" (its metrics port)
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _env(bus: str, extra: Mapping[str, str]) -> tuple[dict[str, str], int, dict[str, int], str]:
    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "EVENT_BUS_URL", "NATS_URL", "REDIS_URL", "ENVIRONMENT"}
        and not k.endswith("_DATABASE_URL")
    }
    if bus == "amqp":
        env["EVENT_BUS_URL"] = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    taken: set[int] = set()  # free_port() holds nothing: two calls can name the same port

    def port() -> int:
        found = free_port(avoid=taken)
        taken.add(found)
        return found

    gateway_port = port()
    # not under pytest's base temp dir: every pytest that starts re-chmods that to 0700, which
    # locks out the `pgserver` user the embedded PostgreSQL runs as under root
    run_dir = tempfile.mkdtemp(prefix="vc-e2e-")
    env.update(
        {
            "VC_RUN_DIR": run_dir,
            "GATEWAY_PORT": str(gateway_port),
            "PYTHONUNBUFFERED": "1",
            **PLATFORM_ENV,
            **extra,
        }
    )
    ports = {"gateway": port()}
    env["GATEWAY_METRICS_PORT"] = str(ports["gateway"])
    for name in cfg["services"]:
        ports[name] = port()
        env[f"{name.upper()}_PORT"] = str(ports[name])
    return env, gateway_port, ports, run_dir


@contextmanager
def running_platform(
    bus: str = "nats",
    *,
    extra_env: Mapping[str, str] | None = None,
    within: float = 240.0,
    clean_stop: bool = True,
    keep_log: Path | None = None,
) -> Iterator[RunningPlatform]:
    """The platform as `make run` starts it, on embedded NATS JetStream (``bus="nats"``) or on
    the machine's RabbitMQ (``"amqp"``, ``RABBITMQ_URL``), healthy within ``within`` seconds;
    stopped with Ctrl-C's SIGINT at the end. ``clean_stop``: also assert that the embedded
    PostgreSQL was never shut down abnormally (a suite that kills it on purpose says False; the
    last stop must be clean all the same). ``keep_log``: where to copy the platform's log
    (its run folder is deleted at the end)."""
    env, gateway_port, ports, run_dir = _env(bus, extra_env or {})
    log_path = Path(run_dir, "platform.log")
    log = log_path.open("w+")
    proc = subprocess.Popen(
        # each readiness check may take long on a loaded 2-core machine (60 s by default)
        [sys.executable, "-m", "vc_devrun", "run", "--no-color", "--timeout", "200"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{gateway_port}"
    deadline = time.monotonic() + within
    try:
        while True:
            if proc.poll() is not None:
                raise PlatformError(
                    f"the platform exited with {proc.returncode}:\n{log_path.read_text()[-6000:]}"
                )
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise PlatformError(
                    f"the platform did not become healthy:\n{log_path.read_text()[-6000:]}"
                )
            time.sleep(0.5)
        yield RunningPlatform(base, Path(run_dir), ports, proc, log_path)
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C on `make run` does
        try:
            proc.wait(timeout=150)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        text = log_path.read_text(errors="replace")
        if keep_log is not None:
            keep_log.parent.mkdir(parents=True, exist_ok=True)
            keep_log.write_text(text)
        shutil.rmtree(run_dir, ignore_errors=True)
    # one Ctrl-C stops the embedded PostgreSQL cleanly: no crash recovery at the next start
    assert "database system is shut down" in text, text[-3000:]
    if clean_stop:
        assert "PANIC" not in text
        assert "abnormal database system shutdown" not in text


async def new_user(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """A user registered and signed in through the gateway: ``id``, ``username``, ``headers``,
    ``token``, ``refresh_token``, ``password``."""
    username = f"{name}{uuid.uuid4().hex[:6]}"
    r = await api.post(
        "/api/v1/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    user = r.json()
    r = await api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "bearer"
    return {
        "id": user["id"],
        "username": username,
        "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
        "token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "password": PASSWORD,
    }


# --- the platform's processes, from /proc ---------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _service_name(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in raw.split(b"\0"):
        if item.startswith(b"SERVICE_NAME="):
            return item.split(b"=", 1)[1].decode()
    return None


_APPS: dict[str, str] = {}


def _name_in(argv: list[str]) -> str | None:
    """The service (or "gateway") a command line runs, by its app in platform.toml: a service
    forked by devrun's fork server shows its own command line, but the fork server's
    environment (no ``SERVICE_NAME``) in /proc."""
    if not _APPS:
        cfg = tomllib.loads((ROOT / "platform.toml").read_text())
        _APPS[str(cfg["gateway"]["app"])] = "gateway"
        _APPS.update({str(s["app"]): name for name, s in cfg.get("services", {}).items()})
    words = " ".join(argv).split()  # a title set as one string, as setproctitle(3) may
    for word in words:
        if word in _APPS:
            return _APPS[word]
    if words[1:3] == ["-m", "gateway"]:
        return "gateway"
    return None


def processes(platform: RunningPlatform) -> dict[str, list[int]]:
    """The platform's long-running processes now: ``{"tasks": [pid], "chat": [pid, pid], ...,
    "gateway": [...], "postgres": [postmaster], "nats": [...]}`` (replicas of a service share
    its name; PostgreSQL's backends are left out: its postmaster stands for it)."""
    out: dict[str, list[int]] = {}
    for pid in descendants(platform.proc.pid):
        argv = _cmdline(pid)
        if not argv:
            continue
        exe = Path(argv[0]).name
        if exe == "postgres":
            if "-D" in argv:  # the postmaster; its backends are started without arguments
                out.setdefault("postgres", []).append(pid)
            continue
        if exe == "nats-server":
            out.setdefault("nats", []).append(pid)
            continue
        # what devrun starts a service or the gateway with, or (forked) its command line
        name = _service_name(pid) or _name_in(argv)
        if name is not None:
            out.setdefault(name, []).append(pid)
    return out
