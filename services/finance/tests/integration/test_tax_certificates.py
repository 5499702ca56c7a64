"""Childcare tax certificates (281.86, issue #19) on a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): only the childcare paid in the year, per child and paying parent, once per
content (a regeneration makes no duplicate), corrections as new versions, the 409 without an
enterprise number, another school's staff seeing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.errors import Conflict, InvalidRequest
from services.finance import national_numbers
from services.finance.db import outbox
from services.finance.domain import ledger
from services.finance.tests.conftest import (
    ACCOUNTS,
    OTHER_SCHOOL_STAFF,
    SCHOOL,
    STAFF,
    reauthenticated,
    settings,
)
from services.finance.use_cases import common
from services.finance.use_cases.tax_certificates import ISSUED, TaxCertificates

MUM = ACCOUNTS["mum"]
DAD = "00000009-acc0-4000-8000-dad000000000"
EMMA_NN = "15051012345"


def child(student_id: str = "emma", birth: str = "2015-05-10") -> tpb.TaxChild:
    return tpb.TaxChild(
        student_id=student_id,
        first_name="Emma",
        last_name="Dupont",
        birth_date=birth,
        national_number=EMMA_NN,
        parents=[
            tpb.TaxPerson(id=MUM, first_name="Marie", last_name="Dupont", national_number="85010112345"),
            tpb.TaxPerson(id=DAD, first_name="Paul", last_name="Dupont", national_number="84020212345"),
        ],
    )


def issued(rt) -> list[tpb.TaxCertificateIssued]:
    with rt.db.unit_of_work() as s:
        bodies = s.execute(select(outbox.c.body).where(outbox.c.event_name == ISSUED).order_by(outbox.c.id))
        out = []
        for body in bodies.scalars():
            env = envelope_pb2.Envelope.FromString(body)
            msg = tpb.TaxCertificateIssued()
            env.payload.Unpack(msg)
            out.append(msg)
    return out


def pay(rt, invoice_id: str, cents: int, by: str | None) -> None:
    with rt.db.unit_of_work() as s:
        common.credit_invoice(
            rt, s, SCHOOL, invoice_id, cents, "online", common.now(rt),
            counter_account=ledger.psp_clearing_account(SCHOOL), created_by=by,
        )  # fmt: skip


@pytest.fixture
def school(world, finance_rt):
    finance_rt.clock.set(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    world.finance.settings.update_settings(
        reauthenticated(STAFF, finance_rt), settings(enterprise_number="0203201340")
    )
    invoice = world.finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id="emma",
            title="Garderie, trimestre 1",
            lines=[
                pb.InvoiceLineInput(
                    label="Garderie du soir", quantity=1, unit_price_cents=20000, childcare=True, days=10
                ),
                pb.InvoiceLineInput(label="Journal de classe", quantity=1, unit_price_cents=5000),
            ],
        ),
    ).invoice
    return TaxCertificates(finance_rt), invoice


def generate(
    certs: TaxCertificates, year: int = 2024, key: str = "", **kw
) -> tpb.GenerateTaxCertificatesResponse:
    req = tpb.GenerateTaxCertificatesRequest(year=year, children=[child()], idempotency_key=key, **kw)
    return certs.generate(STAFF, req)


def test_only_the_paid_part_counts_for_the_parent_who_paid_it(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 12500, MUM)  # half of the invoice: half the childcare line
    out = generate(certs)
    assert (out.count, out.total_cents, out.created) == (1, 10000, 1)
    (cert,) = certs.list_certificates(STAFF, 2024).certificates
    assert (cert.student_id, cert.parent_id, cert.days, cert.amount_cents) == ("emma", MUM, 5, 10000)
    assert cert.capped_amount_cents == 5 * 1640  # 20.00 a day, capped at 2024's 16.40
    assert cert.document_id and cert.version == 1 and cert.number == "2024-00001"
    (event,) = issued(finance_rt)
    assert event.certificate.id == cert.id
    # the numbers travel sealed: documents opens them to render the PDF
    box = national_numbers.box(finance_rt)
    assert (event.enterprise_number, box.open(event.certificate.child.national_number)) == (
        "0203201340",
        EMMA_NN,
    )
    assert box.open(event.certificate.parent.national_number) == "85010112345"
    assert (cert.child.national_number, cert.parent.national_number) == (EMMA_NN, "85010112345")
    assert [(p.days, p.daily_rate_cents, p.amount_cents) for p in event.certificate.periods] == [
        (5, 2000, 10000)
    ]


def test_regenerating_makes_no_duplicate_and_a_correction_replaces_the_certificate(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 12500, MUM)
    generate(certs)
    again = generate(certs)
    assert (again.count, again.created, again.replaced) == (1, 0, 0)
    assert len(issued(finance_rt)) == 1
    # the rest arrives by a transfer naming nobody: split between both parents
    pay(finance_rt, invoice.id, 12500, None)
    out = generate(certs)
    assert (out.count, out.created, out.replaced, out.total_cents) == (2, 1, 1, 20000)
    by_parent = {c.parent_id: c for c in certs.list_certificates(STAFF, 2024).certificates}
    assert (by_parent[MUM].version, by_parent[MUM].days, by_parent[MUM].amount_cents) == (2, 7, 15000)
    assert (by_parent[DAD].version, by_parent[DAD].days, by_parent[DAD].amount_cents) == (1, 2, 5000)
    correction = next(e for e in issued(finance_rt) if e.certificate.id == by_parent[MUM].id)
    assert (correction.replaces_version, correction.replaces_number) == (1, "2024-00001")
    assert correction.certificate.number == "2024-00001"


def test_money_paid_the_year_after_counts_in_that_year(school, finance_rt):
    certs, invoice = school
    finance_rt.clock.set(datetime(2025, 1, 3, 10, 0, tzinfo=UTC))
    pay(finance_rt, invoice.id, 25000, MUM)
    assert generate(certs, 2024).count == 0
    assert certs.list_childcare_students(STAFF, 2025).student_ids == ["emma"]
    with pytest.raises(InvalidRequest):  # and 2025's legal maximum is not known yet
        generate(certs, 2025)


def test_the_enterprise_number_missing_is_a_conflict(world, finance_rt):
    finance_rt.clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    with pytest.raises(Conflict) as err:
        generate(TaxCertificates(finance_rt))
    assert err.value.code == "enterprise_number_missing"


def test_a_year_without_a_known_daily_maximum_is_refused(school, finance_rt):
    certs, _ = school
    finance_rt.clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(InvalidRequest) as err:
        generate(certs, 2026)
    assert "year" in err.value.fields


def test_another_schools_staff_sees_nothing(school, finance_rt):
    certs, invoice = school
    pay(finance_rt, invoice.id, 25000, MUM)
    generate(certs)
    assert certs.list_certificates(OTHER_SCHOOL_STAFF, 2024).certificates == []
    assert certs.list_childcare_students(OTHER_SCHOOL_STAFF, 2024).student_ids == []
