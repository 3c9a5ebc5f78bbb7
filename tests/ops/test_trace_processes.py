"""One trace across real processes: a registration sent to the gateway (``python -m gateway``)
goes to identity (uvicorn), whose outbox relay publishes ``identity.user.registered`` to NATS
JetStream (a nats-server of its own), which notifications (uvicorn) consumes. Every process
exports its spans over OTLP/HTTP to a collector this test runs (it speaks the real protocol:
protobuf ``ExportTraceServiceRequest`` on ``/v1/traces``), and the spans must form one trace:

    gateway SERVER -> identity SERVER -> identity.user.registered create (the outbox write)
        -> ... publish (identity's relay)      -> ... process (notifications' consumer)
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from vc_common.ports import free_port
from vc_common.testing.plugin import create_database, drop_database, wait_for

ROOT = Path(__file__).resolve().parents[2]
EVENT = "identity.user.registered"
SERVICES = ("identity", "notifications")


@dataclass
class Received:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent: str


class Collector:
    """A minimal OTLP/HTTP trace receiver."""

    def __init__(self) -> None:
        self.spans: list[Received] = []

    async def traces(self, request: web.Request) -> web.Response:
        body = ExportTraceServiceRequest.FromString(await request.read())
        for rs in body.resource_spans:
            attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    self.spans.append(
                        Received(
                            service=attrs.get("service.name", ""),
                            name=s.name,
                            kind=s.kind,
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent=s.parent_span_id.hex(),
                        )
                    )
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )


@pytest_asyncio.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    c = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", c.traces)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield c, port
    finally:
        await runner.cleanup()


@pytest.fixture
def run_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="vc-trace-") as d:
        yield Path(d)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _logs(where: Path) -> str:
    return "\n".join(f.read_text()[-3000:] for f in where.glob("*.log"))


async def _ready(url: str, procs: list[subprocess.Popen[bytes]], logs: Path) -> bool:
    for p in procs:
        if p.poll() is not None:
            raise AssertionError(f"{p.args!r} exited {p.returncode}:\n{_logs(logs)}")
    try:
        async with httpx.AsyncClient(timeout=2) as c:
            return (await c.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(420)  # five processes start; on a loaded machine that takes minutes
async def test_one_trace_across_gateway_service_broker_and_consumer(
    collector: tuple[Collector, int], run_dir: Path
) -> None:
    spans, otlp_port = collector
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    ports: dict[str, int] = {}
    for name in (*SERVICES, "gateway", "nats"):  # distinct: free_port() holds nothing
        ports[name] = free_port(avoid=set(ports.values()))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and k not in {"REDIS_URL", "EVENT_BUS_URL"}
    }
    env.update(
        {
            "ENVIRONMENT": "development",
            "PYTHONUNBUFFERED": "1",
            "VC_RUN_DIR": str(run_dir),
            "EVENT_BUS_URL": f"nats://127.0.0.1:{ports['nats']}",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export every 0.1 s, not every 5 s
            "JWKS_URL": f"http://127.0.0.1:{ports['identity']}/.well-known/jwks.json",
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_RATE_PER_IP": "off",
            "GATEWAY_RATE_PER_USER": "off",
            "PLATFORM_CONFIG": str(ROOT / "platform.toml"),
        }
    )
    names = {s: f"test_trace_{s}_{suffix}" for s in SERVICES}
    for s in SERVICES:
        env[f"{s.upper()}_DATABASE_URL"] = await create_database(names[s])
        env[f"{s.upper()}_URL"] = f"http://127.0.0.1:{ports[s]}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        nats = Path(sys.executable).parent / "nats-server"
        procs.append(
            _spawn(
                [
                    str(nats),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(ports["nats"]),
                    "-sd",
                    str(run_dir / "nats"),
                ],
                env,
                run_dir / "nats.log",
            )
        )
        for s in SERVICES:
            migrate = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "vc_common.migrations", s, "upgrade", "head"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr
            app = f"{s}.app:create_app"
            procs.append(
                _spawn(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        app,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(ports[s]),
                    ],
                    {**env, "SERVICE_NAME": s},
                    run_dir / f"{s}.log",
                )
            )
        procs.append(_spawn([sys.executable, "-m", "gateway"], env, run_dir / "gateway.log"))
        for s in SERVICES:
            url = f"http://127.0.0.1:{ports[s]}/readyz"

            def ready(url: str = url) -> Any:
                return _ready(url, procs, run_dir)

            await wait_for(ready, within=90, every=0.3)
        gw = f"http://127.0.0.1:{ports['gateway']}"
        await wait_for(lambda: _ready(f"{gw}/livez", procs, run_dir), within=60, every=0.3)
        username = f"tr{uuid.uuid4().hex[:8]}"
        async with httpx.AsyncClient(base_url=gw, timeout=15) as api:
            r = await api.post(
                "/api/v1/auth/register",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": "correct horse battery staple",
                },
            )
        assert r.status_code == 201, r.text

        async def chain() -> dict[str, Any] | None:
            got = spans.spans
            gateway = [s for s in got if s.service == "gateway" and "/auth/register" in s.name]
            if not gateway:
                return None
            trace = gateway[0].trace_id
            mine = [s for s in got if s.trace_id == trace]
            process = [s for s in mine if s.name == f"{EVENT} process"]
            publish = [s for s in mine if s.name == f"{EVENT} publish"]
            if not process or not publish:
                return None
            return {"gateway": gateway[0], "spans": mine, "process": process, "publish": publish}

        found = await wait_for(chain, within=60, every=0.2)
    finally:
        _stop(procs)
        for s in SERVICES:
            await drop_database(names[s])

    by_id = {s.span_id: s for s in found["spans"]}
    gateway_span = found["gateway"]
    assert gateway_span.kind == Span.SPAN_KIND_SERVER
    (identity_span,) = [
        s for s in found["spans"] if s.service == "identity" and s.kind == Span.SPAN_KIND_SERVER
    ]
    assert by_id[identity_span.parent] is gateway_span
    (create,) = [s for s in found["spans"] if s.name == f"{EVENT} create"]
    assert create.service == "identity"
    assert create.kind == Span.SPAN_KIND_PRODUCER
    assert by_id[create.parent] is identity_span
    for publish in found["publish"]:  # more than one when a late ack made the relay retry
        assert publish.service == "identity"
        assert by_id[publish.parent] is create
    (process,) = found["process"]
    assert process.service == "notifications"
    assert process.kind == Span.SPAN_KIND_CONSUMER
    assert by_id[process.parent] is create
    # the maintained SQLAlchemy instrumentation: identity's INSERTs are in the request's trace
    inserts = [
        s
        for s in found["spans"]
        if s.service == "identity" and s.kind == Span.SPAN_KIND_CLIENT and "INSERT" in s.name
    ]
    assert inserts, sorted({(s.service, s.name) for s in found["spans"]})
    assert all(s.parent for s in inserts)
