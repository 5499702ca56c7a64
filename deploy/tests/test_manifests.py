"""The deployment files: Kubernetes manifests validate against the schemas, the compose file against
the compose spec, and both say the same things as the code (ports, queues, probes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent
BASE = DEPLOY / "k8s" / "base"
SERVICES = {
    "auth": 50051,
    "documents": 50052,
    "finance": 50053,
    "orders": 50054,
    "notifications": 50055,
    "meetings": 50056,
}


def manifests(*paths: Path) -> list[dict]:
    docs = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def base_docs() -> list[dict]:
    kust = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return manifests(*(BASE / r for r in kust["resources"]))


def by_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in base_docs() if d["kind"] == kind}


@pytest.mark.parametrize(
    "path", [*sorted(BASE.glob("*.yaml")), DEPLOY / "k8s" / "secrets.example.yaml"], ids=lambda p: p.name
)
def test_every_manifest_validates_against_the_kubernetes_schema(path):
    if path.name == "kustomization.yaml":
        pytest.skip("kustomize's own file, not a Kubernetes object")
    for doc in manifests(path):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_kustomizations_name_files_that_exist():
    for kust_file in DEPLOY.glob("k8s/**/kustomization.yaml"):
        kust = yaml.safe_load(kust_file.read_text())
        for res in kust.get("resources", []):
            assert (kust_file.parent / res).exists(), (kust_file, res)
        for patch in kust.get("patches", []):
            assert (kust_file.parent / patch["path"]).exists(), (kust_file, patch)


def test_each_service_has_a_deployment_with_native_grpc_probes_on_its_port():
    deployments = by_kind("Deployment")
    for svc, port in SERVICES.items():
        container = deployments[svc]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][-1] == "serve"
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"] == {"port": port, "service": "liveness"}
        assert container["resources"]["requests"]
        assert by_kind("Service")[svc]["spec"]["ports"][0]["port"] == port
        assert f"{svc}-migrate" in by_kind("Job")


def test_finance_scales_on_its_own_and_the_gateway_balances_over_its_pods():
    assert by_kind("HorizontalPodAutoscaler")["finance"]["spec"]["scaleTargetRef"]["name"] == "finance"
    assert by_kind("PodDisruptionBudget")["finance"]["spec"]["minAvailable"] >= 1
    headless = by_kind("Service")["finance-headless"]
    assert headless["spec"]["clusterIP"] == "None"
    config = by_kind("ConfigMap")["cartable-config"]["data"]
    assert config["FINANCE_GRPC_TARGET"] == "dns:///finance-headless:50053"
    from gateway.clients import CHANNEL_OPTIONS

    assert ("grpc.lb_policy_name", "round_robin") in CHANNEL_OPTIONS


def test_pods_run_as_a_non_root_user_and_secrets_come_from_secret_objects():
    for name, dep in by_kind("Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for env in pod["containers"][0].get("env", []):
            if any(w in env["name"] for w in ("DATABASE_URL", "AMQP_URL", "SECRET_KEY")):
                assert "secretKeyRef" in env.get("valueFrom", {}), (name, env["name"])
    assert "USER 10001" in (DEPLOY / "Dockerfile").read_text()
    only_auth = [
        n
        for n, d in by_kind("Deployment").items()
        if any(
            v.get("secret", {}).get("secretName") == "cartable-identity-private"
            for v in d["spec"]["template"]["spec"].get("volumes", [])
        )
    ]
    assert only_auth == ["auth"], "only auth may read the signing key"


def test_compose_file_validates_against_the_compose_spec():
    out = subprocess.run(
        [
            Path(sys.executable).parent / "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for svc in SERVICES:
        assert compose["services"][svc]["command"][-1] == "serve"
        assert compose["services"][f"migrate-{svc}"]["command"][-1] == "migrate"
        assert (
            compose["services"][svc]["depends_on"][f"migrate-{svc}"]["condition"]
            == "service_completed_successfully"
        )
    sql = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    for svc in SERVICES:
        assert f"CREATE DATABASE {svc};" in sql


def test_broker_definitions_cover_every_queue_and_binding_the_consumers_declare(tmp_path):
    from kit.service import bootstrap
    from kit.testing import Keys, test_settings

    defs = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    queues = {q["name"]: q for q in defs["queues"]}
    bindings = {
        (b["destination"], b["routing_key"]) for b in defs["bindings"] if b["source"] == "cartable.events"
    }
    keys = Keys(tmp_path)
    for svc in SERVICES:
        module = __import__(f"services.{svc}.app", fromlist=["spec"])
        spec = module.spec()
        if spec.bindings is None:
            continue
        settings = test_settings(
            svc, f"sqlite:///{tmp_path / svc}.db", keys, None, BLOB_STORE_URL=f"file://{tmp_path}/b"
        )
        rt = bootstrap(spec, settings)
        queue = f"{svc}.events"
        assert queues[queue]["arguments"]["x-dead-letter-exchange"] == "cartable.dlx"
        assert f"{queue}.dlq" in queues
        for key in spec.bindings(rt):
            assert (queue, key) in bindings, (queue, key)
        rt.db.dispose()


def test_meeting_reminders_run_periodically_everywhere():
    cron = by_kind("CronJob")["meetings-reminder"]
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-2:] == ["remind", "--once"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["meetings-reminder"]["command"][-1] == "remind"
    procfile = (DEPLOY.parent / "Procfile").read_text()
    assert "meetings-reminder: .venv/bin/python -m services.meetings remind" in procfile
    from kit.settings import DEFAULT_GRPC_PORTS

    assert {svc: DEFAULT_GRPC_PORTS[svc] for svc in SERVICES} == SERVICES


def test_the_broker_definitions_config_map_carries_the_definitions_file():
    cm = by_kind("ConfigMap")["rabbitmq-definitions"]
    assert json.loads(cm["data"]["definitions.json"]) == json.loads(
        (DEPLOY / "rabbitmq" / "definitions.json").read_text()
    )


def test_invoice_reminders_run_periodically_everywhere():
    cron = by_kind("CronJob")["notifications-reminder"]
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-3:] == ["services.notifications", "remind", "--once"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["notifications-reminder"]["command"][-1] == "remind"
    procfile = (DEPLOY.parent / "Procfile").read_text()
    assert "notifications-reminder: .venv/bin/python -m services.notifications remind" in procfile
