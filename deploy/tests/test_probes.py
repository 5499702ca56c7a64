"""Probes say what the code serves: servers are ready on their gRPC health (the database only, see
kit/grpcserver.py); relays, consumers and the mailer are restarted by their loop's heartbeat (/livez),
relays and consumers report the broker (/readyz) on their metrics port, none is judged by /metrics
answering."""

from __future__ import annotations

import pytest

from deploy.tests.test_manifests import SERVICES, by_kind

LOOPS = sorted(
    name
    for name, d in by_kind("Deployment").items()
    if d["metadata"]["labels"]["app.kubernetes.io/component"] in ("relay", "consume")
)


def _container(name: str) -> dict:
    return by_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]


def test_every_service_with_an_outbox_has_a_relay_and_consumers_are_found():
    assert {f"{svc}-relay" for svc in SERVICES} <= set(LOOPS)
    assert {"finance-consume", "notifications-consume", "documents-consume"} <= set(LOOPS)


@pytest.mark.parametrize("name", LOOPS)
def test_relays_and_consumers_live_by_their_heartbeat_and_report_the_broker(name):
    c = _container(name)
    assert c["command"][-1] in ("relay", "consume")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["metrics"] == 9100
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    # A stale heartbeat is 60 s; the probe must not restart a loop inside that window.
    live = c["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 30


@pytest.mark.parametrize("svc", sorted(SERVICES))
def test_servers_are_ready_on_their_own_health_not_on_the_broker(svc):
    c = _container(svc)
    assert c["readinessProbe"]["grpc"] == {"port": SERVICES[svc]}  # "": the database only
    assert "httpGet" not in c["livenessProbe"]


def test_no_deployment_is_judged_by_its_metrics_endpoint():
    judged = [
        name
        for name, d in by_kind("Deployment").items()
        for c in d["spec"]["template"]["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe")
        if c.get(probe, {}).get("httpGet", {}).get("path") == "/metrics"
    ]
    assert judged == []


def test_the_mailer_lives_by_its_heartbeat():
    c = _container("notifications-mailer")
    assert c["command"][-1] == "mailer"
    assert {p["name"]: p["containerPort"] for p in c["ports"]}["metrics"] == 9100
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    live = c["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 30


def test_prometheus_scrapes_every_pod_on_its_metrics_port():
    scraped = {
        name: d["spec"]["template"]
        for name, d in by_kind("Deployment").items()
        if d["spec"]["template"]["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true"
    }
    assert {"gateway", *SERVICES} <= set(scraped)
    for name, template in scraped.items():
        (c,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        # the gateway too: its gunicorn master serves the workers' metrics apart from the public port
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"]), name
        assert template["metadata"]["annotations"].get("prometheus.io/path", "/metrics") == "/metrics", name
