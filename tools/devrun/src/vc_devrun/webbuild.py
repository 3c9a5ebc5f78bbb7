"""The web client's build for ``make run``: ``npm ci`` and ``npm run build`` in ``web/`` when
Node.js is there, skipped when nothing it is built from changed since the last build.

The gateway serves ``web/dist`` at ``/`` (``gateway.web``). Without Node.js (or with
``VC_WEB_BUILD=off``) the API starts all the same, and the runner says how to get Node. A failed
build is reported with its last lines, never fatal: the API is still worth having. A lock file
keeps two runners (``make run`` and the end-to-end tests) from building at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

MIN_NODE = 20
# what the build reads; a change to any of them rebuilds
INPUTS = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json")
INPUT_DIRS = ("src", "public")
GET_NODE = (
    "Node.js 20+ is needed for the web client (the API starts without it): "
    "https://nodejs.org/en/download (or `apt-get install nodejs npm`, `brew install node`), "
    "then `make run` again"
)


def _files(web: Path) -> Iterator[Path]:
    for name in INPUTS:
        if (web / name).is_file():
            yield web / name
    for d in INPUT_DIRS:
        if (web / d).is_dir():
            yield from sorted(
                p for p in (web / d).rglob("*") if p.is_file() and ".test." not in p.name
            )


def digest(web: Path) -> str:
    """One hash of every input of the build (names and contents)."""
    h = hashlib.sha256()
    for path in _files(web):
        h.update(str(path.relative_to(web)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def node_major(node: str) -> int | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return None
    m = re.match(r"v(\d+)\.", out.strip())
    return int(m[1]) if m else None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _npm(npm: str, args: list[str], web: Path, env: Mapping[str, str]) -> tuple[bool, str]:
    proc = subprocess.run(
        [npm, *args],
        cwd=web,
        env={**env, "CI": "1", "NO_UPDATE_NOTIFIER": "1"},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0, (proc.stdout + proc.stderr)


def build_web(root: Path, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(state, message)``: state is ``built``, ``cached``, ``skipped``, ``no-node`` or
    ``failed``."""
    env = dict(os.environ if env is None else env)
    web = root / "web"
    if not (web / "package.json").is_file():
        return "skipped", "no web/ folder"
    if env.get("VC_WEB_BUILD", "").lower() in {"0", "off", "false", "no"}:
        return "skipped", "VC_WEB_BUILD=off"
    node, npm = (
        shutil.which("node", path=env.get("PATH")),
        shutil.which("npm", path=env.get("PATH")),
    )
    major = node_major(node) if node else None
    if node is None or npm is None or major is None:
        return "no-node", GET_NODE
    if major < MIN_NODE:
        return "no-node", f"Node.js {major} is too old. {GET_NODE}"
    with _locked(web / ".build-lock"):
        stamp = web / ".build-stamp"
        want = digest(web)
        built = (web / "dist" / "index.html").is_file() and stamp.is_file()
        if built and stamp.read_text().strip() == want:
            return "cached", "web/dist is up to date"
        lock = (
            (web / "package-lock.json").read_bytes()
            if (web / "package-lock.json").exists()
            else b""
        )
        lock_stamp = web / "node_modules" / ".vc-lock-stamp"
        lock_hash = hashlib.sha256(lock).hexdigest()
        if not lock_stamp.is_file() or lock_stamp.read_text().strip() != lock_hash:
            ok, out = _npm(npm, ["ci", "--prefer-offline", "--no-audit", "--no-fund"], web, env)
            if not ok:
                return "failed", "npm ci failed:\n" + out[-3000:]
            lock_stamp.parent.mkdir(exist_ok=True)
            lock_stamp.write_text(lock_hash)
        ok, out = _npm(npm, ["run", "build"], web, env)
        if not ok:
            return "failed", "npm run build failed:\n" + out[-3000:]
        stamp.write_text(want)
        return "built", "web/dist built"
