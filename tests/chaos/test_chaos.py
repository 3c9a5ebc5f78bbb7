"""Faults through the real processes under a steady workload (tests/chaos/harness.py): every
fault loses nothing and counts nothing twice in analytics, and the platform recovers by itself.

The short form (in `make test`) runs on the suite's NATS platform, after every other test on it:
it kills tasks (with its outbox relay) and the broker. ``make chaos`` runs the long form
(``CHAOS_FORM=long``) on a platform of its own: a baseline, then tasks, focus, analytics (the
consumer), the broker and PostgreSQL, one after another. ``CHAOS_FAULTS=tasks,postgres`` picks
the faults, ``CHAOS_WARM`` the seconds of workload before each.

Embedded NATS only: the RabbitMQ a RabbitMQ platform uses is the machine's, shared with every
other engineer's tests, so it is not ours to kill (the service, consumer and PostgreSQL faults do
not depend on the bus, and tests/e2e runs every flow on both buses).
"""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.chaos.harness import FAULTS, TIMEOUT, Chaos, Row, Workload, build_team, table
from tests.launch import ROOT, RUNNING, RunningPlatform, running_platform

LONG = os.environ.get("CHAOS_FORM", "short") == "long"
DEFAULT_FAULTS = "tasks,focus,analytics,nats,postgres" if LONG else "tasks,nats"
FAULT_KEYS = [k for k in os.environ.get("CHAOS_FAULTS", DEFAULT_FAULTS).split(",") if k]
WARM = float(os.environ.get("CHAOS_WARM", "20" if LONG else "4"))
TEAMS, MEMBERS = (3, 3) if LONG else (2, 2)
HOLD = (31.0, 75.0) if LONG else (20.0, 40.0)  # a focus session: 30 s and more count a minute
FINAL = "none (the workload stopped)"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def run_chaos(platform: RunningPlatform) -> list[Row]:
    unknown = set(FAULT_KEYS) - set(FAULTS)
    assert not unknown, f"unknown CHAOS_FAULTS {unknown}; known: {', '.join(FAULTS)}"
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=platform.base, timeout=TIMEOUT, limits=limits) as api:
        teams = [await build_team(api, f"chaos{i}", MEMBERS) for i in range(TEAMS)]
        probe = await build_team(api, "probe", 1)
        workload = Workload(api, teams, HOLD, also=[probe])
        chaos = Chaos(platform, api, workload, probe)
        workload.start()
        try:
            if LONG:
                await chaos.baseline(WARM)
            for key in FAULT_KEYS:
                row = await chaos.inject(key, WARM)
                print(f"chaos: {row}", flush=True)  # noqa: T201 - the progress of a long run
        finally:
            stopped = time.monotonic()
            await workload.stop()
        # the sessions the stop ended, and anything a late redelivery would still add
        await chaos.checkpoint(FINAL, stopped, None, None)
    return chaos.rows


def check(rows: list[Row]) -> None:
    report = table(rows)
    print("\n" + report, flush=True)  # noqa: T201 - the run's report
    faults = {f.name: f for f in FAULTS.values()}
    for row in rows:
        assert (row.lost, row.doubled) == (0, 0), f"{row.fault}: {row.note}\n{report}"
        fault = faults.get(row.fault)
        if fault is not None:
            assert row.api_s is not None, f"{row.fault}: the route did not recover\n{report}"
            if fault.flow:
                assert row.flow_s is not None, f"{row.fault}: no event flow again\n{report}"


@pytest.mark.skipif(LONG, reason="CHAOS_FORM=long runs test_chaos_long")
@pytest.mark.usefixtures("nats_only")
@pytest.mark.timeout(480)
async def test_chaos_short(platform: str) -> None:
    check(await run_chaos(RUNNING[platform]))


@pytest.mark.skipif(not LONG, reason="the long form: make chaos")
@pytest.mark.timeout(3600)
async def test_chaos_long() -> None:
    # PostgreSQL is killed on purpose: only its last stop must be clean
    log = ROOT / ".run" / "chaos-platform.log"
    # a long run is often started on a busy machine: ten minutes to come up
    with running_platform("nats", clean_stop=False, keep_log=log, within=600) as platform:
        rows = await run_chaos(platform)
    check(rows)
