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
from vc_common.ports import free_port

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

    def wait_for(self, text: str, limit: float = 90) -> None:
        # generous: the suites of other engineers load this 2-core machine to 20-30
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
@pytest.mark.parametrize("fork", ["1", "0"], ids=["forked", "exec"])
def test_a_crashed_service_is_restarted_and_answers_again(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str], fork: str
) -> None:
    runner = Runner(platform_toml(tmp_path, ports), env | {"VC_DEVRUN_FORK": fork})
    try:
        runner.wait_for("is up")
        children = psutil.Process(runner.proc.pid).children(recursive=True)
        chat = next(c for c in children if str(ports["chat"]) in c.cmdline())
        # forked or not, each service is the runner's own child, under its own command line
        assert chat.ppid() == runner.proc.pid
        assert chat.cmdline()[1:4] == ["-m", "uvicorn", "--factory"]
        assert chat.cmdline()[-2:] == ["--ws-max-size", "1048576"]  # and nothing after
        servers = [c for c in children if "vc_devrun.forkserver" in c.cmdline()]
        assert len(servers) == (1 if fork == "1" else 0)
        before = get_json(f"http://127.0.0.1:{ports['chat']}/env")
        os.kill(chat.pid, signal.SIGKILL)
        runner.wait_for("chat exited unexpectedly with code -9; restarting it in 0.5s")
        runner.wait_for("restarted chat")
        deadline = time.monotonic() + 60
        while True:  # until the new process listens
            try:
                after = get_json(f"http://127.0.0.1:{ports['chat']}/env")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert after["name"] == "chat" == before["name"]
        # a second crash waits longer (backoff), and the rest of the platform stayed up;
        # without its fork server (killed too), the service starts as a new process
        now = psutil.Process(runner.proc.pid).children(recursive=True)
        chat_pid = next(c.pid for c in now if str(ports["chat"]) in c.cmdline())
        for server in [c for c in now if "vc_devrun.forkserver" in c.cmdline()]:
            server.kill()
            server.wait(5)
        os.kill(chat_pid, signal.SIGKILL)
        runner.wait_for("restarting it in 1s")
        assert get_json(f"http://127.0.0.1:{ports['identity']}/env")["name"] == "identity"
        runner.wait_for("restarted chat")
        deadline = time.monotonic() + 60
        while True:  # the new process (forked or not) answers
            try:
                assert get_json(f"http://127.0.0.1:{ports['chat']}/env")["name"] == "chat"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert runner.proc.poll() is None
        kids = psutil.Process(runner.proc.pid).children(recursive=True)
    finally:
        runner.proc.send_signal(signal.SIGTERM)
        code, output = runner.finish()
    assert code == 0, output
    _, alive = psutil.wait_procs(kids, timeout=3)
    assert alive == []  # the restarted one too


@pytest.mark.slow
def test_a_service_dying_before_the_platform_is_up_stops_it_with_an_error(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    runner = Runner(platform_toml(tmp_path, ports), env | {"FAKE_EXIT_AFTER": "0"})
    code, output = runner.finish(limit=60)
    assert code == 1, output
    assert "exited" in output


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


@pytest.mark.slow
def test_one_ctrl_c_delivered_twice_still_stops_cleanly(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    # under `make run`, the terminal's SIGINT reaches the runner and `uv run` forwards a copy
    runner = Runner(platform_toml(tmp_path, ports), env)
    try:
        runner.wait_for("is up")
        runner.proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        runner.proc.send_signal(signal.SIGINT)
    finally:
        code, output = runner.finish()
    assert code == 0, output
    # each uvicorn service stopped on its own, not SIGKILLed
    assert output.count("Finished server process") == 2, output


@pytest.mark.slow
def test_a_second_ctrl_c_later_kills_at_once(
    tmp_path: Path, ports: dict[str, int], env: dict[str, str]
) -> None:
    runner = Runner(platform_toml(tmp_path, ports), env | {"FAKE_SLOW_STOP": "30"})
    try:
        runner.wait_for("is up")
        runner.proc.send_signal(signal.SIGINT)
        runner.wait_for("stopping")
        time.sleep(1.5)
        runner.proc.send_signal(signal.SIGINT)
        started = time.monotonic()
    finally:
        _, output = runner.finish()
    assert time.monotonic() - started < 4, output  # not the 5 s grace of a clean stop
    assert "Finished server process" not in output
