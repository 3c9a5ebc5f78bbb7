"""Render docker-compose.yml and the Kubernetes manifests (deploy/k8s: the Kustomize base, the
``dev`` and ``prod`` overlays and each overlay fully rendered, see deploy/kube.py) from
platform.toml, so that adding a service to platform.toml is the only step:
`uv run python deploy/render.py` (`--check` fails when a rendered file is stale; a test runs it).

Every deployable is built from the one recipe, deploy/Dockerfile, with three build arguments
read from here: ``PACKAGE`` (the workspace member, ``vc-<name>``), ``SERVICE`` and ``START``
(the command the container runs). Compose and Kubernetes run exactly what the image holds:
tests/test_deploy.py checks the commands, migrations, ports and probes against the image layout.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kube  # deploy/kube.py: the manifests as data

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Rendered by deploy/render.py from platform.toml; do not edit by hand.\n"
PORT = 8000  # every container listens here (the Dockerfile's PORT and EXPOSE)


@dataclass(frozen=True)
class Deployable:
    name: str
    package: str  # the workspace member that the image installs
    start: str  # the container's command
    database: bool
    gateway: bool = False

    @property
    def migrate(self) -> str | None:
        return f"python -m vc_common.migrations {self.name} upgrade head" if self.database else None


def load() -> dict:
    return tomllib.loads((ROOT / "platform.toml").read_text())


def _package(directory: Path) -> str:
    return str(tomllib.loads((directory / "pyproject.toml").read_text())["project"]["name"])


def deployables(cfg: dict) -> list[Deployable]:
    out = [
        Deployable(
            name=name,
            package=_package(ROOT / svc.get("dir", f"services/{name}")),
            start=f"uvicorn --factory {svc['app']} --host 0.0.0.0 --port {PORT}",
            database=bool(svc.get("database")),
        )
        for name, svc in cfg["services"].items()
    ]
    out.append(
        Deployable(
            name="gateway",
            package=_package(ROOT / "gateway"),
            start="python -m gateway",
            database=False,
            gateway=True,
        )
    )
    return out


def _build(d: Deployable) -> str:
    return (
        "    build: {context: ., dockerfile: deploy/Dockerfile, args: "
        f'{{PACKAGE: {d.package}, SERVICE: {d.name}, START: "{d.start}"}}}}'
    )


def compose(cfg: dict) -> str:
    services = cfg["services"]
    out = [
        "# Rendered by deploy/render.py from platform.toml; do not edit by hand.",
        "# Needs a Docker engine: `docker compose up --build`. (`make run` needs none.)",
        "name: virtualcoworking",
        "x-env: &env",
        "  DATABASE_URL: postgresql://postgres:postgres@postgres:5432/postgres",
        "  EVENT_BUS_URL: nats://nats:4222",
        "  REDIS_URL: redis://redis:6379/0",
        f"  JWKS_URL: http://identity:{PORT}/.well-known/jwks.json",
        "  ENVIRONMENT: development",
    ]
    out += [f"  {name.upper()}_URL: http://{name}:{PORT}" for name in services]
    out += [
        "services:",
        "  postgres:",
        "    image: postgres:15",
        "    environment: {POSTGRES_PASSWORD: postgres}",
        "    healthcheck: {test: [CMD, pg_isready, -U, postgres], interval: 2s, retries: 30}",
        "  nats:",
        "    image: nats:2.10",
        "    command: [-js, -sd, /data]",
        "  redis:",
        "    image: redis:7",
    ]
    for d in deployables(cfg):
        if d.gateway:
            out += [
                "  gateway:",
                _build(d),
                "    environment:",
                "      <<: *env",
                "      GATEWAY_HOST: 0.0.0.0",
                f"      GATEWAY_PORT: '{PORT}'",
                f"      GATEWAY_METRICS_PORT: '{kube.METRICS_PORT}'  # not published: Prometheus only",
                f"    ports: ['{PORT}:{PORT}']",
                "    depends_on: [" + ", ".join(services) + "]",
            ]
            continue
        run = f"{d.migrate} && exec {d.start}" if d.migrate else f"exec {d.start}"
        out += [
            f"  {d.name}:",
            _build(d),
            "    environment: *env",
            f'    command: [sh, -c, "{run}"]',
            "    depends_on: {postgres: {condition: service_healthy}, nats: {condition: "
            "service_started}, redis: {condition: service_started}}",
        ]
    return "\n".join(out) + "\n"


def _yaml(docs: list[dict[str, Any]]) -> str:
    return HEADER + "---\n".join(yaml.safe_dump(d, sort_keys=False, width=100) for d in docs)


def workloads(cfg: dict) -> list[kube.Workload]:
    return [
        kube.Workload(
            name=d.name,
            command=d.start.split(),
            database=d.database,
            migrate=d.migrate.split() if d.migrate else None,
            gateway=d.gateway,
        )
        for d in deployables(cfg)
    ]


def k8s(cfg: dict) -> dict[Path, str]:
    """The Kustomize base and overlays, and each overlay fully rendered."""
    k = ROOT / "deploy/k8s"
    ws = workloads(cfg)
    base: dict[str, list[dict[str, Any]]] = {
        "config.yaml": kube.config(cfg["services"]),
        "nats.yaml": kube.nats(),
        "network-policies.yaml": kube.network_policies(),
    }
    for w in ws:
        base[f"{w.name}.yaml"] = kube.workload_docs(w)
    files = {k / "base" / name: _yaml(docs) for name, docs in base.items()}
    files[k / "base/kustomization.yaml"] = _yaml(
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": list(base),
            }
        ]
    )
    base_docs = [d for docs in base.values() for d in docs]
    names = [w.name for w in ws]
    for overlay in kube.overlays():
        where = k / "overlays" / overlay.name
        files[where / "kustomization.yaml"] = _yaml([kube.kustomization(overlay, names)])
        for name, patch in overlay.patches.items():
            files[where / name] = HEADER + yaml.safe_dump(patch.ops, sort_keys=False, width=100)
        for name, docs in overlay.resources.items():
            files[where / name] = _yaml(docs)
        files[k / "rendered" / f"{overlay.name}.yaml"] = _yaml(
            kube.build(base_docs, overlay, names)
        )
    return files


def render() -> dict[Path, str]:
    cfg = load()
    return {ROOT / "docker-compose.yml": compose(cfg), **k8s(cfg)}


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for path, text in render().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("stale, run `uv run python deploy/render.py`: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
