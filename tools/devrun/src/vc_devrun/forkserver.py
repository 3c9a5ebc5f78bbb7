"""Import the libraries every service imports once, then fork each service from that process.

Measured on the 2-core development machine: a service's start costs ~2.7 s of CPU, and importing
the libraries every service shares (FastAPI, SQLAlchemy, pydantic, uvicorn, httpx, alembic,
OpenTelemetry, ``vc_common``) alone costs ~2.5 s of it; 15 processes paid it each. The runner
starts ``python -m vc_devrun.forkserver`` first (while the infra starts); it imports
:data:`PRELOAD` (no thread, no event loop) and waits for requests on a socket the runner passes
it. Each request is a ``python -m <module> args...`` command line, its environment, working
directory and the write end of the pipe its output goes to; the server forks twice, and the
service becomes the runner's own child (the runner is a child subreaper), exactly as if the
runner had started it: the same pid tracking, ``SIGKILL`` of its process group, exit codes
(``-9``) and restarts. The service's command line (``/proc/<pid>/cmdline``, ``ps``) is the one
it would have had, written over the server's (which is padded for it).

Used by :class:`vc_devrun.procs.ManagedProcess` when the runner passes it a :class:`Forker`;
anything it cannot fork (another interpreter, no ``-m``, the server gone) is started as before.
``VC_DEVRUN_FORK=0`` turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import importlib
import json
import os
import runpy
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: what every service (and the gateway) imports; each is optional
PRELOAD = (
    # what any ASGI service under uvicorn needs first (a request may come before the rest)
    "uvicorn.main",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "uvicorn.protocols.websockets.wsproto_impl",
    "fastapi",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "orjson",
    "uvloop",
    "aiohttp",
    # then what the platform's services all build on
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "asyncpg",
    "nats",
    "fastapi.openapi.utils",
    "vc_common.logging",
    "vc_common.auth",
    "vc_common.events",
    "vc_common.sockets",
    "vc_common.telemetry",
    "vc_common.app",
    "vc_common.migrations",
    "alembic.script",
    "alembic.runtime.migration",
)

#: room kept in the server's command line for each service's (see ``_set_cmdline``)
TITLE_ROOM = 1024
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_MM = 35
_PR_SET_MM_ARG_END = 9


def _prctl(option: int, value: int, value2: int = 0) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
        return int(libc.prctl(option, value, value2, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make this process the parent of any orphaned descendant (Linux): the forked services."""
    return sys.platform.startswith("linux") and _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def module_command(argv: Sequence[str], python: str) -> tuple[str, list[str]] | None:
    """``(module, args)`` for ``python -m module args...`` run by ``python``, else None."""
    if len(argv) < 3 or argv[1] != "-m" or os.path.realpath(argv[0]) != os.path.realpath(python):
        return None
    return argv[2], list(argv[3:])


# --- the server -----------------------------------------------------------------------------


def _set_cmdline(argv: Sequence[str]) -> None:
    """Write ``argv`` over this process's command line (the area the kernel shows in
    ``/proc/self/cmdline``); CPython keeps its own copy of argv, so nothing reads it."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return
    room = end - start
    data = "\0".join(argv).encode(errors="replace")[: room - 1] + b"\0"
    ctypes.memmove(start, data.ljust(room, b"\0"), room)
    # with CAP_SYS_RESOURCE, the area ends where the command does: no trailing padding
    if _prctl(_PR_SET_MM, _PR_SET_MM_ARG_END, start + len(data)):
        return
    # else as setproctitle(3) does: the words joined by spaces, and the area's last byte not
    # NUL, so the kernel shows the title up to its NUL (psutil splits it on the spaces)
    title = " ".join(argv).encode(errors="replace")[: room - 2] + b"\0"
    ctypes.memmove(start, title.ljust(room - 1, b"\0") + b" ", room)


def _child(request: dict[str, Any], out_fd: int, runner_pid: int, middle: int) -> None:
    """In the service's process: become what ``python -m <module> <args>`` would have been."""
    code = 1
    try:
        os.setsid()  # its own session and process group (its pid), as start_new_session gives
        # once the intermediate process has exited, our parent is the runner (a subreaper);
        # its pid comes from the intermediate itself, which may be gone before we run at all
        while os.getppid() == middle:
            time.sleep(0.001)
        _prctl(_PR_SET_PDEATHSIG, int(request.get("pdeathsig", signal.SIGTERM)))
        if os.getppid() != runner_pid:  # the runner died meanwhile
            os._exit(1)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # what the interpreter sets at start-up
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(devnull)
        os.close(out_fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _set_cmdline(request["argv"])
        module, args = request["module"], request["args"]
        sys.argv = [module, *args]
        sys.orig_argv = list(request["argv"])
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _spawn(request: dict[str, Any], out_fd: int, control: socket.socket) -> int:
    """Fork twice; return the pid of the service process (a child of the runner)."""
    runner_pid = os.getppid()
    sys.stdout.flush()
    sys.stderr.flush()
    read_pid, write_pid = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_pid)
            control.close()
            me = os.getpid()
            pid = os.fork()
            if pid == 0:
                os.close(write_pid)
                _child(request, out_fd, runner_pid, me)
            os.write(write_pid, str(pid).encode())
        finally:
            os._exit(0)
    os.close(write_pid)
    with os.fdopen(read_pid, "rb") as reader:
        raw = reader.read()
    os.waitpid(middle, 0)
    if not raw:
        raise OSError("the fork server could not fork")
    return int(raw)


