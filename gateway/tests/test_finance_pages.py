"""The finance and payment pages in-process: each renders from what finance answers, and a form
reaches finance through the same call as its API route."""

from __future__ import annotations

import html
import re

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import events_pb2
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict

WALLET = pb.Wallet(
    id="w-1", student_id="child-1", name="Repas", balance_cents=123456, structured_communication="+++1+++"
)
INVOICE = pb.Invoice(
    id="i-1",
    student_id="child-1",
    number="2026-0001",
    title="Classe verte",
    issued_on="2026-04-01",
    due_on="2026-05-01",
    total_cents=4500,
    paid_cents=1000,
    status="partially_paid",
    structured_communication="+++123/4567/89002+++",
    lines=[events_pb2.InvoiceLine(label="Séjour", quantity=1, unit_price_cents=4500, amount_cents=4500)],
)
SETTINGS = pb.Settings(
    iban="BE68539007547034",
    beneficiary="École du Parc",
    top_up_methods=["online", "transfer"],
    internal_wallet_payments=True,
)
TRANSFER = pb.TransferDetails(
    iban="BE68539007547034",
    bic="GKCCBEBB",
    beneficiary="École du Parc",
    structured_communication="+++123/4567/89002+++",
    amount_cents=3500,
    epc_qr_svg="<svg></svg>",
)


@pytest.fixture
def parent(client, fakes):
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[WALLET]))
    fakes.on("finance", "ListInvoices", pb.ListInvoicesResponse(invoices=[INVOICE]))
    fakes.on("finance", "GetInvoice", pb.GetInvoiceResponse(invoice=INVOICE))
    fakes.on("finance", "GetSettings", pb.GetSettingsResponse(settings=SETTINGS))
    signed = fakes.parent()
    client.set_cookie("cartable_session", signed.token)
    return signed


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def test_the_balances_page_shows_wallets_and_invoices_in_euros(client, parent):
    resp = client.get("/soldes")
    assert resp.status_code == 200
    html = _text(resp)
    assert "Repas" in html and "2026-0001" in html
    assert "1\u202f234,56\u00a0€" in html  # kit.money.format_eur, as the page's reader writes it
    assert "35,00\u00a0€" in html or "45,00\u00a0€" in html


def test_the_balances_page_speaks_the_readers_language(client, parent):
    html = _text(client.get("/soldes?lang=en"))
    assert "€1,234.56" in html
    html = _text(client.get("/soldes?lang=nl"))
    assert "€\u00a01.234,56" in html


def test_paying_from_a_wallet_on_the_page_calls_finance_once_and_says_it(client, fakes, parent):
    paid = pb.Invoice()
    paid.CopyFrom(INVOICE)
    paid.status = "paid"
    fakes.on("finance", "PayInvoice", pb.PayInvoiceResponse(invoice=paid, payment_id="pay-1"))
    page = client.get("/soldes/factures/i-1/payer")
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]*)"', _text(page)))

    resp = client.post("/soldes/factures/i-1/payer", data={**fields, "wallet_id": "w-1"})

    assert resp.status_code == 303 and resp.headers["Location"].endswith("/soldes#factures")
    (asked,) = fakes.requests("finance", "PayInvoice")
    assert (asked.invoice_id, asked.method, asked.wallet_id, asked.student_id) == (
        "i-1",
        "wallet",
        "w-1",
        "child-1",
    )
    assert asked.idempotency_key == fields["idempotency_key"]


def test_a_refused_payment_on_the_page_says_why(client, fakes, parent):
    def refuse(_req):
        raise Conflict("not enough", code="insufficient_balance")

    fakes.on("finance", "PayInvoice", refuse)
    page = client.get("/soldes/factures/i-1/payer")
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]*)"', _text(page)))
    resp = client.post("/soldes/factures/i-1/payer", data={**fields, "wallet_id": "w-1"})
    assert resp.status_code == 409
    assert "ne couvre pas le montant" in _text(resp)


