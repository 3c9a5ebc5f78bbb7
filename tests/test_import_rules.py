"""The import rules (tools/lint_imports.py) cover every workspace member and hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import lint_imports  # noqa: E402


def test_every_member_is_under_the_rules() -> None:
    text = lint_imports.contracts()
    roots = text.split("[importlinter]")[1].split("[")[0]
    for member in lint_imports.members():
        for package in lint_imports.packages(member):
            assert f"    {package}\n" in roots, f"{package} ({member}) is not checked"
    independent = text.split("services-independent]")[1].split("\n[")[0]
    for service in ("identity", "teams", "tasks", "chat", "focus", "analytics", "gateway"):
        assert f"    {service}\n" in independent


def test_the_rules_hold() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools/lint_imports.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
