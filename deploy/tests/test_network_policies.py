"""Who reaches what in the cluster, by the NetworkPolicies (deploy/k8s/base/network-policies.yaml): the
ingress controller the gateway, the gateway (and whichever service calls another, read from the code)
the gRPC ports, Prometheus the metrics ports, the pods with a database PostgreSQL, the broker's clients
RabbitMQ; nothing else, from inside the namespace or out."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

from deploy.tests.cluster import (
    INGRESS,
    NEIGHBOUR,
    OVERLAYS,
    POSTGRESQL,
    PROMETHEUS,
    RABBITMQ,
    STAND_INS,
    STRANGER,
    Pod,
    Policies,
    docs_of,
    workload_pods,
)
from deploy.tests.test_manifests import DEPLOY, SERVICES

ROOT = DEPLOY.parent
SOURCES = ["base", *OVERLAYS]


def callers_in_code() -> dict[str, set[str]]:
    """Which service's code opens a channel to which other service (``grpc_targets["finance"]``)."""
    found: dict[str, set[str]] = {svc: set() for svc in SERVICES}
    for svc in SERVICES:
        for path in (ROOT / "services" / svc).rglob("*.py"):
            if "tests" in path.parts:
                continue
            for target in re.findall(r"grpc_targets\[\"(\w+)\"\]", path.read_text()):
                found[target].add(svc)
    return found


@pytest.fixture(scope="module", params=SOURCES)
def cluster(request) -> tuple[Policies, list[Pod]]:
    docs = docs_of(request.param)
    return Policies(docs), workload_pods(docs)


def _pod(pods: list[Pod], name: str) -> Pod:
    (pod,) = [p for p in pods if p.name == name]
    return pod


def test_orders_is_found_calling_finance():
    assert callers_in_code()["finance"] == {"orders"}  # services/orders/invoicing.py


def test_every_pod_is_isolated_by_a_default_deny(cluster):
    policies, pods = cluster
    deny = [p for p in policies.policies if p["metadata"]["name"] == "default-deny-ingress"]
    assert deny and deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for pod in [*pods, POSTGRESQL, RABBITMQ]:
        assert not policies.allows(NEIGHBOUR, pod, 5432), pod.name


@pytest.mark.parametrize("svc", sorted(SERVICES))
def test_only_the_gateway_and_the_services_that_call_one_reach_its_grpc_port(cluster, svc):
    policies, pods = cluster
    server = _pod(pods, svc)
    port = SERVICES[svc]
    assert server.port("grpc") == port
    callers = {"gateway"} | {f"{caller}" for caller in callers_in_code()[svc]}
    reaching = {p.name for p in [*pods, *STAND_INS] if policies.allows(p, server, port)}
    assert reaching == callers


def test_only_the_ingress_controller_reaches_the_gateway_and_prometheus_its_metrics_port(cluster):
    policies, pods = cluster
    gateway = _pod(pods, "gateway")
    assert gateway.port("http") == 8000
    reaching = {p.name for p in [*pods, *STAND_INS] if policies.allows(p, gateway, 8000)}
    # Prometheus neither: the public port has no /metrics (gateway/gunicorn_conf.py serves them apart)
    assert reaching == {"ingress-nginx"}
    assert not policies.allows(STRANGER, gateway, 8000)
    assert gateway.port("metrics") == 9100
    reaching = {p.name for p in [*pods, *STAND_INS] if policies.allows(p, gateway, 9100)}
    assert reaching == {"prometheus"}


def test_prometheus_alone_reaches_the_metrics_ports(cluster):
    policies, pods = cluster
    with_metrics = [p for p in pods if p.port("metrics")]
    assert {p.name for p in with_metrics} >= {f"{svc}-relay" for svc in SERVICES} | {*SERVICES, "gateway"}
    for pod in with_metrics:
        port = pod.port("metrics")
        assert policies.allows(PROMETHEUS, pod, port), pod.name
        others = [p.name for p in [*pods, INGRESS, STRANGER, NEIGHBOUR] if policies.allows(p, pod, port)]
        assert others == [], (pod.name, others)
    # and Prometheus reaches nothing else of a server
    assert not policies.allows(PROMETHEUS, _pod(pods, "finance"), SERVICES["finance"])


def test_only_the_pods_with_a_database_reach_postgresql(cluster):
    policies, pods = cluster
    with_database = {p.name for p in pods if any(k.endswith("_DATABASE_URL") for k in p.env())}
    assert "gateway" not in with_database and "finance-migrate" in with_database
    reaching = {p.name for p in [*pods, *STAND_INS] if policies.allows(p, POSTGRESQL, 5432)}
    assert reaching == with_database


def test_only_servers_relays_and_consumers_reach_rabbitmq(cluster):
    policies, pods = cluster
    # the processes that open a broker connection (kit/service.py: part_health, the relay, the consumer)
    clients = {p.name for p in pods if p.containers[0]["command"][-1] in ("serve", "relay", "consume")}
    assert {"finance", "finance-relay", "finance-consume"} <= clients
    reaching = {p.name for p in [*pods, *STAND_INS] if policies.allows(p, RABBITMQ, 5672)}
    assert reaching == clients
    for name in ("notifications-mailer", "finance-migrate", "meetings-purge", "gateway"):
        assert name not in reaching


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_overlays_validate_against_the_kubernetes_schema(overlay):
    for doc in docs_of(overlay):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


@pytest.mark.parametrize("source", SOURCES)
def test_services_are_cluster_internal_and_never_expose_metrics(source):
    services = [d for d in docs_of(source) if d["kind"] == "Service"]
    assert services
    for svc in services:
        name = svc["metadata"]["name"]
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", name
        for port in svc["spec"]["ports"]:
            assert port["name"] in ("grpc", "http"), (name, port)
            assert port["port"] != 9100 and port.get("targetPort") != "metrics", (name, port)


@pytest.mark.parametrize("source", SOURCES)
def test_the_gateway_keeps_a_pod_through_disruptions(source):
    docs = docs_of(source)
    (pdb,) = [d for d in docs if d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == "gateway"]
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    replicas = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "gateway")[
        "spec"
    ]["replicas"]
    assert 1 <= pdb["spec"]["minAvailable"] < replicas  # a drain can still move one