def test_a_siblings_invoice_page_is_not_found(client, fakes):
    fakes.on("finance", "GetInvoice", pb.GetInvoiceResponse(invoice=INVOICE))
    fakes.on("finance", "GetSettings", pb.GetSettingsResponse(settings=SETTINGS))
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse())
    client.set_cookie("cartable_session", fakes.parent("Emma", "Noah", active=1).token)
    for path in ("/soldes/factures/i-1/payer", "/soldes/factures/i-1/virement"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "Cette facture n'existe pas." in _text(resp), path


def test_operations_and_sales_pages_render_the_period(client, fakes, parent):
    fakes.on(
        "finance",
        "ListOperations",
        pb.ListOperationsResponse(
            operations=[
                pb.Operation(
                    id="o-1",
                    at="2026-04-02T10:00:00+00:00",
                    type="purchase",
                    label="Goûter",
                    amount_cents=-410,
                    payment_method="wallet",
                    wallet_id="w-1",
                    wallet_name="Repas",
                )
            ],
            starts_at="2026-03-04T00:00:00+01:00",
            ends_at="2026-04-03T00:00:00+02:00",
        ),
    )
    fakes.on(
        "finance",
        "ListSales",
        pb.ListSalesResponse(
            lines=[
                pb.SaleLine(
                    id="l-1",
                    at="2026-04-02T10:00:00+00:00",
                    label="Photocopies",
                    quantity=2,
                    unit_price_cents=180,
                    amount_cents=360,
                    wallet_id="w-1",
                    wallet_name="Repas",
                )
            ],
            starts_at="2026-03-04T00:00:00+01:00",
            ends_at="2026-04-03T00:00:00+02:00",
        ),
    )
    ops = client.get("/operations?period=last_30_days&type=purchase")
    assert ops.status_code == 200 and "Goûter" in _text(ops) and "-4,10\u00a0€" in _text(ops)
    (asked,) = fakes.requests("finance", "ListOperations")
    assert (asked.student_id, asked.period.period, asked.type) == ("child-1", "last_30_days", "purchase")
    sales = client.get("/journal-des-ventes")
    assert sales.status_code == 200 and "Photocopies" in _text(sales) and "3,60\u00a0€" in _text(sales)


def test_the_transfer_pages_show_what_to_write(client, fakes, parent):
    fakes.on("finance", "GetWalletTransfer", pb.GetTransferResponse(transfer=TRANSFER, wallet_name="Repas"))
    fakes.on(
        "finance", "GetInvoiceTransfer", pb.GetTransferResponse(transfer=TRANSFER, invoice_status="unpaid")
    )
    wallet = client.get("/soldes/portefeuilles/w-1/virement")
    assert wallet.status_code == 200 and "BE68539007547034" in _text(wallet) and "<svg" in _text(wallet)
    invoice = client.get("/soldes/factures/i-1/virement")
    assert invoice.status_code == 200 and "35,00\u00a0€" in _text(invoice)
    assert fakes.requests("finance", "GetWalletTransfer")[0].qr_title == "Code QR du virement (EPC / SEPA)"


def test_the_return_page_shows_the_payment_and_refreshes_while_open(client, fakes, parent):
    fakes.on(
        "finance",
        "GetPayment",
        pb.GetPaymentResponse(
            payment=pb.Payment(id="pay-1", status="open", amount_cents=1250, purpose="top_up")
        ),
    )
    resp = client.get("/paiements/pay-1/retour")
    assert resp.status_code == 200 and "12,50\u00a0€" in _text(resp)
    assert resp.headers["Refresh"].startswith("4; url=")


def test_the_staff_statement_and_assign_pages_render(client, fakes):
    transfer = pb.UnmatchedTransfer(
        id="t-1",
        amount_cents=5000,
        communication="merci",
        counterparty_name="M. Peeters",
        booked_on="2026-04-02",
        reason="no_communication",
        status="open",
    )
    fakes.on("finance", "ListStatementImports", pb.ListStatementImportsResponse())
    fakes.on("finance", "ListUnmatchedTransfers", pb.ListUnmatchedTransfersResponse(transfers=[transfer]))
    fakes.on("finance", "ListWallets", pb.ListWalletsResponse(wallets=[WALLET]))
    fakes.on("finance", "ListInvoices", pb.ListInvoicesResponse(invoices=[INVOICE]))
    fakes.on(
        "auth",
        "ListStudents",
        auth_pb2.ListStudentsResponse(
            students=[auth_pb2.Student(id="child-1", first_name="Emma", last_name="Peeters", class_name="3A")]
        ),
    )
    client.set_cookie("cartable_session", fakes.staff().token)

    statements = client.get("/gestion/extraits")
    assert statements.status_code == 200 and "50,00\u00a0€" in _text(statements)
    assert fakes.requests("finance", "ListStatementImports")[0].limit == 10

    assign = client.get("/gestion/virements-non-attribues/t-1?student_id=child-1")
    assert assign.status_code == 200
    html = _text(assign)
    assert "Repas" in html and "2026-0001" in html and "35,00\u00a0€" in html
