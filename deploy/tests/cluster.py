"""The pods the manifests make (from Deployments, Jobs and CronJobs), what they are given, and a small
evaluator of Kubernetes NetworkPolicy ingress rules, for tests that ask "who reaches what"."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from deploy.tests.test_manifests import DEPLOY, base_docs

NAMESPACE = "cartable"
OVERLAYS = ("production", "single-node")


@dataclass(frozen=True)
class Pod:
    name: str  # the workload's name (finance-relay, auth-migrate, ...)
    kind: str  # Deployment | Job | CronJob | (a stand-in for what runs outside the manifests)
    labels: dict[str, str]
    namespace: str = NAMESPACE
    namespace_labels: dict[str, str] = field(default_factory=dict)
    spec: dict = field(default_factory=dict)

    @property
    def containers(self) -> list[dict]:
        return self.spec.get("containers", [])

    @property
    def component(self) -> str:
        return self.labels.get("app.kubernetes.io/component", "")

    def port(self, name_or_number: str | int) -> int | None:
        """A container port by name (or a number the pod listens on)."""
        for c in self.containers:
            for p in c.get("ports", []):
                if name_or_number in (p.get("name"), p["containerPort"]):
                    return p["containerPort"]
        return None

    def env(self) -> dict[str, dict]:
        return {e["name"]: e for c in self.containers for e in c.get("env", [])}

    def secret_refs(self) -> set[tuple[str, str | None]]:
        """(secret, key) of every secret this pod is given: env keys, whole-secret envFrom (key None),
        mounted secret volumes (key None)."""
        refs: set[tuple[str, str | None]] = set()
        for c in self.containers:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
            for src in c.get("envFrom", []):
                if "secretRef" in src:
                    refs.add((src["secretRef"]["name"], None))
        for v in self.spec.get("volumes", []):
            if "secret" in v:
                refs.add((v["secret"]["secretName"], None))
        return refs

    def secrets(self) -> set[str]:
        return {name for name, _key in self.secret_refs()}


def _namespace_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name}


def workload_pods(docs: list[dict]) -> list[Pod]:
    pods = []
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            template = d["spec"]["template"]
        elif d["kind"] == "CronJob":
            template = d["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        ns = d["metadata"].get("namespace", NAMESPACE)
        pods.append(
            Pod(
                d["metadata"]["name"],
                d["kind"],
                dict(template["metadata"]["labels"]),
                ns,
                _namespace_labels(ns),
                template["spec"],
            )
        )
    return pods


def _stand_in(name: str, namespace: str, labels: dict[str, str], ports: dict[str, int]) -> Pod:
    spec = {
        "containers": [{"name": name, "ports": [{"name": k, "containerPort": v} for k, v in ports.items()]}]
    }
    return Pod(name, "stand-in", labels, namespace, _namespace_labels(namespace), spec)


# What runs beside the manifests: the databases and the broker in the namespace (as the policies
# expect them), the ingress controller, Prometheus, and pods that should reach nothing.
POSTGRESQL = _stand_in(
    "postgresql", NAMESPACE, {"app.kubernetes.io/name": "postgresql"}, {"postgresql": 5432}
)
RABBITMQ = _stand_in("rabbitmq", NAMESPACE, {"app.kubernetes.io/name": "rabbitmq"}, {"amqp": 5672})
INGRESS = _stand_in("ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, {})
PROMETHEUS = _stand_in("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}, {})
STRANGER = _stand_in("stranger", "default", {"app": "debug"}, {})
NEIGHBOUR = _stand_in("neighbour", NAMESPACE, {"app": "debug"}, {})  # e.g. `kubectl run` in the namespace
STAND_INS = [POSTGRESQL, RABBITMQ, INGRESS, PROMETHEUS, STRANGER, NEIGHBOUR]


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    for k, v in selector.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict, policy_ns: str, source: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # no policy of ours names addresses
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], source.namespace_labels):
            return False
    elif source.namespace != policy_ns:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], source.labels)


class Policies:
    def __init__(self, docs: list[dict]) -> None:
        self.policies = [d for d in docs if d["kind"] == "NetworkPolicy"]

    def _selecting(self, dest: Pod) -> list[dict]:
        return [
            p
            for p in self.policies
            if p["metadata"].get("namespace", NAMESPACE) == dest.namespace
            and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
            and _selects(p["spec"]["podSelector"], dest.labels)
        ]

    def allows(self, source: Pod, dest: Pod, port: int) -> bool:
        """Whether ``source`` may open a TCP connection to ``dest`` on ``port``."""
        selecting = self._selecting(dest)
        if not selecting:
            return True  # not isolated
        for p in selecting:
            ns = p["metadata"].get("namespace", NAMESPACE)
            for rule in p["spec"].get("ingress", []):
                peers = rule.get("from")
                if peers is not None and not any(_peer_matches(peer, ns, source) for peer in peers):
                    continue
                ports = rule.get("ports")
                if ports is None or any(
                    r.get("protocol", "TCP") == "TCP" and dest.port(r["port"]) == port for r in ports
                ):
                    return True
        return False


def rendered(overlay: str) -> list[dict]:
    """The overlay as kustomize builds it (kubectl kustomize); skips when kubectl is not installed."""
    import pytest

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (kustomize) is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def docs_of(source: str) -> list[dict]:
    """``base`` (read as the tests read it) or an overlay's rendered manifests."""
    return base_docs() if source == "base" else rendered(source)


def example_secrets() -> dict[str, dict]:
    path: Path = DEPLOY / "k8s" / "secrets.example.yaml"
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text()) if d}