class _Server:
    """Reads spawn requests from the runner's socket and answers each with a pid."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.buffer = b""
        self.pipes: list[int] = []  # each request's output pipe arrives with its first bytes

    def receive(self) -> bool:
        """Read what the runner sent (waiting for it) and answer every complete request;
        False once the runner has closed the socket."""
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, 1 << 20, 4)
        except InterruptedError:
            return True
        if not data:
            return False
        self.buffer += data
        self.pipes += fds
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            request = json.loads(line)
            out_fd = self.pipes.pop(0)
            try:
                if threading.active_count() != 1:
                    raise OSError("the fork server has threads; it cannot fork safely")
                pid = _spawn(request, out_fd, self.control)
                answer: dict[str, Any] = {"id": request["id"], "pid": pid}
            except OSError as exc:
                answer = {"id": request["id"], "error": str(exc)}
            finally:
                os.close(out_fd)
            self.control.sendall(json.dumps(answer).encode() + b"\n")
        return True


def main(argv: Sequence[str]) -> int:
    server = _Server(socket.socket(fileno=int(argv[0])))
    # the requests wait for the whole list: served in between, each of the services forked
    # early imported the rest itself, and each waited for one more module (20 s at load 20)
    for name in PRELOAD:
        with warnings.catch_warnings():  # a deprecation is the service's to show
            warnings.simplefilter("ignore")
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    server.control.sendall(b'{"ready": true}\n')
    while server.receive():
        pass
    return 0


# --- the runner's side ----------------------------------------------------------------------


class ForkedProcess:
    """What :class:`ManagedProcess` needs of an ``asyncio.subprocess.Process``, for a service
    the fork server started: it is the runner's child, reaped here when its pidfd says so."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        self._pidfd = os.pidfd_open(pid)
        loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        try:
            done, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            done, status = self.pid, 255 << 8  # reaped elsewhere: the code is lost
        if done == 0:
            return
        asyncio.get_running_loop().remove_reader(self._pidfd)
        os.close(self._pidfd)
        self.returncode = os.waitstatus_to_exitcode(status)
        if not self._exited.done():
            self._exited.set_result(self.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


class Forker:
    """The runner's handle on the fork server: started once, asked for each service."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._server: socket.socket | None = None
        self._buffer = b""
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ready: asyncio.Future[None] | None = None
        self.alive = False

    def server_end(self) -> int:
        """The socket to pass to ``python -m vc_devrun.forkserver <fd>`` (``pass_fds``)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock, self._server = mine, theirs
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        mine.setblocking(False)
        loop.add_reader(mine.fileno(), self._read)
        self.alive = True
        return theirs.fileno()

    def started(self) -> None:
        """The server process has its copy of its end: close ours."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def _read(self) -> None:
        assert self._sock is not None
        try:
            data = self._sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message = json.loads(line)
            if message.get("ready") and self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
            waiter = self._waiting.pop(message.get("id", -1), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self.alive = False
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(OSError("the fork server is gone"))
        self._waiting.clear()

    async def spawn(
        self,
        module: str,
        args: Sequence[str],
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        pdeathsig: int,
        limit: int,
    ) -> ForkedProcess:
        """Fork ``python -m module args`` (``argv`` is its command line as shown by ``ps``)."""
        if not self.alive or self._sock is None:
            raise OSError("the fork server is not running")
        loop = asyncio.get_running_loop()
        read_end, write_end = os.pipe()
        self._next += 1
        ident = self._next
        waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiting[ident] = waiter
        request = {
            "id": ident,
            "module": module,
            "args": list(args),
            "argv": list(argv),
            "env": dict(os.environ if env is None else env),
            "cwd": str(cwd or Path.cwd()),
            "pdeathsig": pdeathsig,
        }
        try:
            payload = json.dumps(request).encode() + b"\n"
            self._sock.setblocking(True)
            try:
                socket.send_fds(self._sock, [payload], [write_end])
            finally:
                self._sock.setblocking(False)
        except OSError:
            os.close(read_end)
            self._waiting.pop(ident, None)
            self.close()
            raise
        finally:
            os.close(write_end)
        try:
            answer = await waiter
        except BaseException:
            os.close(read_end)
            raise
        if "pid" not in answer:
            os.close(read_end)
            raise OSError(answer.get("error", "the fork server refused"))
        reader = asyncio.StreamReader(limit=limit)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", buffering=0)
        )
        return ForkedProcess(int(answer["pid"]), reader)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
