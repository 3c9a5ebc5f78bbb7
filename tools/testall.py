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
import tomllib
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
    failures: list[str]


def suites() -> list[Path]:
    """The repository's end-to-end suite, then each workspace member's ``tests`` folder (so a
    new member's suite runs without anyone listing it here)."""
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    found = [ROOT / "tests"]
    for pattern in members["members"]:
        found += sorted(p / "tests" for p in ROOT.glob(pattern) if (p / "pyproject.toml").exists())
    return [p for p in dict.fromkeys(found) if p.is_dir()]


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
    failures: list[str] = []
    if junit.exists():
        root = ET.parse(junit).getroot()
        for case in root.iter("testcase"):
            for bad in (*case.findall("failure"), *case.findall("error")):
                reason = (bad.get("message") or "").strip().splitlines()[:1]
                failures.append(
                    f"{case.get('classname', '')}::{case.get('name', '')}"
                    + (f": {reason[0][:300]}" if reason else "")
                )
        for ts in root.iter("testsuite"):
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
        failures,
    )


def main() -> int:
    # `--jobs N` is ours; everything else goes to every pytest as given, in order
    # (`make test PYTEST_ARGS="-k presence -x"`), a leading `--` allowed
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    args, rest = parser.parse_known_args()
    args.pytest_args = rest[1:] if rest[:1] == ["--"] else rest
    filtered = bool(args.pytest_args)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, s, args.pytest_args, Path(tmp)) for s in suites()]
        for fut in futures:
            r = fut.result()
            results.append(r)
            verdict = {0: "ok", 5: "NO TESTS" if not filtered else "none selected"}.get(
                r.code, f"FAILED (exit {r.code})"
            )
            print(
                f"{r.suite:32} {verdict:18} {r.passed:4} passed {r.failed:3} failed "
                f"{r.skipped:3} skipped  {r.seconds:6.1f}s",
                flush=True,
            )
            if r.code not in ((0, 5) if filtered else (0,)):
                print(r.output[-12000:], flush=True)
    # a suite that collects nothing fails, unless the caller's own options deselected it; then
    # only when nothing at all ran
    bad = [r for r in results if r.code != 0 and not (filtered and r.code == 5)]
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results) + sum(1 for r in bad if r.failed == 0)
    skipped = sum(r.skipped for r in results)
    if bad:
        # again at the very end, so a log cut to its tail still says which tests failed and why
        for r in bad:
            for line in r.failures:
                print(f"FAILED {r.suite}: {line}")
        print("failing suites: " + ", ".join(r.suite for r in bad))
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if bad or passed == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
