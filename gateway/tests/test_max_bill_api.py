"""The Flemish maximum bill's JSON routes in-process against fake services (issue #19): caps listed and
set, a student's counters, the invoice endpoints' override and their 409 max_bill_exceeded with details."""

from __future__ import annotations

from cartable.finance.v1 import finance_pb2, max_bill_pb2
from kit.errors import Conflict

FIELDS = {
    "cap": "strict",
    "cap_cents": "10000",
    "used_cents": "6000",
    "left_cents": "4000",
    "adding_cents": "5000",
    "student_id": "emma",
    "school_year": "2026-2027",
    "level": "lager",
}
DETAILS = {**FIELDS, **{k: int(v) for k, v in FIELDS.items() if k.endswith("_cents")}}


def refuse(req):
    raise Conflict("past the strict maximum bill", code="max_bill_exceeded", fields=FIELDS)


def test_the_counters_of_a_student(client, fakes):
    staff = fakes.staff()
    fakes.on(
        "max_bill",
        "GetMaxBill",
        max_bill_pb2.GetMaxBillResponse(
            student_id="emma",
            school_year="2026-2027",
            level="lager",
            capped=True,
            counters=[
                max_bill_pb2.MaxBillCounter(cap="strict", cap_cents=10000, used_cents=6000, left_cents=4000),
                max_bill_pb2.MaxBillCounter(
                    cap="less_strict", cap_cents=50000, used_cents=0, left_cents=50000
                ),
            ],
        ),
    )
    resp = client.get("/api/v1/admin/students/emma/max-bill?school_year=2026-2027", headers=staff.bearer)
    assert resp.status_code == 200
    assert resp.get_json() == {
        "student_id": "emma",
        "school_year": "2026-2027",
        "level": "lager",
        "capped": True,
        "counters": [
            {"cap": "strict", "cap_cents": 10000, "used_cents": 6000, "left_cents": 4000},
            {"cap": "less_strict", "cap_cents": 50000, "used_cents": 0, "left_cents": 50000},
        ],
    }
    (req,) = fakes.requests("max_bill", "GetMaxBill")
    assert (req.student_id, req.school_year) == ("emma", "2026-2027")
    parent = fakes.parent("Emma")
    assert client.get("/api/v1/admin/students/emma/max-bill", headers=parent.bearer).status_code == 403


def test_caps_are_listed_and_set(client, fakes):
    staff = fakes.staff()
    caps = max_bill_pb2.MaxBillCaps(
        school_year="2026-2027", level="kleuter", strict_cents=5000, less_strict_cents=0
    )
    fakes.on("max_bill", "ListMaxBillCaps", max_bill_pb2.ListMaxBillCapsResponse(caps=[caps]))
    fakes.on("max_bill", "SetMaxBillCaps", lambda req: max_bill_pb2.SetMaxBillCapsResponse(caps=req.caps))
    listed = client.get("/api/v1/admin/max-bill/caps", headers=staff.bearer).get_json()
    assert listed["items"][0]["level"] == "kleuter" and listed["items"][0]["strict_cents"] == 5000
    resp = client.put(
        "/api/v1/admin/max-bill/caps",
        json={
            "school_year": "2026-2027",
            "level": "lager",
            "strict_cents": 10000,
            "less_strict_cents": 50000,
        },
        headers=staff.bearer,
    )
    assert resp.status_code == 200 and resp.get_json()["less_strict_cents"] == 50000
    bad = client.put("/api/v1/admin/max-bill/caps", json={"school_year": "2026-2027"}, headers=staff.bearer)
    assert bad.status_code == 400 and "level" in bad.get_json()["error"]["fields"]


def test_an_invoice_past_a_cap_is_409_with_details_and_the_override_is_passed_on(client, fakes):
    staff = fakes.staff()
    fakes.on("finance", "CreateInvoice", refuse)
    body = {
        "student_id": "emma",
        "title": "Uitstap",
        "lines": [{"label": "Bus", "unit_price_cents": 5000, "max_bill": "strict"}],
    }
    resp = client.post("/api/v1/admin/invoices", json=body, headers=staff.bearer)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "max_bill_exceeded" and error["details"] == DETAILS
    fakes.on(
        "finance", "CreateInvoice", finance_pb2.CreateInvoiceResponse(invoice=finance_pb2.Invoice(id="i1"))
    )
    ok = client.post("/api/v1/admin/invoices", json={**body, "override_max_bill": True}, headers=staff.bearer)
    assert ok.status_code == 201
    assert [r.override_max_bill for r in fakes.requests("finance", "CreateInvoice")] == [False, True]
    bad = client.post(
        "/api/v1/admin/invoices", json={**body, "override_max_bill": "yes"}, headers=staff.bearer
    )
    assert bad.status_code == 400


def test_bulk_invoices_past_a_cap_are_409_with_details_and_take_the_override(client, fakes):
    staff = fakes.staff()
    fakes.on("finance", "BulkCreateInvoices", refuse)
    body = {
        "title": "Museum",
        "lines": [{"label": "Museum", "unit_price_cents": 5000, "max_bill": "strict"}],
        "class_names": ["1A"],
    }
    resp = client.post("/api/v1/admin/invoices/bulk", json=body, headers=staff.bearer)
    assert resp.status_code == 409 and resp.get_json()["error"]["details"]["student_id"] == "emma"
    fakes.on("finance", "BulkCreateInvoices", finance_pb2.BulkCreateInvoicesResponse(count=1))
    assert (
        client.post(
            "/api/v1/admin/invoices/bulk", json={**body, "override_max_bill": True}, headers=staff.bearer
        ).status_code
        == 201
    )
    assert fakes.requests("finance", "BulkCreateInvoices")[-1].override_max_bill is True


def test_the_openapi_documents_the_maximum_bill(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/admin/students/{id}/max-bill"]
    assert {"get", "put"} <= set(spec["paths"]["/api/v1/admin/max-bill/caps"])
    body = spec["paths"]["/api/v1/admin/invoices"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert "override_max_bill" in body["properties"]
    assert "MaxBillExceeded" in spec["components"]["schemas"]
