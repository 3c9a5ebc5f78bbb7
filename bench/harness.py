"""What every bench shares: figures beside their anchors, targets with "met"/"missed", exit codes.

A figure on this machine means little alone (2 cores shared with other work: the same code runs
2x faster on a calm minute than on a busy one). So every bench measures an *anchor* in the same
run, on the same machine, doing the same work with the least code that can do it (a bare FastAPI
+ asyncpg app, a raw nats-py JetStream publisher, ...), and prints the ratio beside the absolute
figure. A target is either absolute (``>= 8000 events/s``) or a ratio (``>= 0.7 of the anchor``);
both are printed with their verdict.

::

    report = Report("events")
    report.figure("nats raw publish+pull", 21000, "events/s")           # an anchor
    report.target("nats end to end", 9000, ">=", 8000, "events/s",
                  anchor=("nats raw publish+pull", 21000))              # absolute target
    report.ratio_target("nats e2e / raw", 9000, 21000, ">=", 0.5)       # ratio target
    return report.finish()                                              # 0 all met, 1 a miss

``python -m bench`` collects every bench's :class:`Report` (:data:`REPORTS`) and prints one
summary; it exits non-zero when any target was missed or any bench failed. ``--quick`` sets
:data:`QUICK`: benches shrink their counts and durations (figures are then only a smoke check).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: set by ``python -m bench --quick`` (or ``BENCH_QUICK=1``): small counts, short phases
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")

#: every Report finished in this process, in order (``python -m bench`` prints the summary)
REPORTS: list[Report] = []

_OPS = {
    ">=": lambda v, t: v >= t,
    ">": lambda v, t: v > t,
    "<=": lambda v, t: v <= t,
    "<": lambda v, t: v < t,
}


def quick(full: float, small: float) -> float:
    """``small`` in quick mode, else ``full``."""
    return small if QUICK else full


def ratio(value: float, anchor: float) -> float:
    """``value / anchor``; NaN when either is missing or the anchor is zero."""
    if not anchor or math.isnan(anchor) or math.isnan(value):
        return float("nan")
    return value / anchor


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def gateway_url() -> str:
    """Where a running platform's gateway listens: ``GATEWAY_URL``, else the port ``make run``
    uses (platform.toml's gateway port, moved by ``PORT_BASE`` / ``GATEWAY_PORT`` like
    ``make run`` moves it): never a hard-wired 8000."""
    url = os.environ.get("GATEWAY_URL")
    if url:
        return url.rstrip("/")
    try:
        from vc_devrun.config import find_config, load_config

        config = load_config(find_config(start=Path(__file__).resolve().parent))
        if config.gateway is not None:
            return f"http://127.0.0.1:{config.gateway.port}"
    except Exception:
        pass
    return (
        f"http://127.0.0.1:{os.environ.get('PORT_BASE') or os.environ.get('GATEWAY_PORT') or 8000}"
    )


def service_port(name: str, gateway: str | None = None) -> int | None:
    """Where ``make run`` puts service ``name`` beside the gateway at ``gateway`` (default
    :func:`gateway_url`): ``<NAME>_PORT``, else platform.toml's port moved as far as the gateway
    was (``PORT_BASE`` keeps every service's distance from the gateway); None when platform.toml
    does not say."""
    override = os.environ.get(f"{name.upper().replace('-', '_')}_PORT")
    if override:
        return int(override)
    try:
        from vc_devrun.config import find_config, load_config

        config = load_config(find_config(start=Path(__file__).resolve().parent), env={})
    except Exception:
        return None
    service = config.service(name)
    if service is None or config.gateway is None:
        return None
    moved = urlsplit(gateway or gateway_url()).port
    return service.port + (moved - config.gateway.port if moved else 0)


# --- what the benches of a running platform measure besides time --------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def listener_pid(port: int | None) -> int | None:
    """The process listening on 127.0.0.1/0.0.0.0:``port`` (this user's processes only)."""
    if port is None:
        return None
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        return int(pid)
    return None


def _pg_query(sql: str, url: str | None = None) -> tuple[Any, ...] | None:
    """One statement on the PostgreSQL server benches use (``url``, else ``DATABASE_URL``), on a
    connection of its own; its first row, or None when there is none or the server cannot be
    asked."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        return None
    try:
        import psycopg
        from vc_devrun.config import libpq_url

        with psycopg.connect(libpq_url(url), connect_timeout=5, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchone() if cur.description else None
    except Exception:
        return None


def pg_connections(url: str | None = None) -> tuple[int, int] | None:
    """(connections in use, max_connections) of the PostgreSQL server benches use, or None when
    it cannot be asked. A bench whose processes find no free slot fails with "too many clients
    already" (the seventh round lost three benches to it), so the runner prints it before each."""
    row = _pg_query(
        "SELECT count(*) FILTER (WHERE backend_type = 'client backend'),"
        " current_setting('max_connections')::int FROM pg_stat_activity",
        url,
    )
    return (int(row[0]), int(row[1])) if row is not None else None


def machine_times() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine so far, every core (``/proc/stat``; idle counts
    iowait too); (0, 0) when it cannot be read."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    if len(values) < 5:
        return 0, 0
    return sum(values[:8]), values[3] + values[4]


def busy_between(start: tuple[int, int], end: tuple[int, int]) -> float:
    """The share of the machine's CPU that was busy between two :func:`machine_times`."""
    total = end[0] - start[0]
    return 1.0 - (end[1] - start[1]) / total if total > 0 else float("nan")


def machine_busy(window: float = 2.0) -> float:
    """The share of the machine's CPU time (every core) that was busy over the next ``window``
    seconds; NaN when it cannot be read."""
    start = machine_times()
    time.sleep(window)
    return busy_between(start, machine_times())


def command_cpu_seconds(*names: str) -> dict[str, float]:
    """User + system CPU time so far of the processes named (``comm``) each of ``names``, by
    name, in one pass over ``/proc``: a broker (``beam.smp``, ``nats-server``) or PostgreSQL's
    backends (``postgres``; a backend that exited meanwhile takes its time with it)."""
    ticks = dict.fromkeys(names, 0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            if comm in ticks:
                ticks[comm] += _cpu_ticks(stat)
    return {name: t / TICKS for name, t in ticks.items()}


def settle(limit: float = 120.0, calm: float = 0.25, window: float = 2.0) -> tuple[float, float]:
    """Let the machine digest the previous bench before the next one measures: a PostgreSQL
    ``CHECKPOINT`` (what the last bench wrote is flushed now rather than during the next
    bench's phases), then wait until the CPU is less than ``calm`` busy over a ``window``, at
    most ``limit`` seconds. Returns (seconds waited, the last busy share).

    A full ``make bench`` ran every bench after events_bench's 1,000,000-event drains at half
    the ratios they reach alone (identity ``/users/me`` 0.45 of the bare app against 0.68-0.72,
    tasks 1.6-1.9x the CPU a request), though the machine looked idle between them."""
    started = time.perf_counter()
    _pg_query("CHECKPOINT")
    busy = float("nan")
    while time.perf_counter() - started < limit:
        busy = machine_busy(window)
        if not busy >= calm:  # NaN (cannot tell) counts as calm
            break
    return time.perf_counter() - started, busy


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far; NaN when it is not there."""
    if pid is None:
        return float("nan")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    return _cpu_ticks(stat) / TICKS


def _cpu_ticks(stat: str) -> int:
    """utime + stime of a ``/proc/<pid>/stat`` line, in clock ticks."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process now (``VmRSS`` of ``/proc/<pid>/status``), MiB; NaN when it
    is not there."""
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return float("nan")


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (nearest rank), in their unit; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def pct_ms(seconds: list[float], p: float) -> float:
    """:func:`pct` of durations in seconds, in milliseconds."""
    return pct(seconds, p) * 1000


async def http_ok(resp: Any, *expected: int) -> Any:
    """An httpx response's JSON body (``{}`` when empty); RuntimeError on any other status."""
    if resp.status_code not in expected:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url.path} answered "
            f"{resp.status_code}: {resp.text[:300]}"
        )
    return resp.json() if resp.content else {}


async def register_and_login(client: Any, prefix: str = "bench") -> dict[str, str]:
    """A new user registered and signed in through the gateway: its bearer header."""
    import uuid

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    password = "bench-" + uuid.uuid4().hex
    await http_ok(
        await client.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@bench.example", "password": password},
        ),
        201,
    )
    tokens = await http_ok(
        await client.post("/api/v1/auth/login", json={"username": name, "password": password}), 200
    )
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def scratch_database_main(prog: str, doc: str | None, run: Any, argv: list[str] | None) -> int:
    """``main`` of a bench that makes a scratch database on a PostgreSQL server:
    ``--database-url`` (default ``DATABASE_URL``), then ``asyncio.run(run(url))``."""
    import argparse
    import asyncio

    p = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server; a scratch database is created on it and dropped",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    code: int = asyncio.run(run(args.database_url))
    return code


