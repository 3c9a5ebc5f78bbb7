"""Gateway overhead: an authenticated ``GET /api/v1/users/me`` through the gateway and directly
against identity, side by side: requests per second, p50 and p99 latency, CPU time per request of
each server process (from /proc/<pid>/stat), the load average, and the ratio gateway/direct (the
target is >= 0.80). Direct and gateway are measured back to back, ``--rounds`` times; the ratio
reported is the median of the rounds'.

Self-contained, the default (``make bench``, no running platform needed)::

    python -m bench.gateway_bench

starts the real identity service (uvicorn) on a scratch PostgreSQL database (``identity_bench_*``
on the server of ``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else
postgresql://postgres@127.0.0.1:5432/postgres; migrated with alembic, dropped at the end) and the
real gateway (``python -m gateway``, rate limits off, no access log) on free ports. Without a
reachable PostgreSQL it falls back to ``--standin``.

Against a running platform (``make run`` started with ``GATEWAY_RATE_PER_USER=off
GATEWAY_RATE_PER_IP=off GATEWAY_ACCESS_LOG=0``: the default 600 requests/minute per user turn a
benchmark into 429s)::

    python -m bench.gateway_bench --gateway http://127.0.0.1:8000 --identity http://127.0.0.1:8101

``--standin``: a stand-in identity (FastAPI under uvicorn: register, login with real Ed25519 access
tokens, ``users/me`` verifying them with vc_common's TokenVerifier, no database) instead of the
real one: it measures the gateway's own cost against a cheaper upstream.

Every mode registers a bench user (``POST /api/v1/auth/register``), logs in and loads both URLs
with the same bearer token. Load comes from ``wrk`` when it is installed (``apt-get install -y
wrk``), else from a multi-process aiohttp load generator in this file.
"""

# No `from __future__ import annotations`: the stand-in FastAPI app resolves its annotations at
# definition time, inside standin_app().
import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from vc_common.ports import free_port

from bench.harness import Report, cpu_seconds, listener_pid, quick
from bench.harness import gateway_url as gateway_url_default

ME_PATH = "/api/v1/users/me"
TARGET_SERVICE_RATIO = 0.7  # identity's authenticated one-row read vs the bare app
TARGET_GATEWAY_RATIO = 0.85  # through the gateway vs direct


@dataclass
class Result:
    target: str
    url: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str
    # CPU time (user + system) per request of each watched server process, in microseconds.
    cpu_us: dict[str, float] = field(default_factory=dict)


RATE_LIMIT_HINT = (
    "the gateway answers 429 Too Many Requests: its rate limits are on. Start the platform with "
    "GATEWAY_RATE_PER_USER=off GATEWAY_RATE_PER_IP=off GATEWAY_ACCESS_LOG=0 (make run), or run the "
    "bench without --gateway/--identity: it then starts its own identity and gateway."
)


