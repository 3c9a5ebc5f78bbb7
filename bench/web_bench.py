"""The web client: first load of the board page with 500 tasks in headless Chromium, time to
interactive (the 500th card on the page and the first one focused), against ``make run``
(``GATEWAY_URL``); and the size of the built bundle. Target: p50 < 1.5 s on loopback.

Needs Node.js, web/node_modules (``cd web && npm ci``), a built web/dist (``make run`` builds it)
and Chromium (``CHROMIUM``, default /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "web"
TARGET_MS = 1500


def main() -> None:
    base = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if shutil.which("node") is None or not Path(chromium).exists():
        print("skipped: needs Node.js and Chromium")
        return
    if not (WEB / "dist" / "index.html").exists():
        print("skipped: no web/dist (make run builds it)")
        return
    proc = subprocess.run(
        ["node", "e2e/board-load.mjs"],
        cwd=WEB,
        env={**os.environ, "VC_BASE": base, "CHROMIUM": chromium},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"board-load failed:\n{proc.stdout}{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    p50 = result["p50"]
    verdict = "ok" if p50 < TARGET_MS else "OVER TARGET"
    print(f"board with {result['tasks']} tasks, time to interactive: p50 {p50} ms ", end="")
    print(f"(runs {result['tti_ms']}), target < {TARGET_MS} ms: {verdict}")
    total = gz = 0
    for name, size in sorted(result["bundle"].items()):
        total += size["bytes"]
        gz += size["gzip"]
        print(f"  {name:40} {size['bytes'] / 1024:8.1f} KiB  gzip {size['gzip'] / 1024:7.1f} KiB")
    print(f"  {'bundle total':40} {total / 1024:8.1f} KiB  gzip {gz / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
