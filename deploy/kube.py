"""The Kubernetes manifests, as data: a Kustomize base (deploy/k8s/base) and two overlays
(deploy/k8s/overlays/dev, .../prod), all written by deploy/render.py from platform.toml, plus each
overlay fully rendered (deploy/k8s/rendered/<overlay>.yaml) by :func:`build`, a small Python
equivalent of ``kustomize build`` for exactly the transformers the overlays use (namespace,
images, JSON 6902 patches by kind or name, extra resources). tests/test_deploy.py validates the
rendered files against the Kubernetes schemas and, where a ``kubectl`` is installed, checks that
``kubectl kustomize`` of each overlay gives the same objects.

Why Kustomize and not a Helm chart: the variation between environments is small (replicas,
resources, image tags, one Secret, NATS clustering), plain YAML stays reviewable and diffable,
and ``kubectl apply -k`` needs no extra tool.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PORT = 8000  # every service container
METRICS_PORT = 9100  # the gateway's metrics (its API port is public, this one is not)
IMAGE = "ghcr.io/virtualcoworking/{name}"
PART_OF = {"app.kubernetes.io/part-of": "virtualcoworking"}
NATS_IMAGE = "nats:2.10-alpine"
# who may leave the namespace, and for what (everything else is denied)
EXTERNAL_EGRESS: dict[str, list[int]] = {
    "identity": [25, 465, 587],  # verification and password mails
    "notifications": [25, 465, 587],  # notification mails
    "integrations": [443],  # OAuth and the providers' APIs
    "meetings": [443],  # the video provider
    "files": [443],  # S3
}

Doc = dict[str, Any]


@dataclass(frozen=True)
class Workload:
    name: str
    command: list[str]
    database: bool
    migrate: list[str] | None
    gateway: bool = False


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, **PART_OF}


def _security() -> Doc:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def deployment(w: Workload) -> Doc:
    image = IMAGE.format(name=w.name) + ":latest"
    env_from = [{"configMapRef": {"name": "vc-config"}}, {"secretRef": {"name": "vc-secrets"}}]
    ports = [{"name": "http", "containerPort": PORT}]
    env = [{"name": "SERVICE_NAME", "value": w.name}]
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(METRICS_PORT if w.gateway else PORT),
        "prometheus.io/path": "/metrics",
    }
    if w.gateway:
        ports.append({"name": "metrics", "containerPort": METRICS_PORT})
        env += [
            {"name": "GATEWAY_HOST", "value": "0.0.0.0"},
            {"name": "GATEWAY_PORT", "value": str(PORT)},
            {"name": "GATEWAY_METRICS_PORT", "value": str(METRICS_PORT)},
            {"name": "GATEWAY_WORKERS", "value": "1"},  # scale pods, not workers (one registry)
        ]
    container: Doc = {
        "name": w.name,
        "image": image,
        "command": w.command,
        "ports": ports,
        "env": env,
        "envFrom": env_from,
        "startupProbe": {
            "httpGet": {"path": "/livez", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 30,
        },
        # readiness: this pod's own database and broker only, never other services (a
        # readiness chained across services takes everything out of rotation at once)
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 4,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/livez", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 6,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "192Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": _security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod: Doc = {
        "serviceAccountName": "virtualcoworking",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if w.migrate:
        # Every pod brings its database to head before it starts (alembic's upgrade is a no-op
        # at head; two pods starting at once: one fails on the other's DDL, restarts, finds head)
        pod["initContainers"] = [
            {
                "name": "migrate",
                "image": image,
                "command": w.migrate,
                "envFrom": env_from,
                "env": [{"name": "SERVICE_NAME", "value": w.name}],
                "resources": {
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                    "limits": {"memory": "256Mi"},
                },
                "securityContext": _security(),
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }
        ]
    pod_labels = {
        **_labels(w.name),
        "vc.io/database": str(w.database).lower(),
        "vc.io/broker": str(not w.gateway).lower(),
        "vc.io/ingress": str(w.gateway).lower(),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": w.name, "labels": _labels(w.name)},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": w.name}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": pod,
            },
        },
    }


def service(w: Workload) -> Doc:
    ports: list[Doc] = [{"name": "http", "port": PORT, "targetPort": "http"}]
    if w.gateway:
        ports.append({"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": w.name, "labels": _labels(w.name)},
        "spec": {"selector": {"app.kubernetes.io/name": w.name}, "ports": ports},
    }


def hpa(w: Workload) -> Doc:
    """CPU autoscaling: the HTTP side keeps no state of its own (PostgreSQL, Redis, the broker
    hold it). NATS durable consumers share their deliveries between replicas (see
    vc_common.events.consumer on per-subject order)."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": w.name, "labels": _labels(w.name)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name},
            "minReplicas": 2,
            "maxReplicas": 6,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def pdb(name: str) -> Doc:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": _labels(name)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        },
    }


