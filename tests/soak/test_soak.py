"""Sustained load (tests/soak/harness.py): a mixed workload through the gateway, every process of
the platform sampled from /proc; no unexpected answer and no growth past the bounds it prints.

The short form (in `make test`, ``SOAK_SECONDS`` 50 by default) runs on the suite's NATS
platform after every other test on it, before the chaos run; ``make soak`` runs the long form
(``SOAK_FORM=long``, 600 s unless ``SOAK_SECONDS`` says otherwise) on a platform of its own.
Bounds: ``SOAK_RSS_MIB`` (RSS growth of a process after the warm-up), ``SOAK_FDS`` (open fds,
either way).
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from tests.launch import ROOT, RUNNING, RunningPlatform, running_platform
from tests.soak.harness import Sampler, build_world, growth, soak, table

LONG = os.environ.get("SOAK_FORM", "short") == "long"
SECONDS = float(os.environ.get("SOAK_SECONDS", "600" if LONG else "50"))
WARMUP = max(10.0, SECONDS * 0.2)  # the first fifth: pools fill, caches warm, code paths load
RSS_BOUND = float(os.environ.get("SOAK_RSS_MIB", "40" if LONG else "25"))
FD_BOUND = int(os.environ.get("SOAK_FDS", "10"))
TEAMS, MEMBERS = 2, 3

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def run_soak(platform: RunningPlatform) -> None:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=platform.base, timeout=15, limits=limits) as api:
        world = await build_world(api, TEAMS, MEMBERS)
        sampler = Sampler(platform, every=2.0 if SECONDS < 120 else 5.0)
        started = time.monotonic()
        until = started + SECONDS
        await asyncio.gather(soak(world, SECONDS), sampler.run(until))
    rows = [growth(p, started + WARMUP) for p in sampler.procs]
    report = table(rows, RSS_BOUND, FD_BOUND)
    print(  # noqa: T201 - the run's report
        f"\nsoak: {SECONDS:.0f} s, {world.requests} requests "
        f"({world.requests / SECONDS:.1f}/s), {len(world.failures)} unexpected answers, "
        f"socket frames {world.frames}; growth after a {WARMUP:.0f} s warm-up, bounds: RSS "
        f"+{RSS_BOUND:g} MiB, fds ±{FD_BOUND}\n{report}",
        flush=True,
    )
    assert not world.failures, world.failures[:20]
    assert all(n > 0 for n in world.frames.values()), world.frames
    over = [
        r for r in rows if r.gone or r.rss_growth_mib > RSS_BOUND or abs(r.fds_growth) > FD_BOUND
    ]
    assert not over, f"past the bounds:\n{report}"


@pytest.mark.skipif(LONG, reason="SOAK_FORM=long runs test_soak_long")
@pytest.mark.usefixtures("nats_only")
@pytest.mark.timeout(420)
async def test_soak_short(platform: str) -> None:
    await run_soak(RUNNING[platform])


@pytest.mark.skipif(not LONG, reason="the long form: make soak")
@pytest.mark.timeout(3600 * 4)
async def test_soak_long() -> None:
    log = ROOT / ".run" / "soak-platform.log"
    # a long run is often started on a busy machine: ten minutes to come up
    with running_platform("nats", keep_log=log, within=600) as platform:
        await run_soak(platform)
