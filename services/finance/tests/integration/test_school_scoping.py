"""Every staff RPC of the finance service refuses, in the service itself, an id of another school:
not_found, like an id that never existed, and nothing written (every table the same before and after,
outbox and idempotency keys included). Through the real servicer over gRPC, with staff tokens.

A staff token names no student: a student is "of another school" when finance knows it in that school
only (its wallets were opened there), see use_cases/common.require_student_here.

The services of issue #19 (MaxBillService, PeriodicStatementService, TaxCertificateService) have their
matrix in test_school_scoping_legal.py, which also checks every service finance serves has one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import grpc
import pytest

from cartable.finance.v1 import exports_pb2 as xpb
from cartable.finance.v1 import exports_pb2_grpc, finance_pb2_grpc, till_pb2_grpc
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import till_pb2 as tpb
from kit.identity import Identity
from kit.service import start_grpc
from services.finance.app import use_cases
from services.finance.providers import ProviderPayment
from services.finance.tests.conftest import (
    OTHER_SCHOOL_STAFF,
    SCHOOL,
    STAFF,
    md,
    reauthenticated,
    settings,
    snapshot,
)
from services.finance.tests.statement_builders import Mv, build_coda
from services.finance.use_cases.till import Till

THEIRS = OTHER_SCHOOL_STAFF.school_id


class FakeProvider:
    """Stands in for Mollie: every payment it makes is open, with a checkout URL."""

    def __init__(self) -> None:
        self.made: dict[str, ProviderPayment] = {}

    def create_payment(self, *, amount_cents: int, idempotency_key: str, **_kw) -> ProviderPayment:
        if idempotency_key not in self.made:
            pid = "tr_" + uuid.uuid4().hex[:12]
            self.made[idempotency_key] = ProviderPayment(
                id=pid, status="open", amount_cents=amount_cents, checkout_url=f"https://pay.invalid/{pid}"
            )
        return self.made[idempotency_key]

    def get_payment(self, payment_id: str) -> ProviderPayment:
        raise LookupError(payment_id)

    def list_refunds(self, payment_id: str):
        return []

    def list_chargebacks(self, payment_id: str):
        return []


@dataclass
class Schools:
    rt: object
    stub: object
    staff: str  # a staff member of SCHOOL: the caller of every call below
    us: SimpleNamespace  # ids of SCHOOL
    them: SimpleNamespace  # ids of THEIRS


def _school(uc, who: Identity, student: str, iban: str) -> SimpleNamespace:
    """A school with its settings, a wallet type, a student with 50 € in their wallet, an open invoice,
    a cash payment, a statement import and an unmatched transfer."""
    uc.settings.update_settings(
        reauthenticated(who, uc.settings.rt), settings(iban=iban, online_payment_for_orders=True)
    )
    uc.wallets.create_wallet_type(who, pb.CreateWalletTypeRequest(name="Repas"))
    (wallet,) = uc.wallets.open_student_wallets(
        who, pb.OpenStudentWalletsRequest(student_id=student, level="primary", first_name=student.title())
    ).wallets
    paid = uc.operations.record_top_up(
        who, pb.RecordTopUpRequest(wallet_id=wallet.id, amount_cents=5000, method="cash")
    )
    invoice = uc.invoices.create_invoice(
        who,
        pb.CreateInvoiceRequest(
            student_id=student,
            title="Classe verte",
            lines=[pb.InvoiceLineInput(label="Séjour", quantity=1, unit_price_cents=1200)],
        ),
    ).invoice
    uc.statements.import_statement(
        who,
        pb.ImportStatementRequest(
            content=build_coda([Mv(2500, free_text="pour les repas", counterparty_name="X")], account=iban),
            filename="extrait.cod",
        ),
    )
    (transfer,) = uc.transfers.list_unmatched(who, pb.ListUnmatchedTransfersRequest()).transfers
    return SimpleNamespace(
        student=student, wallet=wallet.id, invoice=invoice.id, payment=paid.payment_id, transfer=transfer.id
    )


@pytest.fixture
def schools(finance_rt, keys):
    provider = FakeProvider()
    finance_rt.extras["payment_provider"] = provider
    uc = use_cases(finance_rt, provider)
    us = _school(uc, STAFF, "emma", "BE68539007547034")
    them = _school(uc, OTHER_SCHOOL_STAFF, "zoe", "BE71096123456769")
    server = start_grpc(finance_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    staff = keys.token(role="staff", school_id=SCHOOL, account_id=STAFF.account_id)
    yield Schools(finance_rt, finance_pb2_grpc.FinanceServiceStub(channel), staff, us, them)
    channel.close()
    server.stop(0)


# (RPC, the request field holding the other school's id) -> the request, built from our ids except
# that field, which takes the ids given (ours in the control test, theirs in the matrix).
Build = Callable[[SimpleNamespace, SimpleNamespace], object]
P = pb.PeriodFilter(period="last_30_days")
LINES = [pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=300)]
SALE = [pb.SaleLineInput(label="Repas", quantity=1, unit_price_cents=300)]
CASES: dict[tuple[str, str], Build] = {
    ("ListWallets", "student_id"): lambda us, x: pb.ListWalletsRequest(student_id=x.student),
    ("OpenStudentWallets", "student_id"): lambda us, x: pb.OpenStudentWalletsRequest(
        student_id=x.student, level="secondary"
    ),
    ("CreateInvoice", "student_id"): lambda us, x: pb.CreateInvoiceRequest(
        student_id=x.student, title="Piscine", lines=LINES, idempotency_key="k-inv"
    ),
    ("CreateOrderInvoice", "student_id"): lambda us, x: pb.CreateOrderInvoiceRequest(
        student_id=x.student, title="Commande", lines=LINES, idempotency_key="k-order"
    ),
    ("ListInvoices", "student_id"): lambda us, x: pb.ListInvoicesRequest(student_id=x.student),
    ("GetInvoice", "invoice_id"): lambda us, x: pb.GetInvoiceRequest(invoice_id=x.invoice),
    ("BulkCreateInvoices", "student_ids"): lambda us, x: pb.BulkCreateInvoicesRequest(
        student_ids=[x.student], title="Piscine", lines=LINES, idempotency_key="k-bulk"
    ),
    ("ListSchoolInvoices", "student_id"): lambda us, x: pb.ListSchoolInvoicesRequest(student_id=x.student),
    ("PayInvoice", "invoice_id"): lambda us, x: pb.PayInvoiceRequest(
        invoice_id=x.invoice, method="wallet", wallet_id=us.wallet, idempotency_key="k-pay1"
    ),
    ("PayInvoice", "wallet_id"): lambda us, x: pb.PayInvoiceRequest(
        invoice_id=us.invoice, method="wallet", wallet_id=x.wallet, idempotency_key="k-pay2"
    ),
    ("PayInvoice", "student_id"): lambda us, x: pb.PayInvoiceRequest(
        invoice_id=us.invoice,
        method="wallet",
        wallet_id=us.wallet,
        student_id=x.student,
        idempotency_key="k-pay3",
    ),
    ("IssueCreditNote", "invoice_id"): lambda us, x: pb.IssueCreditNoteRequest(
        invoice_id=x.invoice, reason="erreur", idempotency_key="k-cn"
    ),
    ("RecordTopUp", "wallet_id"): lambda us, x: pb.RecordTopUpRequest(
        wallet_id=x.wallet, amount_cents=700, method="cash", idempotency_key="k-top"
    ),
    ("RecordSale", "student_id"): lambda us, x: pb.RecordSaleRequest(
        student_id=x.student, wallet_id=us.wallet, lines=SALE, idempotency_key="k-sale1"
    ),
    ("RecordSale", "wallet_id"): lambda us, x: pb.RecordSaleRequest(
        student_id=us.student, wallet_id=x.wallet, lines=SALE, idempotency_key="k-sale2"
    ),
    ("ListOperations", "student_id"): lambda us, x: pb.ListOperationsRequest(student_id=x.student, period=P),
    ("ListOperations", "wallet_id"): lambda us, x: pb.ListOperationsRequest(
        student_id=us.student, wallet_id=x.wallet, period=P
    ),
    ("ListSales", "student_id"): lambda us, x: pb.ListSalesRequest(student_id=x.student, period=P),
    ("ListSales", "wallet_id"): lambda us, x: pb.ListSalesRequest(wallet_id=x.wallet, period=P),
    ("StartTopUp", "wallet_id"): lambda us, x: pb.StartTopUpRequest(
        wallet_id=x.wallet, amount_cents=1000, method="online", idempotency_key="k-otu1"
    ),
    ("StartTopUp", "student_id"): lambda us, x: pb.StartTopUpRequest(
        wallet_id=us.wallet,
        student_id=x.student,
        amount_cents=1000,
        method="online",
        idempotency_key="k-otu2",
    ),
    ("StartInvoicePayment", "invoice_id"): lambda us, x: pb.StartInvoicePaymentRequest(
        invoice_id=x.invoice, method="online", idempotency_key="k-oinv1"
    ),
    ("StartInvoicePayment", "student_id"): lambda us, x: pb.StartInvoicePaymentRequest(
        invoice_id=us.invoice, student_id=x.student, method="online", idempotency_key="k-oinv2"
    ),
    ("GetPayment", "payment_id"): lambda us, x: pb.GetPaymentRequest(payment_id=x.payment),
    ("GetWalletTransfer", "wallet_id"): lambda us, x: pb.GetWalletTransferRequest(wallet_id=x.wallet),
    ("GetWalletTransfer", "student_id"): lambda us, x: pb.GetWalletTransferRequest(
        wallet_id=us.wallet, student_id=x.student
    ),
    ("GetInvoiceTransfer", "invoice_id"): lambda us, x: pb.GetInvoiceTransferRequest(invoice_id=x.invoice),
    ("GetInvoiceTransfer", "student_id"): lambda us, x: pb.GetInvoiceTransferRequest(
        invoice_id=us.invoice, student_id=x.student
    ),
    ("AssignUnmatchedTransfer", "transfer_id"): lambda us, x: pb.AssignUnmatchedTransferRequest(
        transfer_id=x.transfer, wallet_id=us.wallet, idempotency_key="k-as1"
    ),
    ("AssignUnmatchedTransfer", "wallet_id"): lambda us, x: pb.AssignUnmatchedTransferRequest(
        transfer_id=us.transfer, wallet_id=x.wallet, idempotency_key="k-as2"
    ),
    ("AssignUnmatchedTransfer", "invoice_id"): lambda us, x: pb.AssignUnmatchedTransferRequest(
        transfer_id=us.transfer, invoice_id=x.invoice, idempotency_key="k-as3"
    ),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # The school's own SEPA creditor identifier (a value it types, checked), not a reference to a row.
    ("UpdateSettings", "settings.creditor_id"): "a value, not a reference",
    # Public (no identity, hence no school): an id not in our payments table answers known=false with
    # no call to the provider (test_webhook_ids.py); an id of ours is applied from the provider's word.
    ("HandlePaymentWebhook", "provider_payment_id"): "public, no school",
}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_not_found_and_nothing_is_written(schools, rpc, field):
    build = CASES[(rpc, field)]
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(build(schools.us, schools.them), metadata=md(schools.staff), timeout=10)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    build = CASES[(rpc, field)]
    getattr(schools.stub, rpc)(build(schools.us, schools.us), metadata=md(schools.staff), timeout=10)


def test_a_student_finance_never_heard_of_is_not_found_either(schools):
    """Not an empty list: staff see not_found, as for another school's student."""
    for rpc, req in (
        ("ListWallets", pb.ListWalletsRequest(student_id="nobody")),
        ("ListInvoices", pb.ListInvoicesRequest(student_id="nobody")),
        ("ListOperations", pb.ListOperationsRequest(student_id="nobody")),
        ("ListSales", pb.ListSalesRequest(student_id="nobody")),
    ):
        with pytest.raises(grpc.RpcError) as exc:
            getattr(schools.stub, rpc)(req, metadata=md(schools.staff), timeout=10)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND, rpc