def workload_docs(w: Workload) -> list[Doc]:
    return [deployment(w), service(w), hpa(w), pdb(w.name)]


def config(services: Iterable[str]) -> list[Doc]:
    data = {
        "ENVIRONMENT": "production",
        "LOG_JSON": "true",
        "EVENT_BUS_URL": "nats://nats:4222",
        "JWKS_URL": f"http://identity:{PORT}/.well-known/jwks.json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.monitoring:4318",
        "PLATFORM_CONFIG": "/app/platform.toml",
        **{f"{n.upper()}_URL": f"http://{n}:{PORT}" for n in services},
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vc-config"}, "data": data},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "virtualcoworking", "labels": PART_OF},
            "automountServiceAccountToken": False,
        },
    ]


def nats() -> list[Doc]:
    """NATS JetStream: one node in the base (dev), a three-node cluster in prod (the overlay
    patches replicas and the cluster arguments). Streams live on the PersistentVolume."""
    labels = _labels("nats")
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nats", "labels": labels},
            "spec": {
                "selector": {"app.kubernetes.io/name": "nats"},
                "ports": [{"name": "client", "port": 4222, "targetPort": "client"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nats-headless", "labels": labels},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": {"app.kubernetes.io/name": "nats"},
                "ports": [
                    {"name": "client", "port": 4222, "targetPort": "client"},
                    {"name": "cluster", "port": 6222, "targetPort": "cluster"},
                    {"name": "monitor", "port": 8222, "targetPort": "monitor"},
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "nats", "labels": labels},
            "spec": {
                "serviceName": "nats-headless",
                "replicas": 1,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": {"app.kubernetes.io/name": "nats"}},
                "template": {
                    "metadata": {"labels": {**labels, "vc.io/broker-server": "true"}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1000,
                            "fsGroup": 1000,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "nats",
                                "image": NATS_IMAGE,
                                "args": ["-js", "-sd", "/data", "-m", "8222"],
                                "env": [
                                    {
                                        "name": "POD_NAME",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                    }
                                ],
                                "ports": [
                                    {"name": "client", "containerPort": 4222},
                                    {"name": "cluster", "containerPort": 6222},
                                    {"name": "monitor", "containerPort": 8222},
                                ],
                                "readinessProbe": {
                                    "httpGet": {
                                        "path": "/healthz?js-enabled-only=true",
                                        "port": "monitor",
                                    },
                                    "periodSeconds": 5,
                                },
                                "livenessProbe": {
                                    "httpGet": {
                                        "path": "/healthz?js-enabled-only=true",
                                        "port": "monitor",
                                    },
                                    "periodSeconds": 10,
                                    "failureThreshold": 6,
                                },
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "256Mi"},
                                    "limits": {"memory": "1Gi"},
                                },
                                "securityContext": _security(),
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            }
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        },
        pdb("nats"),
    ]


def _policy(name: str, spec: Doc) -> Doc:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": PART_OF},
        "spec": spec,
    }


def _pods(**labels: str) -> Doc:
    return {"podSelector": {"matchLabels": labels}}


MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
ANYWHERE = {"ipBlock": {"cidr": "0.0.0.0/0"}}


