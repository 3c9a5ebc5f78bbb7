"""``make service NAME=calendar`` (``python -m vc_devrun new-service calendar``): a new service
in the house shape, registered everywhere, whose test suite passes untouched.

It writes ``services/<name>/`` from ``templates/service`` (pyproject, README, the package with
``app.py``, ``settings.py``, ``models.py``, ``permissions.py``, ``events.py``, ``consumers.py``,
its first migration, and tests of health, migrations and the permission table), then registers
it: a ``[services.<name>]`` table in platform.toml (the next free port of the 81xx range, a
database, no public routes yet), the root pyproject's workspace sources and ``dev`` group, the
lock (``uv lock``) and the rendered deployment files (``deploy/render.py``). The import rules and
the test runner find it from the workspace by themselves.

The package is the service's name, or ``vc_<name>`` when the standard library owns that name
(``calendar``): see ``vc_common.settings.package_name``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from vc_common.settings import package_name

TEMPLATES = Path(__file__).with_name("templates") / "service"
_NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")
FIRST_PORT = 8101


class ScaffoldError(Exception):
    pass


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ScaffoldError(f"unknown placeholder in template: {text[text.index('{{') :][:40]}")
    return text


def next_port(platform: dict[str, object]) -> int:
    services = platform.get("services", {})
    assert isinstance(services, dict)
    used = {int(s["port"]) for s in services.values()}
    port = FIRST_PORT
    while port in used:
        port += 1
    return port


def write_service(root: Path, name: str, description: str, port: int) -> list[Path]:
    pkg = package_name(name)
    values = {
        "name": name,
        "NAME": name.upper(),
        "pkg": pkg,
        "description": description,
        "port": str(port),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    target = root / "services" / name
    written = []
    for tmpl in sorted(TEMPLATES.rglob("*.tmpl")):
        rel = tmpl.relative_to(TEMPLATES).with_suffix("")
        dest = target / Path(*[pkg if part == "__pkg__" else part for part in rel.parts])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_render(tmpl.read_text(), values))
        written.append(dest)
    return written


def register_platform(root: Path, name: str, port: int) -> None:
    path = root / "platform.toml"
    text = path.read_text().rstrip("\n")
    text += (
        f'\n\n[services.{name}]\napp = "{package_name(name)}.app:create_app"\n'
        f"port = {port}\ndatabase = true\nroutes = []\n"
    )
    path.write_text(text)


def register_workspace(root: Path, name: str) -> None:
    path = root / "pyproject.toml"
    text = path.read_text()
    dist = f"vc-{name}"
    source = f"{dist} = {{ workspace = true }}\n"
    if source not in text:
        anchor = "vc-common = { workspace = true }\n"
        if anchor not in text:
            raise ScaffoldError("pyproject.toml: [tool.uv.sources] has no vc-common entry")
        text = text.replace(anchor, anchor + source, 1)
    entry = f'    "{dist}",\n'
    if entry not in text:
        anchor = '    "vc-common",\n'
        start = text.index("[dependency-groups]")
        at = text.index(anchor, start) + len(anchor)
        text = text[:at] + entry + text[at:]
    path.write_text(text)


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    for candidate in (Path(sys.executable).parents[2] / ".run/bootstrap/bin/uv",):
        if candidate.exists():
            return str(candidate)
    raise ScaffoldError("uv not found: run it through `make service NAME=...`")


def new_service(
    root: Path,
    name: str,
    description: str,
    *,
    uv: str | None = None,
    lock: bool = True,
    render: bool = True,
) -> list[Path]:
    if not _NAME.match(name):
        raise ScaffoldError("a service name is lowercase letters and digits, 2 to 31 characters")
    if (root / "services" / name).exists():
        raise ScaffoldError(f"services/{name} exists already")
    platform = tomllib.loads((root / "platform.toml").read_text())
    if name in platform.get("services", {}) or name == "gateway":
        raise ScaffoldError(f"{name} is in platform.toml already")
    port = next_port(platform)
    written = write_service(root, name, description, port)
    register_platform(root, name, port)
    register_workspace(root, name)
    if lock:
        uv_bin = uv or _uv()
        subprocess.run([uv_bin, "lock"], cwd=root, check=True)
        subprocess.run([uv_bin, "sync", "--frozen", "--all-packages"], cwd=root, check=True)
    if render:
        subprocess.run([sys.executable, str(root / "deploy/render.py")], cwd=root, check=True)
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():  # names of other lengths wrap lines differently
        target = str(root / "services" / name)
        subprocess.run([str(ruff), "check", "--fix", "-q", target], cwd=root, check=False)
        subprocess.run([str(ruff), "format", "-q", target], cwd=root, check=False)
    return written
