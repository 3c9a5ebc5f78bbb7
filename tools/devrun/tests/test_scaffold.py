"""``make service NAME=...``: the generated service is registered and its own suite passes
untouched (run here against the real PostgreSQL and the teams stand-in, as CI would)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from vc_devrun.scaffold import ScaffoldError, new_service

ROOT = Path(__file__).resolve().parents[3]


def _scratch(tmp_path: Path) -> Path:
    for name in ("platform.toml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "services").mkdir()
    return tmp_path


def test_a_new_service_is_registered_and_its_suite_passes(tmp_path: Path) -> None:
    root = _scratch(tmp_path)
    written = new_service(root, "queue", "Work queues.", lock=False, render=False)
    base = root / "services" / "queue"
    pkg = base / "src" / "vc_queue"  # the standard library owns `queue`
    for rel in (
        "app.py",
        "settings.py",
        "models.py",
        "permissions.py",
        "events.py",
        "consumers.py",
        "migrations/env.py",
        "migrations/versions/0001_initial.py",
    ):
        assert pkg / rel in written
    platform = tomllib.loads((root / "platform.toml").read_text())
    entry = platform["services"]["queue"]
    assert entry["app"] == "vc_queue.app:create_app"
    assert entry["database"] is True
    others = {s["port"] for n, s in platform["services"].items() if n != "queue"}
    assert entry["port"] not in others
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "vc-queue" in project["tool"]["uv"]["sources"]
    assert "vc-queue" in project["dependency-groups"]["dev"]
    for text in (p.read_text() for p in written):
        assert "{{" not in text

    env = {**os.environ, "PYTHONPATH": str(base / "src")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--import-mode=importlib",
            "-q",
            "-p",
            "no:cacheprovider",
            str(base / "tests"),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout


def test_names_are_checked(tmp_path: Path) -> None:
    root = _scratch(tmp_path)
    for bad in ("Calendar", "x", "my-service", "teams", "gateway"):
        with pytest.raises(ScaffoldError):
            new_service(root, bad, "", lock=False, render=False)
