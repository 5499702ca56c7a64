"""The school's direct-debit JSON routes in-process against a fake DirectDebitService (issue #18): a
batch created with the dates and the Idempotency-Key passed on, bad dates refused on their fields
before finance, finance's refusals as API.md says them (400 with fields, 409 batch_empty and
method_disabled, 404 for another school's), the list's keyset pages, one batch with its items, the
pain.008 file as an attachment, the school's mandates and a revocation, staff only, OpenAPI."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import sepa_pb2
from kit.errors import Conflict, InvalidRequest, NotFound

BATCH = sepa_pb2.DirectDebitBatch(
    id="dd-1",
    collection_date="2026-12-15",
    invoices_due_by="2026-12-10",
    count=2,
    total_cents=7_450,
    status="created",
    message_id="CARTABLE-DD-0001",
    created_at="2026-12-02T09:00:00+01:00",
)
ITEMS = [
    sepa_pb2.DirectDebitItem(
        id="it-1",
        kind="invoice",
        student_id="s-emma",
        invoice_id="inv-1",
        invoice_number="2026-0042",
        amount_cents=4_950,
        mandate_id="m-1",
        mandate_reference="CARTABLE-M-0001",
        sequence_type="FRST",
        end_to_end_id="E2E-1",
        remittance="+++090/9337/55493+++",
        status="returned",
        return_reason="AM04",
        holder_name="Sophie Peeters",
    ),
    sepa_pb2.DirectDebitItem(
        id="it-2",
        kind="top_up",
        student_id="s-leo",
        wallet_id="w-leo",
        wallet_name="Repas",
        amount_cents=2_500,
        mandate_id="m-2",
        mandate_reference="CARTABLE-M-0002",
        sequence_type="RCUR",
        end_to_end_id="E2E-2",
        status="collected",
        holder_name="Marc Dubois",
    ),
]
MANDATE = sepa_pb2.Mandate(
    id="m-1",
    reference="CARTABLE-M-0001",
    iban_last4="0123",
    iban_masked="BE68 **** **** 0123",
    holder_name="Sophie Peeters",
    signed_at="2026-11-20T18:00:00+01:00",
    status="active",
    student_ids=["s-emma"],
    parent_account_id="p-sophie",
    creditor_id="BE69ZZZ050D000000008",
)
PATH = "/api/v1/admin/direct-debits"


def created(req: sepa_pb2.CreateDirectDebitBatchRequest) -> sepa_pb2.CreateDirectDebitBatchResponse:
    batch = sepa_pb2.DirectDebitBatch()
    batch.CopyFrom(BATCH)
    batch.collection_date = req.collection_date
    batch.invoices_due_by = req.invoices_due_by or req.collection_date
    return sepa_pb2.CreateDirectDebitBatchResponse(batch=batch, created=True)


def refuse(err):
    def handler(_req):
        raise err

    return handler


# -- a batch ------------------------------------------------------------------------------------------


def test_a_batch_is_created_with_the_dates_and_the_idempotency_key(client, fakes):
    staff = fakes.staff()
    fakes.on("direct_debits", "CreateDirectDebitBatch", created)
    resp = client.post(
        PATH,
        json={"collection_date": "2026-12-15", "invoices_due_by": "2026-12-10"},
        headers={**staff.bearer, "Idempotency-Key": "k-batch-1"},
    )
    assert resp.status_code == 201
    assert resp.get_json() == {
        "id": "dd-1",
        "count": 2,
        "total_cents": 7_450,
        "collection_date": "2026-12-15",
        "invoices_due_by": "2026-12-10",
        "collected_cents": 0,
        "returned_cents": 0,
        "status": "created",
        "message_id": "CARTABLE-DD-0001",
        "created_at": "2026-12-02T09:00:00+01:00",
    }
    (req,) = fakes.requests("direct_debits", "CreateDirectDebitBatch")
    assert (req.collection_date, req.invoices_due_by, req.idempotency_key) == (
        "2026-12-15",
        "2026-12-10",
        "k-batch-1",
    )


def test_without_invoices_due_by_finance_is_given_an_empty_one(client, fakes):
    fakes.on("direct_debits", "CreateDirectDebitBatch", created)
    resp = client.post(PATH, json={"collection_date": "2026-12-15"}, headers=fakes.staff().bearer)
    assert resp.status_code == 201 and resp.get_json()["invoices_due_by"] == "2026-12-15"
    (req,) = fakes.requests("direct_debits", "CreateDirectDebitBatch")
    assert req.invoices_due_by == "" and req.idempotency_key == ""


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"collection_date"}),
        ({"collection_date": ""}, {"collection_date"}),
        ({"collection_date": "15/12/2026"}, {"collection_date"}),
        ({"collection_date": "2026-02-30"}, {"collection_date"}),
        ({"collection_date": 20261215}, {"collection_date"}),
        ({"collection_date": "2026-12-15", "invoices_due_by": "demain"}, {"invoices_due_by"}),
        ({"collection_date": "x", "invoices_due_by": "2026-13-01"}, {"collection_date", "invoices_due_by"}),
    ],
)
def test_bad_dates_are_refused_on_their_fields_before_finance(client, fakes, body, fields):
    resp = client.post(PATH, json=body, headers=fakes.staff().bearer)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == fields
    assert fakes.requests("direct_debits", "CreateDirectDebitBatch") == []


def test_a_body_that_is_not_an_object_is_a_400(client, fakes):
    resp = client.post(PATH, data="[]", content_type="application/json", headers=fakes.staff().bearer)
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"] == {
        "body": "expected a JSON object"
    }


def test_finance_refusing_the_collection_date_is_a_400_on_its_field(client, fakes):
    fakes.on(
        "direct_debits",
        "CreateDirectDebitBatch",
        refuse(InvalidRequest("at least tomorrow", fields={"collection_date": "at least tomorrow"})),
    )
    resp = client.post(PATH, json={"collection_date": "2026-12-02"}, headers=fakes.staff().bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {
        "code": "invalid_request",
        "message": "at least tomorrow",
        "fields": {"collection_date": "at least tomorrow"},
    }


@pytest.mark.parametrize("code", ["batch_empty", "method_disabled", "idempotency_key_reused"])
def test_finances_conflicts_are_409_with_their_code(client, fakes, code):
    fakes.on("direct_debits", "CreateDirectDebitBatch", refuse(Conflict("refused", code=code)))
    resp = client.post(PATH, json={"collection_date": "2026-12-15"}, headers=fakes.staff().bearer)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == code and "fields" not in error


def test_a_cookie_caller_needs_the_csrf_header(client, fakes):
    staff = fakes.staff()
    fakes.on("direct_debits", "CreateDirectDebitBatch", created)
    client.set_cookie("cartable_session", staff.token)
    refused = client.post(PATH, json={"collection_date": "2026-12-15"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert fakes.requests("direct_debits", "CreateDirectDebitBatch") == []
    ok = client.post(PATH, json={"collection_date": "2026-12-15"}, headers={"X-CSRF-Token": staff.csrf})
    assert ok.status_code == 201


# -- the batches --------------------------------------------------------------------------------------


def test_the_batches_are_listed_by_keyset_pages(client, fakes):
    staff = fakes.staff()
    fakes.on(
        "direct_debits",
        "ListDirectDebitBatches",
        sepa_pb2.ListDirectDebitBatchesResponse(items=[BATCH], next_cursor="c-2"),
    )
    resp = client.get(f"{PATH}?limit=1&cursor=c-1", headers=staff.bearer)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["next_cursor"] == "c-2" and [b["id"] for b in body["items"]] == ["dd-1"]
    assert "items" not in body["items"][0]
    (req,) = fakes.requests("direct_debits", "ListDirectDebitBatches")
    assert (req.limit, req.cursor) == (1, "c-1")
    fakes.on("direct_debits", "ListDirectDebitBatches", sepa_pb2.ListDirectDebitBatchesResponse())
    assert client.get(PATH, headers=staff.bearer).get_json() == {"items": [], "next_cursor": None}
    assert fakes.requests("direct_debits", "ListDirectDebitBatches")[-1].limit == 50
    for bad in ("0", "201", "x"):
        resp = client.get(f"{PATH}?limit={bad}", headers=staff.bearer)
        assert resp.status_code == 400 and "limit" in resp.get_json()["error"]["fields"]


def test_a_bad_cursor_is_finances_400(client, fakes):
    fakes.on(
        "direct_debits",
        "ListDirectDebitBatches",
        refuse(InvalidRequest("bad cursor", fields={"cursor": "use next_cursor as given"})),
    )
    resp = client.get(f"{PATH}?cursor=nope", headers=fakes.staff().bearer)
    assert resp.status_code == 400 and "cursor" in resp.get_json()["error"]["fields"]


def test_one_batch_comes_with_its_items(client, fakes):
    batch = sepa_pb2.DirectDebitBatch()
    batch.CopyFrom(BATCH)
    batch.items.extend(ITEMS)
    fakes.on("direct_debits", "GetDirectDebitBatch", sepa_pb2.GetDirectDebitBatchResponse(batch=batch))
    resp = client.get(f"{PATH}/dd-1", headers=fakes.staff().bearer)
    assert resp.status_code == 200
    invoice, top_up = resp.get_json()["items"]
    assert invoice == {
        "id": "it-1",
        "kind": "invoice",
        "student_id": "s-emma",
        "invoice_id": "inv-1",
        "invoice_number": "2026-0042",
        "wallet_id": None,
        "wallet_name": None,
        "amount_cents": 4_950,
        "mandate_id": "m-1",
        "mandate_reference": "CARTABLE-M-0001",
        "holder_name": "Sophie Peeters",
        "sequence_type": "FRST",
        "end_to_end_id": "E2E-1",
        "remittance": "+++090/9337/55493+++",
        "status": "returned",
        "return_reason": "AM04",
    }
    assert (top_up["invoice_id"], top_up["wallet_id"], top_up["wallet_name"]) == (None, "w-leo", "Repas")
    assert top_up["return_reason"] is None and top_up["sequence_type"] == "RCUR"
    assert fakes.requests("direct_debits", "GetDirectDebitBatch")[0].batch_id == "dd-1"


def test_another_schools_batch_is_not_found(client, fakes):
    fakes.on("direct_debits", "GetDirectDebitBatch", refuse(NotFound("no such batch")))
    fakes.on("direct_debits", "GetDirectDebitFile", refuse(NotFound("no such batch")))
    staff = fakes.staff()
    assert client.get(f"{PATH}/theirs", headers=staff.bearer).status_code == 404
    resp = client.get(f"{PATH}/theirs/pain.008.xml", headers=staff.bearer)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


# -- the file -----------------------------------------------------------------------------------------

XML = b'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>'


def test_the_pain008_file_is_an_xml_attachment_under_its_name(client, fakes):
    fakes.on(
        "direct_debits",
        "GetDirectDebitFile",
        sepa_pb2.SepaFile(
            filename="prelevements-2026-12-15.xml", content=XML, content_type="application/xml"
        ),
    )
    resp = client.get(f"{PATH}/dd-1/pain.008.xml", headers=fakes.staff().bearer)
    assert resp.status_code == 200 and resp.data == XML
    assert resp.mimetype == "application/xml"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="prelevements-2026-12-15.xml"'
    assert resp.headers["Cache-Control"] == "no-store"
    assert fakes.requests("direct_debits", "GetDirectDebitFile")[0].batch_id == "dd-1"


def test_a_file_name_that_could_break_the_header_is_cleaned(client, fakes):
    fakes.on("direct_debits", "GetDirectDebitFile", sepa_pb2.SepaFile(filename='a"\r\nb.xml', content=XML))
    resp = client.get(f"{PATH}/dd-1/pain.008.xml", headers=fakes.staff().bearer)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="ab.xml"'
    assert resp.mimetype == "application/xml"
    fakes.on("direct_debits", "GetDirectDebitFile", sepa_pb2.SepaFile(filename="«»", content=XML))
    resp = client.get(f"{PATH}/dd-1/pain.008.xml", headers=fakes.staff().bearer)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="prelevements-dd-1.xml"'


# -- mandates -----------------------------------------------------------------------------------------


def test_the_schools_mandates_are_listed_filtered_by_student(client, fakes):
    revoked = sepa_pb2.Mandate(
        id="m-0", reference="CARTABLE-M-0000", status="revoked", revoked_at="2026-11-01T10:00:00+01:00",
        revoked_reason="staff", student_ids=["s-emma"],
    )  # fmt: skip
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[MANDATE, revoked]))
    resp = client.get("/api/v1/admin/mandates?student_id=s-emma", headers=fakes.staff().bearer)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["next_cursor"] is None
    first, second = body["items"]
    assert first == {
        "id": "m-1",
        "reference": "CARTABLE-M-0001",
        "iban_last4": "0123",
        "iban_masked": "BE68 **** **** 0123",
        "bic": None,
        "holder_name": "Sophie Peeters",
        "signed_at": "2026-11-20T18:00:00+01:00",
        "status": "active",
        "revoked_at": None,
        "revoked_reason": None,
        "student_ids": ["s-emma"],
        "parent_account_id": "p-sophie",
        "first_collected": False,
        "creditor_id": "BE69ZZZ050D000000008",
    }
    assert (second["status"], second["revoked_reason"]) == ("revoked", "staff")
    assert fakes.requests("direct_debits", "ListMandates")[0].student_id == "s-emma"
    client.get("/api/v1/admin/mandates", headers=fakes.staff().bearer)
    assert fakes.requests("direct_debits", "ListMandates")[1].student_id == ""


def test_a_mandate_is_revoked_with_delete(client, fakes):
    fakes.on(
        "direct_debits", "RevokeMandate", sepa_pb2.RevokeMandateResponse(mandate=MANDATE, revoked_now=True)
    )
    resp = client.delete("/api/v1/admin/mandates/m-1", headers=fakes.staff().bearer)
    assert resp.status_code == 204 and resp.data == b""
    assert fakes.requests("direct_debits", "RevokeMandate")[0].mandate_id == "m-1"
    fakes.on("direct_debits", "RevokeMandate", refuse(NotFound("no such mandate")))
    assert client.delete("/api/v1/admin/mandates/theirs", headers=fakes.staff().bearer).status_code == 404


# -- who may ------------------------------------------------------------------------------------------


def test_parents_and_strangers_may_not_use_the_schools_collections(client, fakes):
    mum = fakes.parent()
    routes = [
        ("post", PATH),
        ("get", PATH),
        ("get", f"{PATH}/dd-1"),
        ("get", f"{PATH}/dd-1/pain.008.xml"),
        ("get", "/api/v1/admin/mandates"),
        ("delete", "/api/v1/admin/mandates/m-1"),
    ]
    for method, path in routes:
        resp = getattr(client, method)(path, json={"collection_date": "2026-12-15"}, headers=mum.bearer)
        assert resp.status_code == 403, (method, path)
        assert getattr(client, method)(path).status_code == 401, (method, path)
    for rpc_name in (
        "CreateDirectDebitBatch",
        "ListDirectDebitBatches",
        "GetDirectDebitFile",
        "RevokeMandate",
    ):
        assert fakes.requests("direct_debits", rpc_name) == []


def test_finance_down_is_a_503(client, fakes):
    from kit.errors import Unavailable

    fakes.on("direct_debits", "ListDirectDebitBatches", refuse(Unavailable("down", code="unavailable")))
    resp = client.get(PATH, headers=fakes.staff().bearer)
    assert resp.status_code == 503 and resp.headers["Retry-After"]


def test_every_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths[PATH]) == {"get", "post"}
    assert "201" in paths[PATH]["post"]["responses"] and "409" in paths[PATH]["post"]["responses"]
    assert "get" in paths[f"{PATH}/{{id}}"]
    assert "application/xml" in paths[f"{PATH}/{{id}}/pain.008.xml"]["get"]["responses"]["200"]["content"]
    assert "get" in paths["/api/v1/admin/mandates"] and "delete" in paths["/api/v1/admin/mandates/{id}"]
    assert {"DirectDebitBatch", "DirectDebitItem", "SchoolMandate"} <= set(spec["components"]["schemas"])
