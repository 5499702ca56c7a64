"""The school-scoping matrix of test_school_scoping.py (another school's id: not_found, nothing written;
ours: served) for the services of Belgium's legal duties (issue #19), served beside FinanceService:
MaxBillService, PeriodicStatementService and TaxCertificateService. Kept apart to keep each module
under 500 lines; the ``schools`` fixture is that module's.

The RPCs that take no id read or write the caller's school only; each has its test below.
SendPeriodicStatementsRequest.languages is keyed by student ids: only the chosen students (the
caller's school's, from finance's own records) are looked up in it, a key of another school's student
is never read (not an "_id" field, so the id-field check does not list it)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime

import grpc
import pytest

import cartable.finance.v1 as finance_protos
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import max_bill_pb2 as mpb
from cartable.finance.v1 import max_bill_pb2_grpc, periodic_statements_pb2_grpc, tax_certificates_pb2_grpc
from cartable.finance.v1 import periodic_statements_pb2 as ppb
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.service import start_grpc
from services.finance.app import use_cases
from services.finance.db import tax_certificate_queries as tq
from services.finance.domain import ledger
from services.finance.tests.conftest import OTHER_SCHOOL_STAFF, STAFF, md, reauthenticated, settings, snapshot
from services.finance.tests.integration.test_school_scoping import (  # noqa: F401 - schools: the fixture
    Build,
    FakeProvider,
    schools,
)
from services.finance.use_cases import common
from services.finance.use_cases.max_bill import MaxBill
from services.finance.use_cases.tax_certificates import TaxCertificates

YEAR = 2024  # a year whose legal maximum per day is known (the suite's clock is in 2026)
MONTH = ("2026-03-01", "2026-03-31")  # holds the invoice each school issued in `schools`


def _id_fields(message, prefix: str = "") -> set[str]:
    """test_school_scoping's, and a bare ``id`` too (TaxPerson.id names an account)."""
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name == "id" or f.name.endswith(("_id", "_ids")):
            out.add(prefix + f.name)
    return out


def _fields(module, service: str) -> set[tuple[str, str]]:
    methods = module.DESCRIPTOR.services_by_name[service].methods
    return {(m.name, f) for m in methods for f in _id_fields(m.input_type)}


def _tax_child(student: str) -> tpb.TaxChild:
    return tpb.TaxChild(
        student_id=student,
        first_name=student.title(),
        birth_date="2015-05-10",
        parents=[tpb.TaxPerson(id=f"parent-{student}", first_name="Parent", national_number="85010112345")],
    )