async def read_json(resp: Any, *ok: int) -> Any:
    """An aiohttp response's JSON body; RuntimeError (with the body) on any other status."""
    import orjson

    body = await resp.read()
    if resp.status not in ok:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: {body[:300]!r}")
    return orjson.loads(body) if body else None


def do_nothing_consumer(*types: str, runs: bool, batch_size: int = 500) -> Any:
    """The anchor of a consumer bench: a ``Consumer`` whose handler of ``types`` does nothing, so
    ``handle_batch`` costs the inbox rows and the transaction only (the floor every consumer here
    pays). ``runs``: registered with ``on_batch`` (one call per run of a batch, like a set-based
    handler) rather than ``on`` (one call per event), to match the consumer it anchors."""
    from vc_common.events.consumer import Consumer

    anchor = Consumer("bench_anchor", batch_size=batch_size)

    async def nothing(ctx: Any, events: Any) -> None:
        del ctx, events

    (anchor.on_batch if runs else anchor.on)(*types)(nothing)
    return anchor


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    anchor: tuple[str, float] | None = None

    @property
    def ratio(self) -> float:
        return ratio(self.value, self.anchor[1]) if self.anchor else float("nan")

    def line(self) -> str:
        text = f"{self.name:<44} {_num(self.value):>10} {self.unit}"
        if self.anchor:
            text += f"   anchor {self.anchor[0]}: {_num(self.anchor[1])}  ratio {self.ratio:.2f}"
        return text


