"""``make lint``'s import rules, derived from the workspace so that no package goes unchecked.

Every workspace member's packages (its hatch ``packages``) are root packages, and:

- the services and the gateway never import each other (an independence contract over all of
  them: a new service is in it the moment it joins the workspace);
- ``vc_common`` (libs/common) imports none of the others;
- a member's published client (``services/<name>/client``, e.g. ``teams_client``) imports no
  service: it is what other services depend on.

``python tools/lint_imports.py`` writes the contracts to a temporary ``.importlinter`` file and
runs import-linter's ``lint-imports`` on it; ``--print`` only prints the file.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def members() -> list[Path]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[Path] = []
    for pattern in cfg["tool"]["uv"]["workspace"]["members"]:
        found += sorted(p for p in ROOT.glob(pattern) if (p / "pyproject.toml").is_file())
    return list(dict.fromkeys(found))


def packages(member: Path) -> list[str]:
    meta = tomllib.loads((member / "pyproject.toml").read_text())
    return [Path(p).name for p in meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]]


def contracts() -> str:
    services: list[str] = []
    clients: list[str] = []
    common: list[str] = []
    tools: list[str] = []
    for member in members():
        rel = member.relative_to(ROOT).parts
        names = packages(member)
        if rel[0] == "libs":
            common += names
        elif rel[0] == "tools":
            tools += names
        elif rel[-1] == "client":
            clients += names
        else:  # services/<name> and the gateway
            services += names
    roots = common + clients + services + tools

    def section(title: str, lines: list[str]) -> str:
        return f"[{title}]\n" + "\n".join(lines) + "\n"

    def listing(key: str, names: list[str]) -> list[str]:
        return [f"{key} =", *(f"    {n}" for n in names)]

    out = [
        section("importlinter", [*listing("root_packages", roots)]),
        section(
            "importlinter:contract:services-independent",
            [
                "name = Services and the gateway never import each other",
                "type = independence",
                *listing("modules", services),
            ],
        ),
        section(
            "importlinter:contract:common-imports-no-service",
            [
                "name = libs/common imports no service, client or tool",
                "type = forbidden",
                *listing("source_modules", common),
                *listing("forbidden_modules", clients + services + tools),
            ],
        ),
    ]
    if clients:
        out.append(
            section(
                "importlinter:contract:clients-import-no-service",
                [
                    "name = A published client imports no service",
                    "type = forbidden",
                    *listing("source_modules", clients),
                    *listing("forbidden_modules", services + tools),
                ],
            )
        )
    return "\n".join(out)


def main() -> int:
    text = contracts()
    if "--print" in sys.argv:
        print(text)
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".importlinter", delete=False) as f:
        f.write(text)
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        return subprocess.run([str(lint), "--config", f.name], cwd=ROOT, check=False).returncode
    finally:
        Path(f.name).unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
