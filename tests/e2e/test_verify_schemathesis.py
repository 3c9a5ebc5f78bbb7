"""Every route, every bad input: schemathesis over the gateway's merged OpenAPI, against the
platform as `make run` starts it, signed in as the owner of a team that holds one of each
resource (their real ids fill the paths: tests/e2e/verify_hooks.py).

Checks: no 5xx, every status code documented, every body matching its documented schema, and
the documented Content-Type (problem+json for errors). The short form (a few examples per
operation) runs in `make test`; `make verify` sets ``VERIFY_EXAMPLES`` and ``VERIFY_PHASES`` for
the long one (boundary and negative values of every parameter, many more examples).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT
from tests.e2e.verify_world import World, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("nats_only")]

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
    )
)
EXAMPLES = os.environ.get("VERIFY_EXAMPLES", "3")
PHASES = os.environ.get("VERIFY_PHASES", "examples,fuzzing")


def _as_json(w: World) -> dict[str, object]:
    return {"owner": w.owner, "member": w.member, "ids": w.ids, "values": w.values}


@pytest.mark.timeout(3600)
async def test_schemathesis_finds_nothing(
    api: httpx.AsyncClient, platform: str, tmp_path: Path
) -> None:
    main = await build_world(api, "fuzz")
    doomed = await build_world(api, "doom", owner=main.owner)  # what the DELETEs delete
    world = tmp_path / "world.json"
    world.write_text(
        json.dumps({"base_url": platform, "main": _as_json(main), "doomed": _as_json(doomed)})
    )
    report = tmp_path / "report"
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{platform}/openapi.json",
        "--url",
        platform,
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES,
        "--phases",
        PHASES,
        "--workers",
        "2",
        "--no-shrink",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    if os.environ.get("VERIFY_SEED"):  # replay a run's data: the seed its summary printed
        cmd += ["--seed", os.environ["VERIFY_SEED"]]
    env = {
        **os.environ,
        "VC_VERIFY_WORLD": str(world),
        "SCHEMATHESIS_HOOKS": "tests.e2e.verify_hooks",
        "NO_COLOR": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        raw, _ = await asyncio.wait_for(proc.communicate(), timeout=3500)
    finally:
        await _logins_work_again(api, main)
    out = raw.decode(errors="replace")
    summary = out[out.find("=== SUMMARY ===") - 40 :] if "=== SUMMARY ===" in out else out[-4000:]
    print(summary)  # noqa: T201 - `make verify` shows the table
    tested = re.search(r"Tested: (\d+)", out)
    skipped = re.search(r"Skipped: (\d+)", out)  # e.g. nothing left to generate after filters
    operations = len(
        [
            m
            for item in (await api.get("/openapi.json")).json()["paths"].values()
            for m in item
            if m in ("get", "put", "post", "patch", "delete")
        ]
    )
    failures = out[out.find("=== FAILURES ===") :] if "=== FAILURES ===" in out else ""
    errors = out[out.find("=== ERRORS ===") :] if "=== ERRORS ===" in out else ""
    detail = (failures or errors or summary)[-20000:]  # an errored operation says why here
    assert tested is not None, detail
    assert int(tested.group(1)) + int(skipped.group(1) if skipped else 0) == operations, detail
    assert int(tested.group(1)) >= operations - 3, detail
    assert proc.returncode == 0, (failures or errors or out)[-20000:]


async def _logins_work_again(api: httpx.AsyncClient, world: World) -> None:
    """The fuzzer's logins count against the per-address login limit; the suites after this one
    sign in from the same address, so wait (at most a minute, the limit's window) for it."""
    for _ in range(70):
        r = await api.post(
            "/api/v1/auth/login",
            json={"username": world.owner["username"], "password": "correct horse battery staple"},
        )
        if r.status_code != 429:
            assert r.status_code == 200, r.text
            return
        await asyncio.sleep(1)
