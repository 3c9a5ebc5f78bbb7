"""Render docker-compose.yml and deploy/k8s/*.yaml from platform.toml, so that adding a service
to platform.toml is the only step: `uv run python deploy/render.py`. A test checks the rendered
files are current."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "ghcr.io/virtualcoworking/{name}:latest"


def load() -> dict:
    return tomllib.loads((ROOT / "platform.toml").read_text())


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
        "  JWKS_URL: http://identity:8000/.well-known/jwks.json",
        "  ENVIRONMENT: development",
    ]
    out += [f"  {name.upper()}_URL: http://{name}:8000" for name in services]
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
    for name, svc in services.items():
        ctx = "services/" + name
        migrate = f"alembic -c {ctx}/alembic.ini upgrade head && " if svc.get("database") else ""
        out += [
            f"  {name}:",
            f"    build: {{context: ., dockerfile: {ctx}/Dockerfile}}",
            "    environment: *env",
            '    command: [sh, -c, "python -m vc_common.createdb '
            f'{name} && {migrate}uvicorn --factory {svc["app"]} --host 0.0.0.0 --port 8000"]',
            "    depends_on: {postgres: {condition: service_healthy}, nats: {condition: "
            "service_started}, redis: {condition: service_started}}",
        ]
    out += [
        "  gateway:",
        "    build: {context: ., dockerfile: gateway/Dockerfile}",
        "    environment:",
        "      <<: *env",
        "      GATEWAY_HOST: 0.0.0.0",
        "      GATEWAY_PORT: '8000'",
        "    ports: ['8000:8000']",
        "    depends_on: [" + ", ".join(services) + "]",
    ]
    return "\n".join(out) + "\n"


def k8s_service(name: str, svc: dict, *, gateway: bool = False) -> str:
    app = svc.get("app", "")
    init = ""
    if svc.get("database"):
        init = f"""      initContainers:
        - name: migrate
          image: {IMAGE.format(name=name)}
          command: [sh, -c, "python -m vc_common.createdb {name} && alembic -c services/{name}/alembic.ini upgrade head"]
          envFrom: [{{configMapRef: {{name: vc-config}}}}, {{secretRef: {{name: vc-secrets}}}}]
"""
    command = (
        '["python", "-m", "gateway"]'
        if gateway
        else f'["uvicorn", "--factory", "{app}", "--host", "0.0.0.0", "--port", "8000"]'
    )
    probe_path = "/health" if gateway else "/readyz"
    live_path = "/livez"
    return f"""# Rendered by deploy/render.py from platform.toml; do not edit by hand.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: virtualcoworking}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app.kubernetes.io/name: {name}}}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: virtualcoworking}}
    spec:
{init}      containers:
        - name: {name}
          image: {IMAGE.format(name=name)}
          command: {command}
          ports: [{{name: http, containerPort: 8000}}]
          env:
            - {{name: SERVICE_NAME, value: {name}}}
            - {{name: GATEWAY_HOST, value: 0.0.0.0}}
            - {{name: GATEWAY_PORT, value: "8000"}}
          envFrom: [{{configMapRef: {{name: vc-config}}}}, {{secretRef: {{name: vc-secrets}}}}]
          readinessProbe: {{httpGet: {{path: {probe_path}, port: http}}, periodSeconds: 5}}
          livenessProbe: {{httpGet: {{path: {live_path}, port: http}}, periodSeconds: 10, failureThreshold: 6}}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels: {{app.kubernetes.io/name: {name}}}
spec:
  selector: {{app.kubernetes.io/name: {name}}}
  ports: [{{name: http, port: 8000, targetPort: http}}]
"""


def k8s_config(cfg: dict) -> str:
    urls = "\n".join(f"  {n.upper()}_URL: http://{n}:8000" for n in cfg["services"])
    return f"""# Rendered by deploy/render.py from platform.toml; do not edit by hand.
apiVersion: v1
kind: ConfigMap
metadata:
  name: vc-config
data:
  ENVIRONMENT: production
  EVENT_BUS_URL: nats://nats:4222
  JWKS_URL: http://identity:8000/.well-known/jwks.json
  OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4318
{urls}
---
# Fill in and apply separately (sealed-secrets or your vault): never commit real values.
apiVersion: v1
kind: Secret
metadata:
  name: vc-secrets
type: Opaque
stringData:
  DATABASE_URL: postgresql://vc:CHANGE-ME@postgres:5432/postgres
  REDIS_URL: redis://redis:6379/0
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: gateway
spec:
  rules:
    - http:
        paths:
          - {{path: /, pathType: Prefix, backend: {{service: {{name: gateway, port: {{number: 8000}}}}}}}}
"""


def render() -> dict[Path, str]:
    cfg = load()
    files = {
        ROOT / "docker-compose.yml": compose(cfg),
        ROOT / "deploy/k8s/00-config.yaml": k8s_config(cfg),
        ROOT / "deploy/k8s/gateway.yaml": k8s_service("gateway", cfg["gateway"], gateway=True),
    }
    for name, svc in cfg["services"].items():
        files[ROOT / f"deploy/k8s/{name}.yaml"] = k8s_service(name, svc)
    names = [p.name for p in files if p.parent.name == "k8s"]
    files[ROOT / "deploy/k8s/kustomization.yaml"] = (
        "# Rendered by deploy/render.py from platform.toml; do not edit by hand.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namespace: virtualcoworking\nresources:\n" + "".join(f"  - {n}\n" for n in sorted(names))
    )
    return files


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