def test_parents_of_a_child_without_wallets_yet_still_get_an_empty_list(schools, keys):
    """A parent's token names the child: their lists stay lists while finance has not opened its
    wallets yet (the event may be on its way)."""
    mum = keys.token(role="parent", school_id=SCHOOL, students={"newcomer": "1A"})
    got = schools.stub.ListWallets(pb.ListWalletsRequest(student_id="newcomer"), metadata=md(mum))
    assert list(got.wallets) == []
    got = schools.stub.ListInvoices(pb.ListInvoicesRequest(student_id="newcomer"), metadata=md(mum))
    assert list(got.invoices) == []


def _id_fields(message, prefix: str = "") -> set[str]:
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name.endswith(("_id", "_ids")):
            out.add(prefix + f.name)
    return out


def test_every_id_field_of_every_rpc_is_in_the_matrix():
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    service = pb.DESCRIPTOR.services_by_name["FinanceService"]
    fields = {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)}
    assert fields == set(CASES) | set(EXEMPT)


# -- TillService (the till's price list, use_cases/till.py), served beside FinanceService ------------

TILL_CASES: dict[tuple[str, str], Build] = {
    ("SaveTillItem", "item_id"): lambda us, x: tpb.SaveTillItemRequest(item_id=x.till_item, price_cents=150),
    ("SaveTillItem", "wallet_type_id"): lambda us, x: tpb.SaveTillItemRequest(
        label="Soupe", price_cents=120, wallet_type_id=x.wallet_type
    ),
    ("RemoveTillItem", "item_id"): lambda us, x: tpb.RemoveTillItemRequest(item_id=x.till_item),
}