@pytest.fixture
def legal(schools):  # noqa: F811 - the imported fixture
    """``schools`` where each school set its maximum bill's caps of this school year, and had an invoice
    of childcare paid in YEAR by the student's parent (its enterprise number set); and the three stubs."""
    rt = schools.rt
    uc = use_cases(rt, FakeProvider())
    for who, iban, strict in (
        (STAFF, "BE68539007547034", 9000),
        (OTHER_SCHOOL_STAFF, "BE71096123456769", 4500),
    ):
        MaxBill(rt).set_caps(
            who,
            mpb.SetMaxBillCapsRequest(
                caps=mpb.MaxBillCaps(
                    school_year="2025-2026", level="lager", strict_cents=strict, less_strict_cents=50000
                )
            ),
        )
        uc.settings.update_settings(
            reauthenticated(who, rt), settings(iban=iban, enterprise_number="0203201340")
        )
    now = rt.clock()
    rt.clock.set(datetime(YEAR, 3, 1, 9, 0, tzinfo=UTC))
    for ids, who in ((schools.us, STAFF), (schools.them, OTHER_SCHOOL_STAFF)):
        invoice = uc.invoices.create_invoice(
            who,
            pb.CreateInvoiceRequest(
                student_id=ids.student,
                title="Garderie",
                lines=[
                    pb.InvoiceLineInput(
                        label="Garderie du soir", quantity=1, unit_price_cents=2000, childcare=True, days=2
                    )
                ],
            ),
        ).invoice
        with rt.db.unit_of_work() as s:
            common.credit_invoice(
                rt, s, who.school_id, invoice.id, 2000, "online", common.now(rt),
                counter_account=ledger.psp_clearing_account(who.school_id),
                created_by=f"parent-{ids.student}",
            )  # fmt: skip
    rt.clock.set(now)
    server = start_grpc(rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield (
        schools,
        {
            "MaxBillService": max_bill_pb2_grpc.MaxBillServiceStub(channel),
            "PeriodicStatementService": periodic_statements_pb2_grpc.PeriodicStatementServiceStub(channel),
            "TaxCertificateService": tax_certificates_pb2_grpc.TaxCertificateServiceStub(channel),
        },
    )
    channel.close()
    server.stop(0)


# (service, RPC, the request field holding the other school's id) -> the request (see test_school_scoping).
CASES: dict[tuple[str, str, str], Build] = {
    ("MaxBillService", "GetMaxBill", "student_id"): lambda us, x: mpb.GetMaxBillRequest(student_id=x.student),
    ("PeriodicStatementService", "GetPeriodicStatement", "student_id"): lambda us, x: (
        ppb.GetPeriodicStatementRequest(student_id=x.student, from_date=MONTH[0], to_date=MONTH[1])
    ),
    # one child of another school among the caller's refuses the whole generation
    ("TaxCertificateService", "GenerateTaxCertificates", "children.student_id"): lambda us, x: (
        tpb.GenerateTaxCertificatesRequest(
            year=YEAR, children=[_tax_child(us.student), _tax_child(x.student)], idempotency_key="k-tax"
        )
    ),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # The people are auth's: the gateway gives each child's parents as auth lists them (calls/
    # tax_certificates.py). Finance keeps no parents: it certifies what this school's invoices were
    # paid, to the parent who paid them (payments.created_by) or shared among the parents given.
    ("TaxCertificateService", "GenerateTaxCertificates", "children.parents.id"): "auth's accounts",
}

SERVICES = {"MaxBillService": mpb, "PeriodicStatementService": ppb, "TaxCertificateService": tpb}
IDS = [".".join(k) for k in sorted(CASES)]


@pytest.mark.parametrize(("service", "rpc", "field"), sorted(CASES), ids=IDS)
def test_a_call_with_an_id_of_another_school_is_not_found_and_writes_nothing(legal, service, rpc, field):
    sc, stubs = legal
    before = snapshot(sc.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(stubs[service], rpc)(
            CASES[(service, rpc, field)](sc.us, sc.them), metadata=md(sc.staff), timeout=10
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(sc.rt) == before


@pytest.mark.parametrize(("service", "rpc", "field"), sorted(CASES), ids=IDS)
def test_the_same_call_with_our_own_ids_is_served(legal, service, rpc, field):
    sc, stubs = legal
    getattr(stubs[service], rpc)(
        CASES[(service, rpc, field)](sc.us, sc.us), metadata=md(sc.staff), timeout=10
    )


def test_the_maximum_bill_caps_are_the_callers_schools(legal):
    sc, stubs = legal
    stub = stubs["MaxBillService"]
    got = stub.ListMaxBillCaps(mpb.ListMaxBillCapsRequest(), metadata=md(sc.staff))
    assert [(c.school_year, c.level, c.strict_cents) for c in got.caps] == [("2025-2026", "lager", 9000)]
    stub.SetMaxBillCaps(
        mpb.SetMaxBillCapsRequest(
            caps=mpb.MaxBillCaps(
                school_year="2025-2026", level="lager", strict_cents=8000, less_strict_cents=1
            )
        ),
        metadata=md(sc.staff),
    )
    theirs = MaxBill(sc.rt).list_caps(OTHER_SCHOOL_STAFF, mpb.ListMaxBillCapsRequest())
    assert [(c.strict_cents, c.less_strict_cents) for c in theirs.caps] == [(4500, 50000)]
    counters = stub.GetMaxBill(mpb.GetMaxBillRequest(student_id=sc.us.student), metadata=md(sc.staff))
    assert [c.cap_cents for c in counters.counters] == [8000, 1]


def test_the_periodic_statements_sent_are_the_callers_schools(legal):
    sc, stubs = legal
    sent = stubs["PeriodicStatementService"].SendPeriodicStatements(
        ppb.SendPeriodicStatementsRequest(
            whole_school=True,
            from_date=MONTH[0],
            to_date=MONTH[1],
            languages={sc.them.student: "nl", sc.us.student: "nl"},
            idempotency_key="k-send",
        ),
        metadata=md(sc.staff),
    )
    assert (sent.sent, list(sent.student_ids)) == (1, [sc.us.student])


def test_the_tax_certificates_are_the_callers_schools(legal):
    sc, stubs = legal
    stub = stubs["TaxCertificateService"]
    got = stub.ListChildcareStudents(tpb.ListChildcareStudentsRequest(year=YEAR), metadata=md(sc.staff))
    assert list(got.student_ids) == [sc.us.student]
    theirs = tpb.GenerateTaxCertificatesRequest(year=YEAR, children=[_tax_child(sc.them.student)])
    assert TaxCertificates(sc.rt).generate(OTHER_SCHOOL_STAFF, theirs).created == 1
    ours = tpb.GenerateTaxCertificatesRequest(year=YEAR, children=[_tax_child(sc.us.student)])
    made = stub.GenerateTaxCertificates(ours, metadata=md(sc.staff))
    assert (made.count, made.created) == (1, 1)
    listed = stub.ListTaxCertificates(tpb.ListTaxCertificatesRequest(year=YEAR), metadata=md(sc.staff))
    assert [(c.student_id, c.parent_id) for c in listed.certificates] == [
        (sc.us.student, f"parent-{sc.us.student}")
    ]
    # a school's own legal maximum per day of a year the code's table does not know is its own
    stub.SetDailyCap(tpb.SetDailyCapRequest(year=YEAR + 1, daily_cap_cents=1700), metadata=md(sc.staff))
    with sc.rt.db.unit_of_work() as s:
        assert tq.school_daily_cap(s, STAFF.school_id, YEAR + 1) == 1700
        assert tq.school_daily_cap(s, OTHER_SCHOOL_STAFF.school_id, YEAR + 1) is None


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_id_field_of_every_rpc_is_in_the_matrix(service):
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    expected = {(r, f) for s, r, f in set(CASES) | set(EXEMPT) if s == service}
    assert _fields(SERVICES[service], service) == expected


# Where each service finance serves has its matrix.
MATRICES = {
    "FinanceService": "test_school_scoping.py",
    "TillService": "test_school_scoping.py",
    "ExportsService": "test_school_scoping.py",
    "DirectDebitService": "test_school_scoping.py",
    "RefundService": "test_school_scoping.py",
    **dict.fromkeys(SERVICES, "test_school_scoping_legal.py"),
}


def test_every_finance_service_has_its_matrix():
    """A new service in protos/cartable/finance/v1 must get its scoping matrix."""
    found = set()
    for info in pkgutil.iter_modules(finance_protos.__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"{finance_protos.__name__}.{info.name}")
            found |= set(module.DESCRIPTOR.services_by_name)
    assert found == set(MATRICES)