# --- HTTP helpers (blocking, only for set-up) ---------------------------------------------------


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, orjson.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _get_status(url: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def get_token(base_url: str) -> str:
    """Register a fresh bench user through ``base_url`` and log in; the access token."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    password = "bench-password-" + uuid.uuid4().hex[:8]
    status, body = _post_json(
        base_url + "/api/v1/auth/register",
        {"username": name, "email": f"{name}@bench.example.com", "password": password},
    )
    if status == 429:
        raise SystemExit(f"{base_url}: {RATE_LIMIT_HINT}")
    if status not in (200, 201):
        raise SystemExit(f"register failed: HTTP {status}: {body!r}")
    status, body = _post_json(
        base_url + "/api/v1/auth/login", {"username": name, "password": password}
    )
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise SystemExit(f"login failed: HTTP {status}: {body!r}")
    return str(body["access_token"])


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get_status(url) == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s")


# --- the server processes: CPU time, found by port -----------------------------------------------


def pids_of(urls: dict[str, str]) -> dict[str, int]:
    """``{name: pid}`` of the local servers behind these URLs (those found)."""
    out: dict[str, int] = {}
    for name, url in urls.items():
        parts = urllib.parse.urlsplit(url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.port:
            pid = listener_pid(parts.port)
            if pid is not None:
                out[name] = pid
    return out


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


# --- load generation ----------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(
    target: str,
    url: str,
    token: str,
    duration: float,
    connections: int,
    threads: int,
    script: str | None = None,
) -> Result:
    """wrk against ``url``; ``script``: a Lua file making each request (wrk's ``-s``)."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        *(["-s", script] if script else []),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return Result(target, url, total, rps, p50, p99, errors, f"wrk -t{threads} -c{connections}")


def _loadgen_worker(
    url: str, token: str, duration: float, concurrency: int, queue: Any
) -> None:  # pragma: no cover - runs in a child process
    import aiohttp

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> tuple[int, int, list[float]]:
        latencies: list[float] = []
        errors = 0
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            deadline = time.perf_counter() + duration

            async def loop() -> None:
                nonlocal errors
                while (start := time.perf_counter()) < deadline:
                    try:
                        async with session.get(url, headers=headers) as resp:
                            await resp.read()
                            if resp.status >= 400:
                                errors += 1
                    except aiohttp.ClientError:
                        errors += 1
                    latencies.append((time.perf_counter() - start) * 1000)

            await asyncio.gather(*(loop() for _ in range(concurrency)))
        return len(latencies), errors, latencies

    queue.put(asyncio.run(main()))


def run_python_loadgen(
    target: str, url: str, token: str, duration: float, connections: int, processes: int
) -> Result:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    per = max(1, connections // processes)
    procs = [
        ctx.Process(target=_loadgen_worker, args=(url, token, duration, per, queue))
        for _ in range(processes)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    parts = [queue.get(timeout=duration + 60) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(lat for _, _, lats in parts for lat in lats)
    total = sum(n for n, _, _ in parts)
    errors = sum(e for _, e, _ in parts)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    # Process start-up is not load: count rps over the nominal duration.
    del elapsed
    return Result(
        target,
        url,
        total,
        total / duration,
        pct(0.50),
        pct(0.99),
        errors,
        f"python loadgen {processes}x{per}",
    )


def measure(
    target: str,
    url: str,
    token: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    tool: str,
    warmup: float,
    pids: dict[str, int] | None = None,
) -> Result:
    status = _get_status(url, {"Authorization": f"Bearer {token}"})
    if status == 429:
        raise SystemExit(f"{url}: {RATE_LIMIT_HINT}")
    if status != 200:
        raise SystemExit(f"{url} does not answer 200 with the bench token (HTTP {status})")
    use_wrk = tool == "wrk" or (tool == "auto" and shutil.which("wrk"))
    load = run_wrk if use_wrk else run_python_loadgen
    if warmup > 0:
        load(target, url, token, warmup, connections, threads)
    pids = pids or {}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = load(target, url, token, duration, connections, threads)
    for name, pid in pids.items():
        spent = cpu_seconds(pid) - before[name]
        if not math.isnan(spent) and result.requests:
            result.cpu_us[name] = round(spent / result.requests * 1e6, 1)
    if result.errors and _get_status(url, {"Authorization": f"Bearer {token}"}) == 429:
        raise SystemExit(f"{url}: {RATE_LIMIT_HINT}")
    return result


def run(
    gateway_url: str = "http://127.0.0.1:8000",
    identity_url: str = "http://127.0.0.1:8101",
    *,
    duration: float = 5.0,
    connections: int = 50,
    threads: int = 1,
    tool: str = "auto",
    warmup: float = 1.0,
    rounds: int = 2,
    token: str | None = None,
    pids: dict[str, int] | None = None,
    mode: str = "platform",
    bare_url: str | None = None,
    nginx_url: str | None = None,
) -> dict[str, Any]:
    """Measure both targets with the same token, back to back, ``rounds`` times: every round's
    figures, the median ratio gateway/direct, and the round closest to it as the headline."""
    token = token or get_token(gateway_url)
    if pids is None:
        pids = pids_of({"gateway": gateway_url, "identity": identity_url})
    kw: dict[str, Any] = {
        "duration": duration,
        "connections": connections,
        "threads": threads,
        "tool": tool,
        "warmup": warmup,
    }
    direct_pids = {k: v for k, v in pids.items() if k != "gateway"}
    done: list[dict[str, Any]] = []
    bare_pids = {"bare": pids["bare"]} if "bare" in pids else {}
    direct_pids.pop("bare", None)
    nginx_pids = {k: v for k, v in pids.items() if k in ("nginx", "identity")}
    direct_pids.pop("nginx", None)
    gateway_pids = {k: v for k, v in pids.items() if k not in ("bare", "nginx")}
    for _ in range(max(1, rounds)):
        # the anchor first, then the service, then through the gateway: back to back
        bare = (
            measure("bare", bare_url.rstrip("/") + ME_PATH, token, pids=bare_pids, **kw)
            if bare_url
            else None
        )
        direct = measure(
            "direct", identity_url.rstrip("/") + ME_PATH, token, pids=direct_pids, **kw
        )
        nginx = (
            measure("nginx", nginx_url.rstrip("/") + ME_PATH, token, pids=nginx_pids, **kw)
            if nginx_url
            else None
        )
        gateway = measure(
            "gateway", gateway_url.rstrip("/") + ME_PATH, token, pids=gateway_pids, **kw
        )
        rnd = {
            "direct": asdict(direct),
            "gateway": asdict(gateway),
            "ratio": gateway.rps / direct.rps if direct.rps else 0.0,
            "loadavg": loadavg(),
        }
        if bare is not None:
            rnd["bare"] = asdict(bare)
            rnd["ratio_bare"] = direct.rps / bare.rps if bare.rps else 0.0
        if nginx is not None:
            rnd["nginx"] = asdict(nginx)
            rnd["ratio_nginx"] = gateway.rps / nginx.rps if nginx.rps else 0.0
        done.append(rnd)
    median = statistics.median(r["ratio"] for r in done)
    headline = min(done, key=lambda r: abs(r["ratio"] - median))
    extra: dict[str, Any] = {}
    if bare_url:
        extra["ratio_bare"] = statistics.median([r["ratio_bare"] for r in done])
        extra["bare"] = headline["bare"]
    if nginx_url:
        extra["ratio_nginx"] = statistics.median([r["ratio_nginx"] for r in done])
        extra["nginx"] = headline["nginx"]
    return {
        **extra,
        "mode": mode,
        "direct": headline["direct"],
        "gateway": headline["gateway"],
        "ratio": median,
        "rounds": done,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}, "
        f"Python {platform.python_version()}",
        "loadavg": loadavg(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(result: dict[str, Any]) -> str:
    lines = [
        f"GET {ME_PATH} (authenticated), {result.get('mode', 'platform')} mode",
        f"machine: {result['machine']}; load average now: {result.get('loadavg', 'n/a')}",
        f"{'round':<5} {'target':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} "
        f"{'errors':>6}  {'CPU us/request':<34} {'ratio':>5}  load avg",
    ]
    for i, rnd in enumerate(result.get("rounds") or [result], 1):
        for key in ("bare", "direct", "nginx", "gateway"):
            if key not in rnd:
                continue
            r = rnd[key]
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in r.get("cpu_us", {}).items()) or "n/a"
            ratios = {"gateway": f"{rnd['ratio']:.2f}", "direct": f"{rnd.get('ratio_bare', 0):.2f}"}
            ratio = ratios.get(key, "") if key != "direct" or "bare" in rnd else ""
            load = rnd.get("loadavg", "") if key == "gateway" else ""
            lines.append(
                f"{i:<5} {key:<8} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r['requests']:>9} {r['errors']:>6}  {cpu:<34} {ratio:>5}  {load}"
            )
    lines.append(f"load: {result['direct']['tool']}")
    lines.append(
        "ratio column: direct = identity / bare app, gateway = gateway / direct"
        + (f"; gateway / nginx (median): {result['ratio_nginx']:.2f}" if "nginx" in result else "")
    )
    errors = any(
        rnd[k]["errors"] for rnd in result.get("rounds") or [result] for k in ("direct", "gateway")
    )
    if errors:
        lines.append(
            "WARNING: some answers were errors (a rate limit? set GATEWAY_RATE_PER_USER=off "
            "GATEWAY_RATE_PER_IP=off for the bench): the figures are not comparable."
        )
    return "\n".join(lines)


# --- standalone: a stand-in identity and a real gateway -----------------------------------------


def standin_app() -> Any:
    """A stand-in for the identity service, with the same public shapes on the measured path."""
    import base64

    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from vc_common.auth import CurrentUser, StaticKeySource, TokenVerifier

    key = Ed25519PrivateKey.generate()
    kid = "bench-" + uuid.uuid4().hex[:8]
    x = base64.urlsafe_b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    jwks = {
        "keys": [
            {
                "kid": kid,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x.rstrip(b"=").decode(),
                "alg": "EdDSA",
                "use": "sig",
            }
        ]
    }
    issuer = os.environ.get("JWT_ISSUER", "virtualcoworking-identity")
    audience = os.environ.get("JWT_AUDIENCE", "virtualcoworking")
    users: dict[str, dict[str, Any]] = {}
    app = FastAPI(title="identity (bench stand-in)")
    app.state.verifier = TokenVerifier(StaticKeySource(jwks), issuer=issuer, audience=audience)

    @app.get("/.well-known/jwks.json")
    async def get_jwks() -> dict[str, Any]:
        return jwks

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/auth/register", status_code=201)
    async def register(request: Request) -> dict[str, Any]:
        body = await request.json()
        user = {"id": str(uuid.uuid4()), "username": body["username"], "email": body["email"]}
        users[body["username"]] = {**user, "password": body["password"]}
        return user

    @app.post("/api/v1/auth/login", response_model=None)
    async def login(request: Request) -> dict[str, Any] | JSONResponse:
        body = await request.json()
        user = users.get(body.get("username", ""))
        if user is None or user["password"] != body.get("password"):
            return JSONResponse({"detail": "bad credentials"}, status_code=401)
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": user["id"],
            "username": user["username"],
            "is_staff": False,
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
        return {
            "access_token": token,
            "refresh_token": "n/a",
            "token_type": "bearer",
            "expires_in": 900,
        }

    @app.get(ME_PATH)
    async def me(user: CurrentUser) -> dict[str, Any]:
        u = users.get(user.username, {})
        return {
            "id": str(user.id),
            "username": user.username,
            "email": u.get("email"),
            "first_name": "",
            "last_name": "",
            "is_staff": user.is_staff,
            "profile": {"bio": "", "location": "", "timezone": "UTC", "is_verified": False},
        }

    return app


_free_port = free_port


def _root() -> Path:
    return Path(__file__).resolve().parents[1]


def _gateway_env(tmp: str, gw_port: int, ident_port: int) -> dict[str, str]:
    """The environment of a bench gateway (and identity) with a one-service platform.toml."""
    cfg = Path(tmp) / "platform.toml"
    cfg.write_text(
        f'[gateway]\napp = "gateway.app:create_app"\nport = {gw_port}\n\n'
        f'[services.identity]\napp = "identity.app:create_app"\nport = {ident_port}\n'
        'routes = ["/api/v1/auth/**", "/api/v1/users/**", "/.well-known/jwks.json"]\n'
        'public = ["POST /api/v1/auth/register", "POST /api/v1/auth/login", '
        '"GET /.well-known/jwks.json"]\n'
    )
    env = {
        **os.environ,
        "PLATFORM_CONFIG": str(cfg),
        "GATEWAY_PORT": str(gw_port),
        "JWKS_URL": f"http://127.0.0.1:{ident_port}/.well-known/jwks.json",
        "GATEWAY_RATE_PER_USER": os.environ.get("GATEWAY_RATE_PER_USER", "off"),
        "GATEWAY_RATE_PER_IP": os.environ.get("GATEWAY_RATE_PER_IP", "off"),
        "GATEWAY_ACCESS_LOG": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_root()), os.environ.get("PYTHONPATH")])),
    }
    for name in ("REDIS_URL", "IDENTITY_URL", "GATEWAY_WORKERS"):
        env.pop(name, None)
    return env


def load_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`measure`'s load settings from the command line (``--duration``, ``--warmup``,
    ``--connections``, ``--threads``, ``--tool``)."""
    return {
        "duration": args.duration,
        "connections": args.connections,
        "threads": args.threads,
        "tool": args.tool,
        "warmup": args.warmup,
    }


def _uvicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=_root(),
    )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _wait_all(
    procs: dict[str, subprocess.Popen[bytes]], urls: dict[str, str], limit: float = 120.0
) -> None:
    # generous: on a busy 2-core machine importing a service can take 10-40 s of wall time
    deadline = time.monotonic() + limit
    for name, url in urls.items():
        while True:
            if procs[name].poll() is not None:
                raise SystemExit(f"the bench {name} exited with {procs[name].returncode}")
            with contextlib.suppress(OSError):
                if _get_status(url) == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} not ready after {limit:.0f} s")
            time.sleep(0.1)


NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
user {user};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream service {{
        server 127.0.0.1:{upstream};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_buffering on;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx_in_front(upstream_port: int, tmp: str) -> Any:
    """Debian's nginx as a plain reverse proxy (one worker, kept-alive upstream connections, no
    access log) in front of the same service: the anchor of what a proxy hop costs. Yields
    (url, worker pid), or None when nginx is not installed (``apt-get install nginx-light``)."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        yield None
        return
    port = _free_port()
    conf = Path(tmp) / "nginx.conf"
    user = "root" if os.geteuid() == 0 else ""
    text = NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=port, user=user or "nobody")
    if not user:  # not root: the `user` directive is refused, and needless
        text = text.replace("user nobody;\n", "")
    conf.write_text(text)
    proc = subprocess.Popen(
        [binary, "-p", tmp, "-c", str(conf), "-e", str(Path(tmp) / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        worker = None
        while worker is None:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"nginx exited with {proc.returncode}: {err.strip()}")
            with contextlib.suppress(OSError, ValueError):
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                if children and _get_status(f"http://127.0.0.1:{port}/livez") == 200:
                    worker = int(children[0])
            if worker is None:
                if time.monotonic() > deadline:
                    raise SystemExit("nginx not ready after 30 s")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", worker
    finally:
        _stop([proc])


@contextlib.contextmanager
def standin_platform() -> Any:
    """Start the stand-in identity and the real gateway; yield (gateway_url, identity_url, pids)."""
    ident_port, gw_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="gwbench-") as tmp:
        env = _gateway_env(tmp, gw_port, ident_port)
        procs = {
            "identity": _uvicorn("bench.gateway_bench:standin_app", ident_port, env),
            "gateway": subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=_root()),
        }
        try:
            _wait_all(
                procs,
                {
                    "identity": f"http://127.0.0.1:{ident_port}/readyz",
                    "gateway": f"http://127.0.0.1:{gw_port}/health",
                },
            )
            yield (
                f"http://127.0.0.1:{gw_port}",
                f"http://127.0.0.1:{ident_port}",
                {name: p.pid for name, p in procs.items()},
            )
        finally:
            _stop(list(procs.values()))


