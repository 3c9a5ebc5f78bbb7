"""The web client's own checks, from `make test`: its unit tests (Vitest: token refresh,
optimistic moves and their rollback, the live socket's resume), the TypeScript compiler over
every screen, and the generated API client against what the services declare today (stale
when a service changed its API and nobody ran `cd web && npm run gen`).

Needs Node.js 20+ (skipped, saying so, without it); installs web/node_modules with `npm ci`
when they are missing or older than package-lock.json.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NPM is None or shutil.which("node") is None,
    reason="Node.js 20+ and npm are needed for the web client's checks (https://nodejs.org)",
)


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, *args],
        cwd=WEB,
        env={**os.environ, "CI": "1", "NO_UPDATE_NOTIFIER": "1", "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    lock = WEB / "package-lock.json"
    installed = WEB / "node_modules" / ".package-lock.json"
    # the lock `make run`'s build step takes (vc_devrun.webbuild): never two `npm ci` at once
    with (WEB / ".build-lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            r = npm("ci", "--prefer-offline", "--no-audit", "--no-fund", timeout=600)
            assert r.returncode == 0, r.stdout + r.stderr


def test_unit_tests() -> None:
    r = npm("test")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    summary = out.split("Tests")[-1]
    assert " passed" in summary, out
    assert "failed" not in summary, out


def test_the_screens_typecheck_against_the_generated_client() -> None:
    r = npm("run", "typecheck")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_generated_client_matches_the_services() -> None:
    """docs/api/openapi.json is what the gateway's merge makes of the services' documents now, and
    web/src/api/schema.d.ts is openapi-typescript's output for it."""
    r = npm("run", "gen:check")
    assert r.returncode == 0, (
        r.stdout + r.stderr + "\nthe API changed: run `cd web && npm run gen` and commit the result"
    )
