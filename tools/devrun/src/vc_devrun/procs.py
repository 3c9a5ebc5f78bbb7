"""Child processes: each in its own process group, output prefixed with its name, stopped for sure.

Every child runs in a new session (``start_new_session``), so a stop signal reaches its whole
process group (uvicorn workers, postgres backends) and the terminal's Ctrl-C reaches only the
runner, which then stops the children in order. On Linux each child also gets the parent-death
signal, so even a runner killed with SIGKILL leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from vc_devrun.forkserver import ForkedProcess, Forker

STOP_TIMEOUT = 5.0
_STREAM_LIMIT = 1 << 20

_COLORS = ("36", "35", "33", "32", "34", "91", "96", "95", "93", "92", "94")


class Output:
    """Writes prefixed lines to the terminal, colored when it is a TTY."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        if color is None:
            color = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.color = color
        self.width = 8
        self._colors: dict[str, str] = {}

    def register(self, name: str) -> None:
        self.width = max(self.width, len(name))
        if name not in self._colors:
            self._colors[name] = _COLORS[len(self._colors) % len(_COLORS)]

    def line(self, name: str, text: str) -> None:
        self.register(name)
        label = name.ljust(self.width)
        if self.color:
            label = f"\033[{self._colors[name]}m{label}\033[0m"
        self._write(f"{label} | {text}\n")

    def info(self, text: str) -> None:
        self.line("devrun", text)

    def error(self, text: str) -> None:
        if self.color:
            text = f"\033[1;31m{text}\033[0m"
        self.line("devrun", text)

    def raw(self, text: str) -> None:
        self._write(text if text.endswith("\n") else text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass


def _parent_death_setter(sig: int) -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to send ``sig`` to the child when the runner dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sig, 0, 0, 0)

    return preexec


class ManagedProcess:
    """A child process in its own process group whose output is prefixed with its name."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        output: Output,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        signal_group: bool = True,
        keep_lines: int = 40,
        forker: Forker | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.output = output
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.signal_group = signal_group
        self.last_lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        #: forks ``python -m ...`` commands from a process that imported the common libraries
        #: already (see :mod:`vc_devrun.forkserver`); None, or gone: a new process, as before
        self.forker = forker
        self.pass_fds = tuple(pass_fds)
        self.proc: asyncio.subprocess.Process | ForkedProcess | None = None
        self.stopping = False
        self._pump: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self.on_exit: Callable[[ManagedProcess, int], None] | None = None
        output.register(name)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        self.proc = await self._fork() or await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            start_new_session=True,
            preexec_fn=_parent_death_setter(self.stop_signal),
            pass_fds=self.pass_fds,
            limit=_STREAM_LIMIT,
        )
        self._pump = asyncio.create_task(self._pump_output(), name=f"{self.name}-output")
        self._watch = asyncio.create_task(self._watch_exit(), name=f"{self.name}-watch")

    async def _fork(self) -> ForkedProcess | None:
        """The process from the fork server when it can start this command, else None."""
        if self.forker is None or not self.forker.alive or self.user is not None:
            return None
        from vc_devrun.forkserver import module_command

        command = module_command(self.argv, sys.executable)
        if command is None:
            return None
        try:
            return await self.forker.spawn(
                *command,
                self.argv,
                env=self.env if self.env is not None else os.environ,
                cwd=self.cwd,
                pdeathsig=self.stop_signal,
                limit=_STREAM_LIMIT,
            )
        except OSError as exc:
            self.output.info(f"{self.name}: fork server unavailable ({exc}); a new process")
            return None

    async def _pump_output(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the limit: take what is there
                raw = await stream.read(_STREAM_LIMIT)
            if not raw:
                return
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.last_lines.append(text)
            self.output.line(self.name, text)

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        if self._pump is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), 2)
        if not self.stopping and self.on_exit is not None:
            self.on_exit(self, code)

    async def wait(self) -> int:
        assert self.proc is not None
        code = await self.proc.wait()
        if self._watch is not None:
            await self._watch
        return code

    def _signal(self, sig: int, *, group: bool) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                os.kill(self.proc.pid, sig)

    def _group_alive(self) -> bool:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    async def stop(self, grace: float = STOP_TIMEOUT) -> None:
        """Stop signal, then SIGKILL to the whole process group after ``grace`` seconds."""
        if self.proc is None:
            return
        self.stopping = True
        deadline = time.monotonic() + grace
        if self.proc.returncode is None:
            self._signal(self.stop_signal, group=self.signal_group)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), grace)
        # The leader is gone or overdue; give the rest of its group what is left of the grace.
        while self._group_alive() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.proc.returncode is None or self._group_alive():
            self.output.info(f"{self.name} did not stop within {grace:g}s: SIGKILL")
            self._signal(signal.SIGKILL, group=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), 5)
        for task in (self._pump, self._watch):
            if task is not None and not task.done():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), 2)
                task.cancel()

    def kill_now(self) -> None:
        """SIGKILL the whole group at once (second Ctrl-C)."""
        if self.proc is not None:
            self.stopping = True
            self._signal(signal.SIGKILL, group=True)

    def tail(self, n: int = 20) -> str:
        lines = list(self.last_lines)[-n:]
        return "\n".join(f"    {line}" for line in lines) if lines else "    (no output)"


async def run_to_end(
    name: str,
    argv: Sequence[str],
    *,
    output: Output,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> tuple[int, ManagedProcess]:
    """Run a short-lived command with prefixed output; stopped if the caller is cancelled."""
    proc = ManagedProcess(name, argv, output=output, env=env, cwd=cwd, user=user)
    proc.stopping = True  # its exit is expected
    await proc.start()
    try:
        code = await proc.wait()
    except BaseException:
        await asyncio.shield(proc.stop())
        raise
    return code, proc
