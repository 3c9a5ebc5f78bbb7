"""``make test``: every test suite, each package in its own pytest process.

One process per package, because each service's tests bind session-scoped fixtures (its own
database, migrated to its own head) that must not leak into the next service's tests. Two
packages run at a time on this 2-core machine. Prints each package's result, then one closing
line ``N passed, N failed`` for the whole run; exits non-zero if any package failed or collected
no test (pytest's exit code 5 is a failure here, never a silent success).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    suite: str
    code: int
    passed: int
    failed: int
    skipped: int
    seconds: float
    output: str


def suites() -> list[Path]:
    found = [
        ROOT / "tests",
        ROOT / "libs/common/tests",
        ROOT / "gateway/tests",
        *sorted((ROOT / "services").glob("*/tests")),
        *sorted((ROOT / "tools").glob("*/tests")),
    ]
    return [p for p in found if p.is_dir()]


def run(suite: Path, extra: list[str], workdir: Path) -> Result:
    name = str(suite.relative_to(ROOT))
    junit = workdir / (name.replace("/", "_") + ".xml")
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--import-mode=importlib",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            str(suite),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    passed = failed = skipped = 0
    if junit.exists():
        for ts in ET.parse(junit).getroot().iter("testsuite"):
            tests = int(ts.get("tests", 0))
            f = int(ts.get("failures", 0)) + int(ts.get("errors", 0))
            s = int(ts.get("skipped", 0))
            failed += f
            skipped += s
            passed += tests - f - s
    return Result(
        name,
        proc.returncode,
        passed,
        failed,
        skipped,
        time.perf_counter() - started,
        proc.stdout + proc.stderr,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, s, args.pytest_args, Path(tmp)) for s in suites()]
        for fut in futures:
            r = fut.result()
            results.append(r)
            verdict = {0: "ok", 5: "NO TESTS"}.get(r.code, f"FAILED (exit {r.code})")
            print(
                f"{r.suite:32} {verdict:18} {r.passed:4} passed {r.failed:3} failed "
                f"{r.skipped:3} skipped  {r.seconds:6.1f}s",
                flush=True,
            )
            if r.code != 0:
                print(r.output[-12000:], flush=True)
    bad = [r for r in results if r.code != 0]
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results) + sum(1 for r in bad if r.failed == 0)
    skipped = sum(r.skipped for r in results)
    if bad:
        print("failing suites: " + ", ".join(r.suite for r in bad))
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if bad or passed == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
