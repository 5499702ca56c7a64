"""Each secret reaches only the pods that use it, in the base and in every overlay as rendered: the
Mollie key finance's pods, the SMTP relay the mailer, the signing and TOTP keys auth's server, each
database URL its own service's pods; no pod gets a whole secret as environment or a service-account
token, and every secret a pod names is in deploy/k8s/secrets.example.yaml with that key."""

from __future__ import annotations

import pytest

from deploy.tests.cluster import OVERLAYS, Pod, docs_of, example_secrets, workload_pods
from deploy.tests.test_manifests import SERVICES

SOURCES = ["base", *OVERLAYS]


@pytest.fixture(scope="module", params=SOURCES)
def pods(request) -> list[Pod]:
    return workload_pods(docs_of(request.param))


def service_of(pod: Pod) -> str:
    """finance-relay -> finance; gateway -> gateway."""
    return pod.name.split("-", 1)[0]


def holders(pods: list[Pod], secret: str) -> set[str]:
    return {p.name for p in pods if secret in p.secrets()}


def test_every_pod_is_found(pods):
    assert {service_of(p) for p in pods} == {*SERVICES, "gateway"}
    assert {"finance-migrate", "finance-sync-payments", "notifications-mailer"} <= {p.name for p in pods}


def test_the_mollie_key_reaches_finance_alone(pods):
    finance = {p.name for p in pods if service_of(p) == "finance"}
    assert holders(pods, "cartable-mollie") == finance  # every finance process checks it at start
    for p in pods:
        assert ("MOLLIE_API_KEY" in p.env()) == (p.name in finance), p.name


def test_the_smtp_relay_reaches_the_mailer_alone(pods):
    assert holders(pods, "cartable-smtp") == {"notifications-mailer"}
    assert [p.name for p in pods if "SMTP_URL" in p.env()] == ["notifications-mailer"]


def test_the_signing_key_and_the_totp_key_reach_the_auth_server_alone(pods):
    assert holders(pods, "cartable-identity-private") == {"auth"}
    assert holders(pods, "cartable-auth-totp") == {"auth"}


def test_the_gateway_key_reaches_the_gateway_alone_and_the_gateway_nothing_else(pods):
    assert holders(pods, "cartable-gateway") == {"gateway"}
    (gateway,) = [p for p in pods if p.name == "gateway"]
    assert gateway.secrets() == {"cartable-gateway"}  # no database, broker or identity key


def test_each_database_url_reaches_its_own_service_alone(pods):
    for p in pods:
        db_keys = {key for name, key in p.secret_refs() if name == "cartable-databases"}
        if service_of(p) == "gateway":
            assert db_keys == set()
            continue
        assert db_keys == {service_of(p)}, p.name
        ref = p.env()[f"{service_of(p).upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "cartable-databases", "key": service_of(p)}


def test_no_pod_gets_a_whole_secret_as_environment(pods):
    # envFrom a Secret would hand every key of it, present and future, to the pod
    for p in pods:
        for c in p.containers:
            assert all("secretRef" not in src for src in c.get("envFrom", [])), p.name


def test_no_pod_gets_a_service_account_token(pods):
    # none talks to the Kubernetes API: a token would only be something to steal
    for p in pods:
        assert p.spec.get("automountServiceAccountToken") is False, p.name


def test_every_secret_a_pod_names_is_in_the_example_with_its_key(pods):
    examples = example_secrets()
    for p in pods:
        for name, key in p.secret_refs():
            if name.startswith("cartable-identity-"):
                continue  # made from the key files (kubectl create secret generic --from-file)
            assert name in examples, (p.name, name)
            if key is not None:
                assert key in examples[name]["stringData"], (p.name, name, key)


def test_the_national_number_key_reaches_the_processes_that_seal_or_open_them_alone(pods):
    # finance's server seals tax certificates' numbers, its migration seals the rows already there,
    # documents' consumer opens them to render the PDF (issue #21)
    assert holders(pods, "cartable-national-numbers") == {"finance", "finance-migrate", "documents-consume"}
    for p in pods:
        assert ("NATIONAL_NUMBER_KEY" in p.env()) == (
            p.name in {"finance", "finance-migrate", "documents-consume"}
        )
