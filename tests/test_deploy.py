"""The deployment files are rendered from platform.toml and must stay current and valid."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_rendered_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/render.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_is_deployed_and_parses() -> None:
    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in cfg["services"]:
        assert name in compose["services"]
        docs = list(yaml.safe_load_all((ROOT / f"deploy/k8s/{name}.yaml").read_text()))
        kinds = {d["kind"] for d in docs}
        assert kinds == {"Deployment", "Service"}
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_service_has_its_files() -> None:
    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    for name, svc in cfg["services"].items():
        base = ROOT / "services" / name
        for f in ("pyproject.toml", "README.md", "Dockerfile"):
            assert (base / f).exists(), f"services/{name}/{f} is missing"
        if svc.get("database"):
            assert (base / "alembic.ini").exists()
