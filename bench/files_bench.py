"""Files: a 1 GiB upload and download through the gateway, and 50 concurrent 10 MiB uploads.

Self-contained (``make bench`` or ``python -m bench.files_bench``): the real files service
(uvicorn, a scratch PostgreSQL database ``files_bench_*`` on the server of ``BENCH_DATABASE_URL``
/ ``DATABASE_URL``, dropped at the end, local-disk storage in a temporary ``FILES_DIR``, events
off) and the real gateway (``python -m gateway``, limits and access log off) on free ports; a JWKS
server and teams' membership route (``teams_client.testing.FakeTeams``) in this process.

What it prints, each beside an anchor measured in the same run:

- anchor: the same file over a raw loopback TCP connection (``sendfile`` to a blocking reader, no
  HTTP): what the machine moves at that moment; and a bare ASGI app under the same uvicorn that
  reads and discards the body (no framework, hashing or disk): what an ASGI server takes in;
- the 1 GiB upload (raw body, sent from a file with ``sendfile``) and download (read into one
  buffer and discarded), through the gateway and directly against the service (best of
  ``--rounds``, 2): MB/s (target >= 200 MB/s
  through the gateway), and the resident memory of the gateway and the service before and at
  their peak during the transfer (sampled every 20 ms from /proc; target: growth < 50 MiB);
- 50 concurrent 10 MiB uploads through the gateway: all must answer 201.

The report at the end: each upload beside the bare ASGI app's, each download beside the raw TCP
copy (best rounds, with ratios), the memory growth beside the bare app's during its upload, and
the targets with met/missed.

Options: ``--size-mib`` (1024; 64 with ``--quick``), ``--concurrent`` (50; 10), ``--each-mib``
(10), ``--rounds`` (2; 1), ``--no-fsync`` (FILES_FSYNC=false: what the disk's flush costs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
from vc_common.ports import free_port

from bench.harness import Report, quick

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
TARGET_MB_S = 200.0  # each way through the gateway
TARGET_RSS_MIB = 50.0  # growth of the gateway and the service during a transfer


# --- helpers ------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssWatch:
    """Samples the resident memory of some processes every 20 ms while a transfer runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before = {n: rss_mib(p) for n, p in pids.items()}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for n, p in self.pids.items():
                self.peak[n] = max(self.peak[n], rss_mib(p))

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> str:
        return ", ".join(
            f"{n} RSS {self.before[n]:.0f} -> peak {self.peak[n]:.0f} MiB "
            f"(+{self.peak[n] - self.before[n]:.1f})"
            for n in self.pids
        )

    def growth(self) -> dict[str, float]:
        return {n: self.peak[n] - self.before[n] for n in self.pids}


def serve_jwks(jwks: dict[str, Any]) -> tuple[str, ThreadingHTTPServer]:
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}/.well-known/jwks.json", server


def wait_http(url: str, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout}s")
        time.sleep(0.2)


def _sink(server: socket.socket, result: list[int]) -> None:
    conn, _ = server.accept()
    buf = bytearray(1 << 20)
    got = 0
    with conn:
        while True:
            n = conn.recv_into(buf)
            if not n:
                break
            got += n
    result.append(got)


def raw_copy_mb_s(path: str, size: int) -> float:
    """The anchor: the same file sent over a loopback TCP connection with ``sendfile`` to a
    blocking reader (no HTTP, no event loop): what this machine moves right now."""
    server = socket.create_server(("127.0.0.1", 0))
    result: list[int] = []
    reader = threading.Thread(target=_sink, args=(server, result))
    reader.start()
    started = time.perf_counter()
    with socket.create_connection(server.getsockname()) as sock, open(path, "rb") as f:
        sock.sendfile(f)
    reader.join()
    elapsed = time.perf_counter() - started
    server.close()
    assert result == [size]
    return size / elapsed / 1e6


def _http_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    f = sock.makefile("rb")
    status = int(f.readline().split()[1])
    headers: dict[str, str] = {}
    while True:
        line = f.readline().strip()
        if not line:
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = f.read(int(headers.get("content-length", "0")))
    return status, headers, body


def upload(base: str, team: uuid.UUID, token: str, path: str, size: int) -> tuple[float, Any]:
    """A raw-body upload of the file, sent with ``sendfile`` (the client costs next to nothing:
    what is measured is the gateway and the service)."""
    url = urllib.parse.urlsplit(base)
    head = (
        f"POST /api/v1/teams/{team}/files?filename=bench-{size}.bin HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection((url.hostname, url.port)) as sock, open(path, "rb") as f:
        sock.sendall(head)
        sock.sendfile(f)
        status, _, body = _http_answer(sock)
    elapsed = time.perf_counter() - started
    if status != 201:
        raise RuntimeError(f"upload answered {status}: {body[:300]!r}")
    return elapsed, json.loads(body)


def download(base: str, file_id: str, token: str) -> tuple[float, int]:
    """The whole file, read into one reused buffer and discarded."""
    url = urllib.parse.urlsplit(base)
    head = (
        f"GET /api/v1/files/{file_id}/content HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    got = 0
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head)
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        first = b""
        while b"\r\n\r\n" not in first:
            n = sock.recv_into(buf)
            if not n:
                raise RuntimeError("download: no answer")
            first += bytes(view[:n])
        head_bytes, _, rest = first.partition(b"\r\n\r\n")
        if b" 200 " not in head_bytes.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"download answered {head_bytes[:100]!r}")
        got = len(rest)
        while True:
            n = sock.recv_into(buf)
            if not n:
                break
            got += n
    return time.perf_counter() - started, got


