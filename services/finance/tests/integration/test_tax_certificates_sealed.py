"""The national numbers of the tax certificates are sealed at rest (issue #21): in
``tax_certificates.content`` and in the outbox's finance.tax_certificate.issued.v1 no number is in
clear (searched with ``kit.privacy.find_text``), while the staff's list (the Belcotax export) and the
event, opened with the deployment's key, still give them; a number alone changing corrects the
certificate; a wrong key fails loudly; outside a local run the server refuses to start without it."""

from __future__ import annotations

import dataclasses
import json
import logging

import grpc
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from cartable.finance.v1 import tax_certificates_pb2 as tpb
from cartable.finance.v1 import tax_certificates_pb2_grpc
from kit.privacy import find_text
from kit.secretbox import SecretBox
from kit.settings import SettingsError
from services.finance import national_numbers
from services.finance.app import registrations
from services.finance.db import outbox
from services.finance.db.tax_certificate_queries import tax_certificates
from services.finance.tests.conftest import STAFF, md
from services.finance.tests.integration.test_tax_certificates import (
    DAD,
    EMMA_NN,
    MUM,
    child,
    generate,
    issued,
    pay,
)
from services.finance.tests.integration.test_tax_certificates import school as school  # the fixture

NUMBERS = [EMMA_NN, "85010112345", "84020212345"]


def clear_numbers_found(rt) -> list[tuple[str, str]]:
    with rt.db.engine.connect() as conn:
        return find_text(conn, [tax_certificates, outbox], NUMBERS)


def stored(rt) -> list[dict]:
    with rt.db.unit_of_work() as s:
        return [json.loads(c) for c in s.execute(select(tax_certificates.c.content)).scalars()]


def test_no_national_number_is_in_clear_in_the_table_or_the_outbox(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 12500, MUM)
    pay(finance_rt, invoice.id, 12500, DAD)
    assert generate(certs).count == 2
    assert clear_numbers_found(finance_rt) == []
    box = national_numbers.box(finance_rt)
    for content in stored(finance_rt):
        assert "national_number" not in content["child"] and "national_number" not in content["parent"]
        assert box.open(content["child"]["sealed_national_number"]) == EMMA_NN
        assert content["child"]["first_name"] == "Emma"  # the rest stays readable (erasure, export)
    by_parent = {c.parent_id: c for c in certs.list_certificates(STAFF, 2024).certificates}
    assert by_parent[DAD].parent.national_number == "84020212345"  # the staff's list: in clear
    events = {e.certificate.parent_id: e for e in issued(finance_rt)}
    assert box.open(events[MUM].certificate.parent.national_number) == "85010112345"


def test_a_national_number_alone_corrected_makes_a_new_version_and_the_same_one_nothing(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 25000, MUM)
    generate(certs)
    assert generate(certs).created + generate(certs).replaced == 0  # sealed again, still the same
    corrected = child()
    corrected.parents[0].national_number = "85010154321"
    out = certs.generate(STAFF, tpb.GenerateTaxCertificatesRequest(year=2024, children=[corrected]))
    assert (out.count, out.created, out.replaced) == (1, 0, 1)
    (cert,) = certs.list_certificates(STAFF, 2024).certificates
    assert (cert.version, cert.parent.national_number) == (2, "85010154321")


def test_a_missing_number_stays_empty_not_sealed(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 25000, MUM)
    anonymous = child()
    anonymous.national_number = ""
    certs.generate(STAFF, tpb.GenerateTaxCertificatesRequest(year=2024, children=[anonymous]))
    (content,) = stored(finance_rt)
    assert content["child"]["sealed_national_number"] == ""
    (event,) = issued(finance_rt)
    assert event.certificate.child.national_number == ""
    assert certs.list_certificates(STAFF, 2024).certificates[0].child.national_number == ""


def test_a_wrong_key_fails_loudly_and_names_no_number(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 25000, MUM)
    generate(certs)
    finance_rt.extras["national_number_box"] = SecretBox([Fernet.generate_key()])
    with pytest.raises(ValueError, match="unknown key") as err:
        certs.list_certificates(STAFF, 2024)
    assert not any(n in str(err.value) for n in NUMBERS)
    with pytest.raises(ValueError, match="unknown key"):  # nor can a regeneration compare them
        generate(certs)


def test_outside_a_local_run_the_server_refuses_to_start_without_the_key(finance_rt):
    finance_rt.settings = dataclasses.replace(finance_rt.settings, env="production", national_number_key="")
    with pytest.raises(SettingsError, match="NATIONAL_NUMBER_KEY"):
        registrations(finance_rt)
    key = Fernet.generate_key().decode()
    finance_rt.settings = dataclasses.replace(finance_rt.settings, national_number_key=key)
    assert registrations(finance_rt)
    assert national_numbers.box(finance_rt).open(SecretBox([key.encode()]).seal("x")) == "x"


def test_no_national_number_is_logged(school, finance_rt, finance_server, keys, caplog):
    caplog.set_level(logging.DEBUG)
    _certs, invoice = school
    pay(finance_rt, invoice.id, 25000, MUM)
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    stub = tax_certificates_pb2_grpc.TaxCertificateServiceStub(channel)
    token = md(keys.token("staff", STAFF.school_id, account_id=STAFF.account_id))
    req = tpb.GenerateTaxCertificatesRequest(year=2024, children=[child()], idempotency_key="k-1")
    assert stub.GenerateTaxCertificates(req, metadata=token).created == 1
    assert stub.GenerateTaxCertificates(req, metadata=token).created == 1  # replayed
    listed = stub.ListTaxCertificates(tpb.ListTaxCertificatesRequest(year=2024), metadata=token)
    assert listed.certificates[0].parent.national_number == "85010112345"
    finance_rt.extras["national_number_box"] = SecretBox([Fernet.generate_key()])
    with pytest.raises(grpc.RpcError) as err:  # a wrong key: an internal error, logged with its trace
        stub.ListTaxCertificates(tpb.ListTaxCertificatesRequest(year=2024), metadata=token)
    channel.close()
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "unknown key" in caplog.text
    assert not any(n in caplog.text for n in NUMBERS)
