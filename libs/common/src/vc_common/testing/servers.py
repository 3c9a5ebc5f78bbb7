"""Real servers for tests: a service's app as a uvicorn process (socket services' suites: chat,
realtime), and another service's stand-in served in a thread (:class:`ThreadServer`)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, Protocol, TypeVar

import httpx


async def start_uvicorn(
    app: str,
    port: int,
    env: Mapping[str, str],
    *,
    ready_path: str = "/livez",
    within: float = 120.0,
    poll: float = 0.05,
) -> asyncio.subprocess.Process:
    """``python -m uvicorn <app> --factory`` on ``port``, returned once ``ready_path`` answers
    200. A deadline, not a count: on a loaded 2-core machine an app can take a minute to start."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        env=dict(env),
    )
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"{app} exited with {proc.returncode}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}{ready_path}")).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            await asyncio.sleep(poll)
    proc.kill()
    raise RuntimeError(f"{app} did not start within {within:g} s")


async def stop_process(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        proc.kill()
        await proc.wait()


class ThreadServer:
    """An ASGI app (another service's stand-in: a real HTTP server on loopback, not a patched
    transport) served by uvicorn in a thread of the test process, on a free port."""

    def __init__(
        self,
        app: Any,
        name: str = "stand-in",
        *,
        lifespan: Literal["auto", "on", "off"] = "auto",
        within: float = 20.0,
    ) -> None:
        import uvicorn

        from vc_common.ports import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
        )
        self._server = uvicorn.Server(config)
        self._within = within
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()), name=name, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self._within
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self._thread.name} server did not start")
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StandIn(Protocol):
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=StandIn)


@contextmanager
def standing_in(server: S, env: str) -> Iterator[S]:
    """``server`` started, with the environment variable ``env`` naming its URL (as a deployment
    names another service's) until the block ends; then both undone."""
    server.start()
    previous = os.environ.get(env)
    os.environ[env] = server.url
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = previous
        server.stop()
