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
    env = {
        **os.environ,
        "VC_VERIFY_WORLD": str(world),
        "SCHEMATHESIS_HOOKS": "tests.e2e.verify_hooks",
        "NO_COLOR": "1",
    }
    operations = len(
        [
            m
            for item in (await api.get("/openapi.json")).json()["paths"].values()
            for m in item
            if m in ("get", "put", "post", "patch", "delete")
        ]
    )
    try:
        code, out = await _schemathesis(platform, tmp_path / "report", env, [])
        summary = _section(out, "SUMMARY") or out[-4000:]
        print(summary)  # noqa: T201 - `make verify` shows the table
        tested, skipped = _count(out, "Tested"), _count(out, "Skipped")
        failures, errors = _section(out, "FAILURES"), _section(out, "ERRORS")
        errored = _errored(errors)
        if code != 0 and not failures and 0 < len(errored) <= 3:
            # schemathesis's own generator has raised inside its strategies for one operation
            # once in a few CI runs (a traceback in schemathesis/generation, no request sent):
            # not a finding about the API. Those operations run again alone, on a new seed, and
            # must then pass; the first traceback is printed so it can be reported upstream.
            print("schemathesis errored on", errored, "- running them again:\n", errors[:6000])  # noqa: T201
            for label in errored:
                again_code, again = await _schemathesis(
                    platform, tmp_path / "again", env, ["--include-name", label]
                )
                assert again_code == 0, again[-20000:]
                assert _count(again, "Tested") == 1, again[-20000:]
            tested += len(errored)
            code, errors = 0, ""
    finally:
        await _logins_work_again(api, main)
    detail = (errors[:4000] + "\n...\n" + errors[-16000:]) if errors else (failures or summary)
    assert tested + skipped == operations, detail[-20000:]
    assert tested >= operations - 3, detail[-20000:]
    assert code == 0, (failures or errors or out)[-20000:]


async def _schemathesis(
    platform: str, report: Path, env: dict[str, str], extra: list[str]
) -> tuple[int, str]:
    """One schemathesis run over the gateway: its exit code and its output."""
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
        *extra,
    ]
    if os.environ.get("VERIFY_SEED") and not extra:  # replay a run's data: the seed it printed
        cmd += ["--seed", os.environ["VERIFY_SEED"]]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    raw, _ = await asyncio.wait_for(proc.communicate(), timeout=3500)
    assert proc.returncode is not None
    return proc.returncode, raw.decode(errors="replace")


def _section(out: str, name: str) -> str:
    """From schemathesis's ``=== NAME ===`` heading to the end of its output ('' if none)."""
    at = out.find(f"=== {name} ===")
    return out[max(at - 40, 0) :] if at >= 0 else ""


def _count(out: str, what: str) -> int:
    found = re.search(rf"{what}: (\d+)", out)
    return int(found.group(1)) if found else 0


def _errored(errors: str) -> list[str]:
    """The operations of the ERRORS section (``____ GET /path ____`` headings)."""
    labels = re.findall(r"^_+ ((?:GET|PUT|POST|PATCH|DELETE) \S+) _+$", errors, re.MULTILINE)
    return list(dict.fromkeys(labels))


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