async def upload_aiohttp(
    session: aiohttp.ClientSession, base: str, team: uuid.UUID, token: str, data: bytes
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    async with session.post(
        f"{base}/api/v1/teams/{team}/files",
        params={"filename": "bench-small.bin"},
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
    ) as resp:
        answer = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"upload answered {resp.status}: {answer}")
    return time.perf_counter() - started, answer


BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = ('{"size": %d}' % size).encode()
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""


def start_bare(directory: str, port: int) -> subprocess.Popen[bytes]:
    """The second anchor: a bare ASGI app under the same uvicorn that reads and discards a body
    (no framework, no hashing, no disk): what an ASGI server takes in on this machine now."""
    Path(directory, "bare_sink.py").write_text(BARE_APP)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_sink:app",
            "--app-dir",
            directory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
    )


# --- the run ------------------------------------------------------------------------------------


async def measure(
    args: argparse.Namespace,
    gateway: str,
    direct: str,
    pids: dict[str, int],
    team: uuid.UUID,
    token: str,
    path: str,
    bare_pid: int,
) -> dict[str, float]:
    """The best of the rounds of each figure (MB/s; the largest RSS growth in MiB)."""
    size = args.size_mib * MiB
    best = dict.fromkeys(
        ("raw", "bare", "direct up", "direct down", "gateway up", "gateway down"), 0.0
    )
    best["rss"] = best["bare rss"] = 0.0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        for round_ in range(1, args.rounds + 1):
            load = os.getloadavg()
            anchor = await asyncio.to_thread(raw_copy_mb_s, path, size)
            best["raw"] = max(best["raw"], anchor)
            loads = " ".join(f"{x:.1f}" for x in load)
            print(f"round {round_} (load average {loads}, nproc {os.cpu_count()})")
            print(
                f"  anchor  raw loopback TCP copy (sendfile) of {args.size_mib} MiB: "
                f"{anchor:,.0f} MB/s"
            )
            with RssWatch({"bare": bare_pid}) as watch:
                bare_s, _ = await asyncio.to_thread(upload, args.bare, team, token, path, size)
            print(
                "  anchor  bare ASGI app under uvicorn, the body read and discarded: "
                f"{size / bare_s / 1e6:,.0f} MB/s; {watch.report()}"
            )
            best["bare"] = max(best["bare"], size / bare_s / 1e6)
            best["bare rss"] = max(best["bare rss"], watch.growth()["bare"])
            for label, base in (("direct ", direct), ("gateway", gateway)):
                with RssWatch(pids) as watch:
                    up_s, answer = await asyncio.to_thread(upload, base, team, token, path, size)
                up = size / up_s / 1e6
                print(
                    f"  {label} upload   {args.size_mib} MiB: {up:,.0f} MB/s ({up_s:.2f} s); "
                    f"{watch.report()}"
                )
                assert answer["size"] == size
                up_rss = max(watch.growth().values())
                with RssWatch(pids) as watch:
                    down_s, got = await asyncio.to_thread(download, base, answer["id"], token)
                down = size / down_s / 1e6
                print(
                    f"  {label} download {args.size_mib} MiB: {down:,.0f} MB/s "
                    f"({down_s:.2f} s); {watch.report()}"
                )
                assert got == size
                where = label.strip()
                best[f"{where} up"] = max(best[f"{where} up"], up)
                best[f"{where} down"] = max(best[f"{where} down"], down)
                if where == "gateway":
                    best["rss"] = max(best["rss"], up_rss, *watch.growth().values())
                async with session.delete(
                    f"{base}/api/v1/files/{answer['id']}",
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    assert resp.status == 204

        each = args.each_mib * MiB
        small = os.urandom(each)
        digest = hashlib.sha256(small).hexdigest()
        started = time.perf_counter()
        with RssWatch(pids) as watch:
            results = await asyncio.gather(
                *(
                    upload_aiohttp(session, gateway, team, token, small)
                    for _ in range(args.concurrent)
                ),
                return_exceptions=True,
            )
        elapsed = time.perf_counter() - started
        good = [r for r in results if not isinstance(r, BaseException) and r[1]["sha256"] == digest]
        failed = [r for r in results if isinstance(r, BaseException)]
        print(
            f"gateway {args.concurrent} concurrent uploads of {args.each_mib} MiB: "
            f"{len(good)}/{args.concurrent} stored intact in {elapsed:.2f} s "
            f"({args.concurrent * each / elapsed / 1e6:,.0f} MB/s together); {watch.report()}"
        )
        for exc in failed[:3]:
            print(f"   failed: {type(exc).__name__}: {exc}")
        best["stored"] = len(good)
        best["together"] = args.concurrent * each / elapsed / 1e6
    return best


def report(rep: Report, args: argparse.Namespace, best: dict[str, float]) -> Report:
    raw = ("raw loopback TCP copy (sendfile)", best["raw"])
    bare = ("bare ASGI app, body discarded", best["bare"])
    size = f"{args.size_mib} MiB"
    rep.figure(raw[0], raw[1], "MB/s")
    rep.figure(bare[0], bare[1], "MB/s", anchor=raw)
    rep.figure(f"direct upload {size} (best)", best["direct up"], "MB/s", anchor=bare)
    rep.figure(f"direct download {size} (best)", best["direct down"], "MB/s", anchor=raw)
    for way, anchor in (("up", bare), ("down", raw)):
        rep.target(
            f"gateway {way}load {size} (best)",
            best[f"gateway {way}"],
            ">=",
            TARGET_MB_S,
            "MB/s",
            anchor=anchor,
        )
    rep.target(
        "RSS growth, gateway and files (largest)",
        best["rss"],
        "<",
        TARGET_RSS_MIB,
        "MiB",
        anchor=("bare ASGI app's growth", best["bare rss"]),
    )
    rep.target(
        f"{args.concurrent} concurrent {args.each_mib} MiB uploads stored intact",
        best["stored"],
        ">=",
        args.concurrent,
        "uploads",
        note=f"{best['together']:,.0f} MB/s together",
    )
    return rep


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.files_bench")
    parser.add_argument("--size-mib", type=int, default=int(quick(1024, 64)))
    parser.add_argument("--concurrent", type=int, default=int(quick(50, 10)))
    parser.add_argument("--each-mib", type=int, default=10)
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--rounds", type=int, default=int(quick(2, 1)))
    args = parser.parse_args()
    rep = Report("files_bench")  # now: its load average at the start is the run's

    from teams_client.testing import FakeTeams
    from vc_common.migrations import migrate
    from vc_common.testing.keys import TestSigner
    from vc_common.testing.plugin import create_database, drop_database

    os.environ.setdefault(
        "DATABASE_URL",
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    db_name = f"files_bench_{os.getpid()}"
    url = asyncio.run(create_database(db_name))
    asyncio.run(migrate("files", url))
    files_dir = tempfile.mkdtemp(prefix="files-bench-")
    source = os.path.join(files_dir, "source.bin")
    with open(source, "wb") as f:  # the bytes every upload sends (random: nothing compresses)
        block = os.urandom(MiB)
        for _ in range(args.size_mib):
            f.write(block)
    signer = TestSigner()
    jwks_url, jwks_server = serve_jwks(signer.jwks)
    teams = FakeTeams()
    teams.start()
    user, team = uuid.uuid4(), uuid.uuid4()
    teams.add(team, user, "member")
    token = signer.token(user, username="bench")
    files_port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "FILES_DATABASE_URL": url,
        "FILES_DIR": files_dir,
        "FILES_STORAGE": "local",
        "FILES_MAX_BYTES": str(4 * 1024 * MiB),
        "FILES_TEAM_QUOTA_BYTES": str(64 * 1024 * MiB),
        "FILES_FSYNC": "false" if args.no_fsync else "true",
        "EVENTS_ENABLED": "false",
        "JWKS_URL": jwks_url,
        "JWT_ISSUER": signer.issuer,
        "JWT_AUDIENCE": signer.audience,
        "TEAMS_URL": teams.url,
        "LOG_LEVEL": "WARNING",
        "FILES_URL": f"http://127.0.0.1:{files_port}",
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_RATE_PER_USER": "off",
        "GATEWAY_RATE_PER_IP": "off",
        "GATEWAY_ACCESS_LOG": "0",
        "PLATFORM_CONFIG": str(ROOT / "platform.toml"),
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "files.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(files_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=ROOT))
        bare_port = free_port()
        procs.append(start_bare(files_dir, bare_port))
        args.bare = f"http://127.0.0.1:{bare_port}"
        wait_http(f"http://127.0.0.1:{files_port}/readyz")
        wait_http(f"http://127.0.0.1:{gateway_port}/livez")
        for _ in range(200):  # the bare app answers any path; wait for its socket
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", bare_port)):
                break
            time.sleep(0.1)
        pids = {"files": procs[0].pid, "gateway": procs[1].pid}
        best = asyncio.run(
            measure(
                args,
                f"http://127.0.0.1:{gateway_port}",
                f"http://127.0.0.1:{files_port}",
                pids,
                team,
                token,
                source,
                procs[2].pid,
            )
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        teams.stop()
        jwks_server.shutdown()
        shutil.rmtree(files_dir, ignore_errors=True)
        asyncio.run(drop_database(db_name))
    return report(rep, args, best).finish()


if __name__ == "__main__":
    raise SystemExit(main())