def bench_database_url() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def _admin_sql(base_url: str, sql: str) -> None:
    """Run one statement on the server of ``base_url`` (its own database), autocommit."""
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(asyncio.wait_for(go(), timeout=10))


def postgres_reachable(base_url: str) -> bool:
    try:
        _admin_sql(base_url, "SELECT 1")
    except Exception:  # any failure means: no database for this bench
        return False
    return True


def database_url(base_url: str, name: str) -> str:
    """The plain (asyncpg) URL of database ``name`` on the server of ``base_url``."""
    parts = urllib.parse.urlsplit(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def migrate(service: str, env: dict[str, str]) -> None:
    """``service``'s migrations to head on the database its ``env`` names."""
    subprocess.run(
        [sys.executable, "-m", "vc_common.migrations", service, "upgrade", "head"],
        env=env,
        cwd=_root(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,  # minutes of wall time when the machine is saturated
    )


@contextlib.contextmanager
def identity_platform(base_url: str) -> Any:
    """The real identity service on a scratch database (migrated, dropped at the end) and the
    real gateway in front of it; yield (gateway_url, identity_url, pids)."""
    db = f"identity_bench_{uuid.uuid4().hex[:10]}"
    db_url = database_url(base_url, db)
    ident_port, gw_port = _free_port(), _free_port()
    _admin_sql(base_url, f'CREATE DATABASE "{db}"')
    try:
        with tempfile.TemporaryDirectory(prefix="gwbench-") as tmp:
            env = _gateway_env(tmp, gw_port, ident_port)
            env["IDENTITY_DATABASE_URL"] = db_url
            # No SMTP server here: the registration's e-mail would be retried in the background.
            env["MAIL_SENDER_ENABLED"] = "false"
            env["LOG_LEVEL"] = "WARNING"
            migrate("identity", env)
            procs = {
                "identity": _uvicorn("identity.app:create_app", ident_port, env),
                "gateway": subprocess.Popen(
                    [sys.executable, "-m", "gateway"], env=env, cwd=_root()
                ),
            }
            bare_port = _free_port()
            try:
                _wait_all(
                    procs,
                    {
                        "identity": f"http://127.0.0.1:{ident_port}/readyz",
                        "gateway": f"http://127.0.0.1:{gw_port}/livez",
                    },
                )
                # the anchor: the same query on the same database, same uvicorn settings
                bare_env = {
                    **env,
                    "BARE_DATABASE_URL": db_url,
                    "BARE_JWKS_URL": f"http://127.0.0.1:{ident_port}/.well-known/jwks.json",
                }
                procs["bare"] = _uvicorn("bench.bare_app:create_app", bare_port, bare_env)
                _wait_all(procs, {"bare": f"http://127.0.0.1:{bare_port}/readyz"})
                pids = {name: p.pid for name, p in procs.items()}
                with nginx_in_front(ident_port, tmp) as nginx:
                    if nginx is not None:
                        pids["nginx"] = nginx[1]
                    yield (
                        f"http://127.0.0.1:{gw_port}",
                        f"http://127.0.0.1:{ident_port}",
                        pids,
                        f"http://127.0.0.1:{bare_port}",
                        nginx[0] if nginx else None,
                    )
            finally:
                _stop(list(procs.values()))
    finally:
        with contextlib.suppress(Exception):
            _admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gateway",
        help="a running gateway (with --identity: measure that platform, start nothing)",
    )
    parser.add_argument("--identity", help="a running identity service (with --gateway)")
    parser.add_argument(
        "--duration", type=float, default=quick(5.0, 2.0), help="seconds per target and round"
    )
    parser.add_argument(
        "--warmup", type=float, default=quick(1.0, 0.5), help="seconds per target and round"
    )
    parser.add_argument(
        "--rounds", type=int, default=int(quick(3, 1)), help="bare, direct, gateway, N times"
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads, or load generator processes"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--standin",
        action="store_true",
        help="start a stand-in identity (no database) and a gateway",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    kw: dict[str, Any] = {**load_options(args), "rounds": args.rounds}
    started = time.perf_counter()
    if args.gateway or args.identity:
        gateway_url = args.gateway or gateway_url_default()
        identity_url = args.identity or os.environ.get("IDENTITY_URL", "http://127.0.0.1:8101")
        try:
            result = run(gateway_url, identity_url, mode="running platform", **kw)
        except SystemExit:
            raise
        except OSError as exc:
            raise SystemExit(f"cannot reach {gateway_url} / {identity_url}: {exc}") from exc
    elif not args.standin and postgres_reachable(db := bench_database_url()):
        with identity_platform(db) as (gw_url, ident_url, pids, bare_url, nginx_url):
            result = run(
                gw_url,
                ident_url,
                pids=pids,
                mode="self-contained, real identity",
                bare_url=bare_url,
                nginx_url=nginx_url,
                **kw,
            )
    else:
        if not args.standin:
            print(f"(no PostgreSQL at {bench_database_url()}: stand-in identity instead)")
        with standin_platform() as (gw_url, ident_url, pids):
            result = run(gw_url, ident_url, pids=pids, mode="self-contained, stand-in", **kw)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(
        orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() if args.json else report(result)
    )
    rep = Report("gateway_bench")
    direct_rps, gateway_rps = result["direct"]["rps"], result["gateway"]["rps"]
    if "bare" in result:
        rep.figure("bare FastAPI+asyncpg GET /users/me", result["bare"]["rps"], "req/s")
        rep.target(
            "identity GET /users/me / bare app (median)",
            result["ratio_bare"],
            ">=",
            TARGET_SERVICE_RATIO,
            "x",
            anchor=("bare FastAPI+asyncpg", result["bare"]["rps"]),
            note=f"identity {direct_rps:.0f} req/s",
        )
    else:
        rep.note(f"no bare-app anchor in {result['mode']} mode (it needs the database)")
    rep.figure("identity GET /users/me direct", direct_rps, "req/s")
    rep.target(
        "gateway / direct (median of rounds)",
        result["ratio"],
        ">=",
        TARGET_GATEWAY_RATIO,
        "x",
        anchor=("direct", direct_rps),
        note=f"gateway {gateway_rps:.0f} req/s",
    )
    if "nginx" in result:
        rep.figure(
            "gateway GET /users/me",
            gateway_rps,
            "req/s",
            anchor=("nginx in front of identity", result["nginx"]["rps"]),
        )
        rep.note(f"gateway / nginx, median of the rounds: {result['ratio_nginx']:.2f}")
    else:
        rep.note(
            "nginx in front of the same service: not measured ("
            + (
                "not installed: apt-get install nginx-light"
                if result["mode"] != "running platform"
                else "only in the self-contained mode"
            )
            + ")"
        )
    return rep.finish()


if __name__ == "__main__":
    raise SystemExit(main())
