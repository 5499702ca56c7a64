"""The refunds' JSON routes in-process against a fake RefundService (issue #18): POST /admin/refunds
(the body checked on its fields before finance, the amount defaulting to the balance, the key passed on,
insufficient_balance as 409), refund batches and their pain.001 file, staff only."""

from __future__ import annotations

from cartable.finance.v1 import sepa_pb2
from kit.errors import Conflict

REFUND = sepa_pb2.Refund(
    id="rf-1",
    wallet_id="w-1",
    student_id="s-1",
    wallet_name="Repas",
    amount_cents=1250,
    iban_masked="BE68 **** **** 0123",
    holder_name="Claire Dubois",
    status="pending",
    created_at="2026-12-02T10:00:00+00:00",
)


def test_a_refund_is_created_with_the_balance_by_default_and_the_key(client, fakes):
    staff = fakes.staff()
    fakes.on("refunds", "CreateRefund", sepa_pb2.CreateRefundResponse(refund=REFUND, created=True))
    resp = client.post(
        "/api/v1/admin/refunds",
        json={"wallet_id": "w-1", "iban": "BE68539007547034", "holder_name": "Claire Dubois"},
        headers={**staff.bearer, "Idempotency-Key": "k-refund"},
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["id"], body["amount_cents"]) == ("rf-1", 1250)
    (req,) = fakes.requests("refunds", "CreateRefund")
    assert (req.wallet_id, req.iban, req.holder_name, req.idempotency_key) == (
        "w-1",
        "BE68539007547034",
        "Claire Dubois",
        "k-refund",
    )
    assert not req.HasField("amount_cents")


def test_a_bad_body_is_refused_on_its_fields_before_finance(client, fakes):
    staff = fakes.staff()
    resp = client.post("/api/v1/admin/refunds", json={"amount_cents": 0}, headers=staff.bearer)
    assert resp.status_code == 400
    fields = resp.get_json()["error"]["fields"]
    assert {"wallet_id", "iban", "holder_name", "amount_cents"} <= set(fields)
    assert fakes.requests("refunds", "CreateRefund") == []


def test_a_short_balance_is_409_insufficient_balance(client, fakes):
    staff = fakes.staff()

    def refuse(_req):
        raise Conflict("the wallet holds less", code="insufficient_balance")

    fakes.on("refunds", "CreateRefund", refuse)
    resp = client.post(
        "/api/v1/admin/refunds",
        json={"wallet_id": "w-1", "iban": "BE68539007547034", "holder_name": "C D", "amount_cents": 99999},
        headers=staff.bearer,
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "insufficient_balance"
    assert fakes.requests("refunds", "CreateRefund")[0].amount_cents == 99999


def test_a_batch_is_created_and_its_file_downloaded(client, fakes):
    staff = fakes.staff()
    batch = sepa_pb2.RefundBatch(id="rb-1", count=2, total_cents=3000, message_id="CRT-RB-1")
    fakes.on("refunds", "CreateRefundBatch", sepa_pb2.CreateRefundBatchResponse(batch=batch, created=True))
    resp = client.post("/api/v1/admin/refund-batches", headers={**staff.bearer, "Idempotency-Key": "k-b"})
    assert resp.status_code == 201
    assert {k: resp.get_json()[k] for k in ("id", "count", "total_cents")} == {
        "id": "rb-1",
        "count": 2,
        "total_cents": 3000,
    }
    assert fakes.requests("refunds", "CreateRefundBatch")[0].idempotency_key == "k-b"
    xml = b"<?xml version='1.0' encoding='UTF-8'?><Document/>"
    fakes.on(
        "refunds",
        "GetRefundBatchFile",
        sepa_pb2.SepaFile(filename="remboursements-rb-1.xml", content=xml, content_type="application/xml"),
    )
    got = client.get("/api/v1/admin/refund-batches/rb-1/pain.001.xml", headers=staff.bearer)
    assert got.status_code == 200 and got.data == xml
    assert got.mimetype == "application/xml"
    assert "attachment" in got.headers["Content-Disposition"]
    assert fakes.requests("refunds", "GetRefundBatchFile")[0].batch_id == "rb-1"


def test_parents_may_not_refund(client, fakes):
    parent = fakes.parent("Emma")
    resp = client.post(
        "/api/v1/admin/refunds",
        json={"wallet_id": "w-1", "iban": "BE68539007547034", "holder_name": "C D"},
        headers=parent.bearer,
    )
    assert resp.status_code == 403
    assert fakes.requests("refunds", "CreateRefund") == []
