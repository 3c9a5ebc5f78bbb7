"""Gateway overhead: an authenticated ``GET /api/v1/users/me`` through the gateway and directly
against identity, side by side, in one run: requests per second, p50 and p99 latency, and the
ratio gateway/direct (the target is >= 0.80).

Against a running platform (``make run``)::

    python -m bench.gateway_bench --gateway http://127.0.0.1:8000 --identity http://127.0.0.1:8101

It registers a bench user (``POST /api/v1/auth/register``), logs in (``POST /api/v1/auth/login``)
and loads both URLs with the same bearer token. Give the gateway rate limits that a benchmark does
not trip (``GATEWAY_RATE_PER_USER=off GATEWAY_RATE_PER_IP=off``) and ``GATEWAY_ACCESS_LOG=0``.

Standalone (``--standin``): starts a stand-in identity (FastAPI under uvicorn: register, login with
real Ed25519 access tokens, ``users/me`` verifying them with vc_common's TokenVerifier, JWKS,
readyz) and the real gateway (``python -m gateway``) in front of it, then measures the same way.

Load comes from ``wrk`` when it is installed (``apt-get install -y wrk``), else from a
multi-process aiohttp load generator in this file: fixed concurrency, bounded duration, loopback.
"""

# No `from __future__ import annotations`: the stand-in FastAPI app resolves its annotations at
# definition time, inside standin_app().
import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

ME_PATH = "/api/v1/users/me"


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


# --- load generation ----------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(
    target: str, url: str, token: str, duration: float, connections: int, threads: int
) -> Result:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\b50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\b99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
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
) -> Result:
    if _get_status(url, {"Authorization": f"Bearer {token}"}) != 200:
        raise SystemExit(f"{url} does not answer 200 with the bench token")
    use_wrk = tool == "wrk" or (tool == "auto" and shutil.which("wrk"))
    if use_wrk:
        if warmup > 0:
            run_wrk(target, url, token, warmup, connections, threads)
        return run_wrk(target, url, token, duration, connections, threads)
    if warmup > 0:
        run_python_loadgen(target, url, token, warmup, connections, threads)
    return run_python_loadgen(target, url, token, duration, connections, threads)


def run(
    gateway_url: str = "http://127.0.0.1:8000",
    identity_url: str = "http://127.0.0.1:8101",
    *,
    duration: float = 10.0,
    connections: int = 50,
    threads: int = 1,
    tool: str = "auto",
    warmup: float = 2.0,
    token: str | None = None,
) -> dict[str, Any]:
    """Measure both targets with the same token; the figures and the ratio gateway/direct."""
    token = token or get_token(gateway_url)
    kw: dict[str, Any] = {
        "duration": duration,
        "connections": connections,
        "threads": threads,
        "tool": tool,
        "warmup": warmup,
    }
    direct = measure("direct", identity_url.rstrip("/") + ME_PATH, token, **kw)
    gateway = measure("gateway", gateway_url.rstrip("/") + ME_PATH, token, **kw)
    return {
        "direct": asdict(direct),
        "gateway": asdict(gateway),
        "ratio": gateway.rps / direct.rps if direct.rps else 0.0,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}, "
        f"Python {platform.python_version()}",
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(result: dict[str, Any]) -> str:
    lines = [
        f"GET {ME_PATH} (authenticated), machine: {result['machine']}",
        f"{'target':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}"
        "  load",
    ]
    for key in ("direct", "gateway"):
        r = result[key]
        lines.append(
            f"{key:<8} {r['rps']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['requests']:>9} {r['errors']:>7}  {r['tool']}"
        )
    lines.append(f"ratio gateway/direct: {result['ratio']:.2f} (target >= 0.80)")
    if result["direct"]["errors"] or result["gateway"]["errors"]:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _root() -> Path:
    return Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def standin_platform() -> Any:
    """Start the stand-in identity and the real gateway; yield (gateway_url, identity_url)."""
    ident_port, gw_port = _free_port(), _free_port()
    tmp = tempfile.TemporaryDirectory(prefix="gwbench-")
    cfg = Path(tmp.name) / "platform.toml"
    cfg.write_text(
        f'[gateway]\napp = "gateway.app:create_app"\nport = {gw_port}\n\n'
        f'[services.identity]\napp = "identity.app:create_app"\nport = {ident_port}\n'
        'routes = ["/api/v1/auth/**", "/api/v1/users/**", "/.well-known/jwks.json"]\n'
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
    env.pop("REDIS_URL", None)
    env.pop("IDENTITY_URL", None)
    ident = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.gateway_bench:standin_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(ident_port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=_root(),
    )
    gw = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=_root())
    try:
        wait_ready(f"http://127.0.0.1:{ident_port}/readyz")
        wait_ready(f"http://127.0.0.1:{gw_port}/health")
        yield f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{ident_port}"
    finally:
        for p in (gw, ident):
            p.terminate()
        for p in (gw, ident):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--identity", default=os.environ.get("IDENTITY_URL", "http://127.0.0.1:8101")
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per target")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads, or load generator processes"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--standin",
        action="store_true",
        help="start a stand-in identity and a gateway instead of using URLs",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    kw: dict[str, Any] = {
        "duration": args.duration,
        "connections": args.connections,
        "threads": args.threads,
        "tool": args.tool,
        "warmup": args.warmup,
    }
    if args.standin:
        with standin_platform() as (gw_url, ident_url):
            result = run(gw_url, ident_url, **kw)
    else:
        result = run(args.gateway, args.identity, **kw)
    print(
        orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() if args.json else report(result)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
