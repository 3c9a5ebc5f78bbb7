"""The web client: first load of the board page with 500 tasks in headless Chromium, time to
interactive (the 500th card on the page and the first one focused), against ``make run`` (found
where it listens: ``GATEWAY_URL``, else where ``make run`` puts it); and the size of the built
bundle. Target: p50 < 1.5 s on loopback.

**Anchor**, measured in the same run, in the same browser, before each load of the app: a bare
page (no framework, no bundle; answered by the browser on the gateway's origin) that fetches the
same board from the same gateway and puts its 500 tasks on the page as focusable cards, timed
the same way: what this machine and this browser take for the work itself. The report at the
end prints the p50 beside it with the ratio, and the target with met/missed ("missed" when it
could not run: no Node.js, Chromium or web build).

Needs Node.js, web/node_modules (``cd web && npm ci``), a built web/dist (``make run`` builds it)
and Chromium (``CHROMIUM``, default /usr/bin/chromium). ``--quick``: 2 loads of each instead of 5.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.harness import Report, gateway_url, quick

WEB = Path(__file__).resolve().parents[1] / "web"
TARGET_MS = 1500
TARGET = "board of 500 tasks: time to interactive p50"


def main() -> int:
    base = gateway_url()
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    rep = Report("web_bench")
    missing = None
    if shutil.which("node") is None or not Path(chromium).exists():
        missing = "needs Node.js and Chromium"
    elif not (WEB / "node_modules").is_dir():
        missing = "no web/node_modules (cd web && npm ci)"
    elif not (WEB / "dist" / "index.html").exists():
        missing = "no web/dist (make run builds it)"
    if missing:
        print(f"skipped: {missing}")
        rep.target(TARGET, float("nan"), "<", TARGET_MS, "ms", note=f"not measured: {missing}")
        return rep.finish()
    runs = os.environ.get("VC_RUNS", str(int(quick(5, 2))))
    proc = subprocess.run(
        ["node", "e2e/board-load.mjs"],
        cwd=WEB,
        env={**os.environ, "VC_BASE": base, "CHROMIUM": chromium, "VC_RUNS": runs},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"board-load failed:\n{proc.stdout}{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    p50 = result["p50"]
    print(f"board with {result['tasks']} tasks, time to interactive: p50 {p50} ms ", end="")
    print(f"(runs {result['tti_ms']}); anchor, a bare page: runs {result['anchor_ms']}")
    total = gz = 0
    for name, size in sorted(result["bundle"].items()):
        total += size["bytes"]
        gz += size["gzip"]
        print(f"  {name:40} {size['bytes'] / 1024:8.1f} KiB  gzip {size['gzip'] / 1024:7.1f} KiB")
    print(f"  {'bundle total':40} {total / 1024:8.1f} KiB  gzip {gz / 1024:7.1f} KiB")
    rep.target(
        TARGET,
        p50,
        "<",
        TARGET_MS,
        "ms",
        anchor=("bare page, the same board fetched", result["anchor_p50"]),
        note=f"{len(result['tti_ms'])} cold loads",
    )
    rep.note(f"bundle {total / 1024:.0f} KiB, gzip {gz / 1024:.0f} KiB (no anchor: a size)")
    return rep.finish()


if __name__ == "__main__":
    raise SystemExit(main())