def network_policies() -> list[Doc]:
    """Deny by default; then: the gateway from anywhere (the Ingress controller) on its API port;
    services only from the platform's own pods; Prometheus (namespace ``monitoring``) to the
    metrics ports; PostgreSQL only from pods with a database, NATS only from pods that use the
    broker; DNS and Redis for all; the few external endpoints for the services that call out."""
    platform = _pods(**PART_OF)
    tcp = "TCP"
    policies = [
        _policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "gateway-ingress",
            {
                "podSelector": {"matchLabels": {"vc.io/ingress": "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": PORT, "protocol": tcp}]}],
            },
        ),
        _policy(
            "services-ingress",
            {
                "podSelector": {"matchLabels": {**PART_OF, "vc.io/ingress": "false"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [platform], "ports": [{"port": PORT, "protocol": tcp}]}],
            },
        ),
        _policy(
            "metrics-ingress",
            {
                "podSelector": {"matchLabels": PART_OF},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [MONITORING],
                        "ports": [
                            {"port": PORT, "protocol": tcp},
                            {"port": METRICS_PORT, "protocol": tcp},
                            {"port": 8222, "protocol": tcp},
                        ],
                    }
                ],
            },
        ),
        _policy(
            "nats-ingress",
            {
                "podSelector": {"matchLabels": {"vc.io/broker-server": "true"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_pods(**{"vc.io/broker": "true"})],
                        "ports": [{"port": 4222, "protocol": tcp}],
                    },
                    {
                        "from": [_pods(**{"vc.io/broker-server": "true"})],
                        "ports": [{"port": 6222, "protocol": tcp}],
                    },
                ],
            },
        ),
        _policy(
            "platform-egress",
            {
                "podSelector": {"matchLabels": PART_OF},
                "policyTypes": ["Egress"],
                "egress": [
                    {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": tcp}]},
                    {"to": [platform], "ports": [{"port": PORT, "protocol": tcp}]},
                    {"ports": [{"port": 6379, "protocol": tcp}]},  # Redis (managed or in-cluster)
                    {"to": [MONITORING], "ports": [{"port": 4318, "protocol": tcp}]},  # OTLP
                ],
            },
        ),
        _policy(
            "database-egress",
            {
                "podSelector": {"matchLabels": {"vc.io/database": "true"}},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": 5432, "protocol": tcp}]}],
            },
        ),
        _policy(
            "broker-egress",
            {
                "podSelector": {"matchLabels": {"vc.io/broker": "true"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [_pods(**{"vc.io/broker-server": "true"})],
                        "ports": [{"port": 4222, "protocol": tcp}],
                    }
                ],
            },
        ),
        _policy(
            "nats-cluster-egress",
            {
                "podSelector": {"matchLabels": {"vc.io/broker-server": "true"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": tcp}]},
                    {
                        "to": [_pods(**{"vc.io/broker-server": "true"})],
                        "ports": [{"port": 6222, "protocol": tcp}],
                    },
                ],
            },
        ),
    ]
    for name, ports in EXTERNAL_EGRESS.items():
        policies.append(
            _policy(
                f"{name}-external-egress",
                {
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [ANYWHERE], "ports": [{"port": p, "protocol": tcp} for p in ports]}
                    ],
                },
            )
        )
    return policies


# --- overlays ------------------------------------------------------------------------------------


@dataclass
class Patch:
    """A JSON 6902 patch for every object of ``kind`` (and ``name``, when given)."""

    kind: str
    ops: list[Doc]
    name: str | None = None

    def kustomize(self, file: str) -> Doc:
        target: Doc = {"kind": self.kind}
        if self.name:
            target["name"] = self.name
        return {"path": file, "target": target}


@dataclass
class Overlay:
    name: str
    namespace: str
    tag: str
    patches: dict[str, Patch] = field(default_factory=dict)  # file name -> patch
    resources: dict[str, list[Doc]] = field(default_factory=dict)  # file name -> objects


def _secret(values: dict[str, str]) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "vc-secrets"},
        "type": "Opaque",
        "stringData": values,
    }


