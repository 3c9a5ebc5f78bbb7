"""Every service has the same files in the same places (the generator's shape), and none takes a
Starlette Request in its rules."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from vc_common.settings import package_name

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "tools/devrun/src/vc_devrun/templates/service"


def _services() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = tomllib.loads((ROOT / "platform.toml").read_text())[
        "services"
    ]
    return services


def _shape() -> set[str]:
    """The files the generator writes, apart from the first revision's name."""
    out = set()
    for tmpl in TEMPLATE.rglob("*.tmpl"):
        rel = tmpl.relative_to(TEMPLATE).with_suffix("").as_posix()
        if "/versions/" not in rel and not rel.startswith("tests/"):
            out.add(rel)
    return out


def test_every_service_has_the_generated_shape() -> None:
    shape = _shape()
    assert "src/__pkg__/permissions.py" in shape
    for name in _services():
        base = ROOT / "services" / name
        pkg = package_name(name)
        for rel in shape:
            path = base / rel.replace("__pkg__", pkg)
            assert path.is_file(), f"services/{name}: {path.relative_to(base)} is missing"
        assert any((base / "src" / pkg / "migrations" / "versions").glob("0001_*.py"))
        assert (base / "tests" / "test_migrations.py").is_file() or any(
            "check_migrations" in p.read_text() for p in (base / "tests").rglob("*.py")
        ), f"services/{name}: no migration test"
        assert not (base / "Dockerfile").exists()
        assert not (base / "alembic.ini").exists()


def test_rules_never_take_a_request() -> None:
    """Service functions take a Context, so endpoints, consumers and jobs call the same rules."""
    pattern = re.compile(r"\b\w+\s*:\s*(?:fastapi\.|starlette\.\w+\.)?Request\b")
    for name in _services():
        for path in (ROOT / "services" / name / "src").rglob("*.py"):
            if path.name in {"endpoints.py", "deps.py"} or "migrations" in path.parts:
                continue
            found = pattern.findall(path.read_text())
            assert not found, f"{path.relative_to(ROOT)} takes a Request: {found}"


def test_one_authorization_style() -> None:
    """Who may do what is the permission table checked with ctx.authorize: no endpoint-level
    membership dependencies, no compatibility layer."""
    for path in ROOT.glob("services/**/src/**/*.py"):
        text = path.read_text()
        for old in ("teams_client.compat", "require_membership", "TeamAdmin", "TeamMember]"):
            assert old not in text, f"{path.relative_to(ROOT)} uses {old}"