@pytest.fixture
def tills(schools):
    """``schools`` with a till item and the wallet type's id in each school, and a TillService stub."""
    till, wallets = Till(schools.rt), use_cases(schools.rt, FakeProvider()).wallets
    for ids, who in ((schools.us, STAFF), (schools.them, OTHER_SCHOOL_STAFF)):
        ids.till_item = till.save_item(who, tpb.SaveTillItemRequest(label="Repas", price_cents=395)).item.id
        ids.wallet_type = wallets.list_wallet_types(who).wallet_types[0].id
    server = start_grpc(schools.rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield schools, till_pb2_grpc.TillServiceStub(channel)
    channel.close()
    server.stop(0)


TILL_IDS = [f"{r}.{f}" for r, f in sorted(TILL_CASES)]


@pytest.mark.parametrize(("rpc", "field"), sorted(TILL_CASES), ids=TILL_IDS)
def test_a_till_call_with_an_id_of_another_school_is_not_found_and_writes_nothing(tills, rpc, field):
    schools, stub = tills
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(stub, rpc)(
            TILL_CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff), timeout=10
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(TILL_CASES), ids=TILL_IDS)
def test_the_same_till_call_with_our_own_ids_is_served(tills, rpc, field):
    schools, stub = tills
    getattr(stub, rpc)(
        TILL_CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff), timeout=10
    )