def overlays() -> list[Overlay]:
    dev = Overlay(
        "dev",
        namespace="vc-dev",
        tag="dev",
        patches={
            "deployments.yaml": Patch(
                "Deployment", [{"op": "replace", "path": "/spec/replicas", "value": 1}]
            ),
            "hpa.yaml": Patch(
                "HorizontalPodAutoscaler",
                [
                    {"op": "replace", "path": "/spec/minReplicas", "value": 1},
                    {"op": "replace", "path": "/spec/maxReplicas", "value": 2},
                ],
            ),
            "config.yaml": Patch(
                "ConfigMap",
                [{"op": "replace", "path": "/data/ENVIRONMENT", "value": "development"}],
                name="vc-config",
            ),
        },
        resources={
            # development values only: prod's Secret is made outside git (sealed-secrets, vault)
            "secret.yaml": [
                _secret(
                    {
                        "DATABASE_URL": "postgresql://postgres:postgres@postgres:5432/postgres",
                        "REDIS_URL": "redis://redis:6379/0",
                        "INTEGRATIONS_ENCRYPTION_KEYS": "dev-only-not-a-secret",
                        "SERVICE_CLIENT_SECRET": "dev-only",
                        "SERVICE_CREDENTIALS": "integrations:dev-only",
                        "GITHUB_WEBHOOK_SECRET": "dev-only",
                        # files: the key of its signed URLs, and where the bytes go (S3 in a
                        # cluster: a pod's disk is gone with the pod)
                        "FILES_URL_SECRET": "dev-only-not-a-secret",
                        "FILES_S3_ENDPOINT": "http://minio:9000",
                        "FILES_S3_BUCKET": "vc-files",
                        "FILES_S3_ACCESS_KEY": "dev-only",
                        "FILES_S3_SECRET_KEY": "dev-only",
                    }
                )
            ]
        },
    )
    peers = ",".join(f"nats://nats-{i}.nats-headless:6222" for i in range(3))
    prod = Overlay(
        "prod",
        namespace="virtualcoworking",
        tag="1.0.0",
        patches={
            "hpa.yaml": Patch(
                "HorizontalPodAutoscaler",
                [{"op": "replace", "path": "/spec/maxReplicas", "value": 10}],
            ),
            "resources.yaml": Patch(
                "Deployment",
                [
                    {
                        "op": "replace",
                        "path": "/spec/template/spec/containers/0/resources",
                        "value": {
                            "requests": {"cpu": "250m", "memory": "256Mi"},
                            "limits": {"memory": "768Mi"},
                        },
                    }
                ],
            ),
            "nats-cluster.yaml": Patch(
                "StatefulSet",
                [
                    {"op": "replace", "path": "/spec/replicas", "value": 3},
                    {
                        "op": "replace",
                        "path": "/spec/template/spec/containers/0/args",
                        "value": [
                            "-js",
                            "-sd",
                            "/data",
                            "-m",
                            "8222",
                            "--name",
                            "$(POD_NAME)",
                            "--cluster_name",
                            "vc-nats",
                            "--cluster",
                            "nats://0.0.0.0:6222",
                            "--routes",
                            peers,
                        ],
                    },
                    {
                        "op": "replace",
                        "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage",
                        "value": "50Gi",
                    },
                ],
                name="nats",
            ),
        },
        resources={
            "ingress.yaml": [
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {"name": "gateway", "labels": _labels("gateway")},
                    "spec": {
                        "tls": [{"hosts": ["api.example.com"], "secretName": "gateway-tls"}],
                        "rules": [
                            {
                                "host": "api.example.com",
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {
                                                "service": {
                                                    "name": "gateway",
                                                    "port": {"name": "http"},
                                                }
                                            },
                                        }
                                    ]
                                },
                            }
                        ],
                    },
                }
            ]
        },
    )
    return [dev, prod]


def kustomization(overlay: Overlay, images: Iterable[str]) -> Doc:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": overlay.namespace,
        "resources": ["../../base", *overlay.resources],
        "images": [{"name": IMAGE.format(name=n), "newTag": overlay.tag} for n in images],
        "patches": [p.kustomize(f) for f, p in overlay.patches.items()],
    }


# --- the kustomize equivalent ------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def _apply_op(doc: Any, op: Doc) -> None:
    *parents, last = _pointer(op["path"])
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    value = copy.deepcopy(op.get("value"))
    if op["op"] in ("replace", "add"):
        if isinstance(node, list):
            if last == "-":
                node.append(value)
            elif op["op"] == "add":
                node.insert(int(last), value)
            else:
                node[int(last)] = value
        else:
            if op["op"] == "replace" and last not in node:
                raise KeyError(f"replace of a missing {op['path']}")
            node[last] = value
    elif op["op"] == "remove":
        del node[int(last) if isinstance(node, list) else last]
    else:
        raise ValueError(f"unsupported op {op['op']}")


def _set_images(doc: Doc, tags: dict[str, str]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for key in ("initContainers", "containers"):
        for c in pod.get(key, []):
            name = c["image"].rsplit(":", 1)[0] if ":" in c["image"].split("/")[-1] else c["image"]
            if name in tags:
                c["image"] = f"{name}:{tags[name]}"


def build(base: list[Doc], overlay: Overlay, images: Iterable[str]) -> list[Doc]:
    """What ``kustomize build overlays/<name>`` gives for these overlays."""
    docs = copy.deepcopy(base)
    for extra in overlay.resources.values():
        docs += copy.deepcopy(extra)
    tags = {IMAGE.format(name=n): overlay.tag for n in images}
    for doc in docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = overlay.namespace
        _set_images(doc, tags)
    for patch in overlay.patches.values():
        for doc in docs:
            if doc["kind"] == patch.kind and patch.name in (None, doc["metadata"]["name"]):
                for op in patch.ops:
                    _apply_op(doc, op)
    return docs
