"""The runner end to end with throwaway app factories: readiness, env, Ctrl-C, a death."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from vc_devrun.infra import free_port

HERE = Path(__file__).resolve().parent


def platform_toml(tmp_path: Path, ports: dict[str, int]) -> Path:
    text = f"""
[gateway]
app = "fakeapp:create_aiohttp_app"
port = {ports["gateway"]}

[services.identity]
app = "fakeapp:create_app"
port = {ports["identity"]}

[services.chat]
app = "fakeapp:create_app"
port = {ports["chat"]}
"""
    path = tmp_path / "platform.toml"
    path.write_text(text)
    return path


class Runner:
    """``python -m vc_devrun`` in a subprocess, its output collected by a thread."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vc_devrun", "--config", str(config), "--no-color"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=config.parent,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                return
        self.proc.kill()
        pytest.fail(f"{text!r} never printed:\n{''.join(self.seen)}")

    def finish(self, limit: float = 20) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        while (line := self.lines.get(timeout=5)) is not None:
            self.seen.append(line)
        return code, "".join(self.seen)


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in ("gateway", "identity", "chat")}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_PORT", "_URL", "_DATABASE_URL"))
        and not k.startswith("FAKE_")
        and k not in {"ENVIRONMENT", "SMTP_HOST", "SMTP_PORT", "SERVICE_NAME"}
    }
    env |= {
        "PYTHONPATH": str(HERE),
        # No service here has a database; the bus is only passed along.
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres",
        "EVENT_BUS_URL": "nats://127.0.0.1:1",
        "HOME": str(tmp_path),
    }
    return env


def get_json(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


@pytest.mark.slow
def test_starts_everything_then_stops_on_sigterm(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    runner = Runner(platform_toml(tmp_path, ports), env | {"FAKE_NO_READYZ": "1"})
    try:
        runner.wait_for("is up")
        children = psutil.Process(runner.proc.pid).children(recursive=True)

        seen = get_json(f"http://127.0.0.1:{ports['chat']}/env")
        gateway = get_json(f"http://127.0.0.1:{ports['gateway']}/env")
    finally:
        runner.proc.send_signal(signal.SIGTERM)
        code, output = runner.finish()

    assert code == 0, output
    assert seen["name"] == "chat"
    assert seen["SERVICE_NAME"] == "chat"
    assert seen["IDENTITY_URL"] == f"http://127.0.0.1:{ports['identity']}"
    assert seen["CHAT_URL"] == f"http://127.0.0.1:{ports['chat']}"
    assert seen["JWKS_URL"] == f"http://127.0.0.1:{ports['identity']}/.well-known/jwks.json"
    assert seen["ENVIRONMENT"] == "development"
    assert seen["SMTP_HOST"] == "127.0.0.1"
    assert int(seen["SMTP_PORT"]) not in (25, 587)
    assert gateway["SERVICE_NAME"] == "gateway"
    assert f"http://127.0.0.1:{ports['gateway']}/docs" in output
    assert "chat has no /readyz" in output  # reported, and /health is used instead
    assert len(children) >= 3
    _, alive = psutil.wait_procs(children, timeout=3)
    assert alive == []


@pytest.mark.slow
def test_a_dying_service_stops_the_platform_with_an_error(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    runner = Runner(platform_toml(tmp_path, ports), env)
    runner.wait_for("is up")
    children = psutil.Process(runner.proc.pid).children(recursive=True)
    os.kill(next(c.pid for c in children if str(ports["chat"]) in c.cmdline()), signal.SIGKILL)

    code, output = runner.finish()

    assert code == 1, output
    assert "chat exited unexpectedly" in output
    _, alive = psutil.wait_procs(children, timeout=3)
    assert alive == []


@pytest.mark.slow
def test_replicas_start_each_wait_for_each_and_stop_all(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    config = platform_toml(tmp_path, ports)
    config.write_text(
        config.read_text().replace(
            f"port = {ports['chat']}\n", f"port = {ports['chat']}\nreplicas = 2\n"
        )
    )
    runner = Runner(config, env)
    try:
        runner.wait_for("is up")
        children = psutil.Process(runner.proc.pid).children(recursive=True)
        identity = get_json(f"http://127.0.0.1:{ports['identity']}/env")
        urls = identity["CHAT_URL"].split(",")
        replicas = [get_json(f"{url}/env") for url in urls]
    finally:
        runner.proc.send_signal(signal.SIGTERM)
        code, output = runner.finish()

    assert code == 0, output
    assert len(urls) == 2
    assert urls[0] == f"http://127.0.0.1:{ports['chat']}"  # the configured port first
    assert urls[1] != urls[0]
    assert identity["IDENTITY_URL"] == f"http://127.0.0.1:{ports['identity']}"  # no comma
    for seen in replicas:
        assert seen["SERVICE_NAME"] == "chat"
        assert seen["CHAT_URL"] == identity["CHAT_URL"]
    for k, url in enumerate(urls, start=1):
        assert f"chat#{k}" in output
        assert url in output  # each replica has its row in the table
    assert "starting chat#2" in output
    _, alive = psutil.wait_procs(children, timeout=3)
    assert alive == []
