"""Finance through the gateway in-process: the JSON shapes of API.md and what is asked of finance."""

from __future__ import annotations

from cartable.finance.v1 import events_pb2
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict

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
    credit_cents=200,
    lines=[events_pb2.InvoiceLine(label="Séjour", quantity=1, unit_price_cents=4700, amount_cents=4700)],
)
INVOICE_KEYS = {
    "id",
    "number",
    "title",
    "issued_on",
    "due_on",
    "total_cents",
    "paid_cents",
    "status",
    "structured_communication",
    "collection_pending",
}


def test_the_invoice_list_has_the_shape_of_api_md_and_asks_for_the_active_child(client, fakes):
    fakes.on("finance", "ListInvoices", pb.ListInvoicesResponse(invoices=[INVOICE]))
    parent = fakes.parent("Emma", "Noah", active=1)

    resp = client.get("/api/v1/invoices?status=partially_paid", headers=parent.bearer)

    assert resp.status_code == 200
    body = resp.get_json()
    assert body == {
        "items": [
            {
                "id": "i-1",
                "number": "2026-0001",
                "title": "Classe verte",
                "issued_on": "2026-04-01",
                "due_on": "2026-05-01",
                "total_cents": 4500,
                "paid_cents": 1000,
                "status": "partially_paid",
                "structured_communication": "+++123/4567/89002+++",
                "collection_pending": False,
            }
        ],
        "next_cursor": None,
    }
    (asked,) = fakes.requests("finance", "ListInvoices")
    assert (asked.student_id, asked.status) == ("child-2", "partially_paid")


def test_one_invoice_comes_with_its_lines_and_a_siblings_invoice_is_not_found(client, fakes):
    fakes.on("finance", "GetInvoice", pb.GetInvoiceResponse(invoice=INVOICE))
    parent = fakes.parent("Emma", "Noah", active=0)

    body = client.get("/api/v1/invoices/i-1", headers=parent.bearer).get_json()
    assert set(body) == INVOICE_KEYS | {"student_id", "credit_cents", "lines"}
    assert body["lines"] == [
        {
            "label": "Séjour",
            "quantity": 1,
            "unit_price_cents": 4700,
            "amount_cents": 4700,
            # issue #19's line attributes, at their defaults
            "childcare": False,
            "days": 0,
            "optional": False,
            "max_bill": "",
        }
    ]

    sibling = fakes.parent("Emma", "Noah", active=1)
    resp = client.get("/api/v1/invoices/i-1", headers=sibling.bearer)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_an_unknown_status_filter_is_a_400_naming_the_field(client, fakes):
    parent = fakes.parent()
    resp = client.get("/api/v1/invoices?status=overdue", headers=parent.bearer)
    assert resp.status_code == 400
    assert set(resp.get_json()["error"]["fields"]) == {"status"}
    assert fakes.requests("finance", "ListInvoices") == []


def test_paying_from_a_wallet_answers_the_invoice_and_the_new_balance(client, fakes):
    paid = pb.Invoice()
    paid.CopyFrom(INVOICE)
    paid.paid_cents, paid.status = 4500, "paid"
    fakes.on(
        "finance",
        "PayInvoice",
        pb.PayInvoiceResponse(invoice=paid, payment_id="pay-1", wallet_balance_cents=500),
    )
    parent = fakes.parent()

    resp = client.post(
        "/api/v1/invoices/i-1/payments",
        json={"method": "wallet", "wallet_id": "w-1"},
        headers={**parent.bearer, "Idempotency-Key": "k-1"},
    )

    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"invoice", "payment_id", "wallet_balance_cents"}
    assert set(body["invoice"]) == INVOICE_KEYS and body["invoice"]["status"] == "paid"
    (asked,) = fakes.requests("finance", "PayInvoice")
    assert (asked.invoice_id, asked.method, asked.wallet_id, asked.idempotency_key, asked.student_id) == (
        "i-1",
        "wallet",
        "w-1",
        "k-1",
        "child-1",
    )


def test_a_refusal_of_finance_keeps_its_code(client, fakes):
    def refuse(_req):
        raise Conflict("not enough", code="insufficient_balance")

    fakes.on("finance", "PayInvoice", refuse)
    parent = fakes.parent()
    resp = client.post(
        "/api/v1/invoices/i-1/payments", json={"method": "wallet", "wallet_id": "w-1"}, headers=parent.bearer
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "insufficient_balance"


def test_the_unmatched_transfer_assigned_to_an_invoice_answers_the_invoice(client, fakes):
    fakes.on(
        "finance",
        "AssignUnmatchedTransfer",
        pb.AssignUnmatchedTransferResponse(
            transfer=pb.UnmatchedTransfer(id="t-1", amount_cents=5000, status="assigned"),
            invoice=INVOICE,
            unmatched_rest_cents=1500,
        ),
    )
    staff = fakes.staff()
    resp = client.post(
        "/api/v1/admin/unmatched-transfers/t-1/assign", json={"invoice_id": "i-1"}, headers=staff.bearer
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["unmatched_rest_cents"] == 1500 and set(body["invoice"]) == INVOICE_KEYS
    assert "wallet_balance_cents" not in body