def test_every_id_field_of_every_till_rpc_is_in_the_matrix():
    service = tpb.DESCRIPTOR.services_by_name["TillService"]
    assert {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)} == set(TILL_CASES)


# -- ExportsService (the accountant's exports and the bank reconciliation), beside FinanceService -----
# ListExportRows and GetExportTotals take no id: they read the caller's school only (test_exports.py
# checks another school's staff export none of ours).

EXPORTS_CASES: dict[tuple[str, str], Build] = {
    ("GetStatementImport", "import_id"): lambda us, x: xpb.GetStatementImportRequest(
        import_id=x.statement_import
    ),
}


@pytest.fixture
def exports(schools):
    """``schools`` with each school's statement import id, and an ExportsService stub."""
    statements = use_cases(schools.rt, FakeProvider()).statements
    for ids, who in ((schools.us, STAFF), (schools.them, OTHER_SCHOOL_STAFF)):
        (imp,) = statements.list_imports(who, pb.ListStatementImportsRequest()).imports
        ids.statement_import = imp.id
    server = start_grpc(schools.rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield schools, exports_pb2_grpc.ExportsServiceStub(channel)
    channel.close()
    server.stop(0)


EXPORTS_IDS = [f"{r}.{f}" for r, f in sorted(EXPORTS_CASES)]


@pytest.mark.parametrize(("rpc", "field"), sorted(EXPORTS_CASES), ids=EXPORTS_IDS)
def test_an_exports_call_with_an_id_of_another_school_is_not_found_and_writes_nothing(exports, rpc, field):
    schools, stub = exports
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(stub, rpc)(
            EXPORTS_CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff), timeout=10
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(EXPORTS_CASES), ids=EXPORTS_IDS)
def test_the_same_exports_call_with_our_own_ids_is_served(exports, rpc, field):
    schools, stub = exports
    getattr(stub, rpc)(
        EXPORTS_CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff), timeout=10
    )


def test_the_exports_list_only_the_callers_school(exports):
    schools, stub = exports
    day = schools.rt.clock().date().isoformat()
    for name in ("invoices", "payments", "operations", "sales"):
        page = stub.ListExportRows(
            xpb.ListExportRowsRequest(name=name, from_date=day, to_date=day), metadata=md(schools.staff)
        )
        students = {r.student_id for r in getattr(page, name)}
        assert schools.them.student not in students, name
    got = stub.ListExportRows(
        xpb.ListExportRowsRequest(name="payments", from_date=day, to_date=day), metadata=md(schools.staff)
    )
    assert [p.payment_id for p in got.payments] == [schools.us.payment]


def test_every_id_field_of_every_exports_rpc_is_in_the_matrix():
    service = xpb.DESCRIPTOR.services_by_name["ExportsService"]
    assert {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)} == set(EXPORTS_CASES)