@dataclass
class Target:
    name: str
    value: float
    op: str
    threshold: float
    unit: str
    anchor: tuple[str, float] | None = None
    note: str = ""

    @property
    def met(self) -> bool:
        if math.isnan(self.value):
            return False
        return bool(_OPS[self.op](self.value, self.threshold))

    @property
    def verdict(self) -> str:
        return "met" if self.met else "missed"

    @property
    def margin(self) -> float:
        """How far from the threshold, as a fraction of it (+: on the good side)."""
        if not self.threshold or math.isnan(self.value):
            return float("nan")
        d = (self.value - self.threshold) / abs(self.threshold)
        return d if self.op in (">=", ">") else -d

    def line(self) -> str:
        text = (
            f"{self.name:<44} {_num(self.value):>10} {self.unit:<9} target {self.op} "
            f"{_num(self.threshold)}: {self.verdict}"
        )
        if not math.isnan(self.margin):
            text += f" ({self.margin:+.0%})"
        if self.anchor:
            text += f"   anchor {self.anchor[0]}: {_num(self.anchor[1])}"
            r = ratio(self.value, self.anchor[1])
            if self.unit != "x" and not math.isnan(r):
                text += f", ratio {r:.2f}"
        if self.note:
            text += f"   [{self.note}]"
        return text


def _num(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


@dataclass
class Report:
    """One bench's figures and targets."""

    bench: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_at_start: str = field(default_factory=loadavg)
    started: float = field(default_factory=time.perf_counter)

    def figure(
        self, name: str, value: float, unit: str, *, anchor: tuple[str, float] | None = None
    ) -> Figure:
        f = Figure(name, float(value), unit, anchor)
        self.figures.append(f)
        return f

    def target(
        self,
        name: str,
        value: float,
        op: str,
        threshold: float,
        unit: str,
        *,
        anchor: tuple[str, float] | None = None,
        note: str = "",
    ) -> Target:
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}")
        t = Target(name, float(value), op, float(threshold), unit, anchor, note)
        self.targets.append(t)
        return t

    def ratio_target(
        self,
        name: str,
        value: float,
        anchor_value: float,
        op: str,
        threshold: float,
        *,
        anchor_name: str = "anchor",
        note: str = "",
    ) -> Target:
        """A target on ``value / anchor_value`` (the figure that does not depend on load)."""
        return self.target(
            name,
            ratio(value, anchor_value),
            op,
            threshold,
            "x",
            anchor=(anchor_name, float(anchor_value)),
            note=note,
        )

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def missed(self) -> list[Target]:
        return [t for t in self.targets if not t.met]

    def render(self) -> str:
        lines = [f"-- {self.bench} (load average at start {self.load_at_start}, now {loadavg()})"]
        lines += ["   " + f.line() for f in self.figures]
        lines += ["   " + t.line() for t in self.targets]
        lines += ["   note: " + n for n in self.notes]
        return "\n".join(lines)

    def finish(self) -> int:
        """Print the report, register it for the summary; 0 when every target was met."""
        print(self.render(), flush=True)
        REPORTS.append(self)
        return 1 if self.missed else 0


def summary(reports: list[Report], failed: list[str]) -> tuple[str, int]:
    """The closing table of ``python -m bench`` and its exit code (non-zero: a target missed
    or a bench failed)."""
    lines = ["", "== summary (every target, met or missed)"]
    total = met = 0
    for r in reports:
        for t in r.targets:
            total += 1
            met += t.met
            lines.append(f"   [{r.bench}] {t.line()}")
    missing = {r.bench for r in reports if r.missed}
    for name in failed:
        why = (
            "targets missed (above)"
            if name in missing
            else "failed: did not finish or exited non-zero"
        )
        lines.append(f"   [{name}] {why}")
    broken = [name for name in failed if name not in missing]
    lines.append(
        f"== {met}/{total} targets met; {len(failed) - len(broken)} bench(es) missed a target, "
        f"{len(broken)} did not finish"
    )
    code = 0 if met == total and not failed else 1
    return "\n".join(lines), code
