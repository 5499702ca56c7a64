"""Invoice and sale lines' childcare, days, optional and max_bill through the JSON API (issue #19):
passed on to finance, shown in the invoice's JSON, refused with the line's field, in the OpenAPI."""

from __future__ import annotations

from cartable.finance.v1 import events_pb2, finance_pb2

LINES = [
    {"label": "Garderie", "unit_price_cents": 3000, "childcare": True, "days": 12},
    {"label": "Excursion", "unit_price_cents": 1500, "optional": True, "max_bill": "strict"},
    {"label": "Journal", "unit_price_cents": 500},
]


def answered(req) -> finance_pb2.CreateInvoiceResponse:
    lines = [
        events_pb2.InvoiceLine(
            label=ln.label,
            quantity=ln.quantity,
            unit_price_cents=ln.unit_price_cents,
            amount_cents=ln.quantity * ln.unit_price_cents,
            childcare=ln.childcare,
            days=ln.days,
            optional=ln.optional,
            max_bill=ln.max_bill,
        )
        for ln in req.lines
    ]
    return finance_pb2.CreateInvoiceResponse(
        invoice=finance_pb2.Invoice(id="inv-1", student_id=req.student_id, title=req.title, lines=lines)
    )


def test_an_invoice_passes_each_lines_attributes_on_and_shows_them(client, fakes):
    staff = fakes.staff()
    fakes.on("finance", "CreateInvoice", answered)
    resp = client.post(
        "/api/v1/admin/invoices",
        json={"student_id": "emma", "title": "Trimestre", "lines": LINES},
        headers=staff.bearer,
    )
    assert resp.status_code == 201, resp.get_json()
    (req,) = fakes.requests("finance", "CreateInvoice")
    assert [(ln.childcare, ln.days, ln.optional, ln.max_bill) for ln in req.lines] == [
        (True, 12, False, ""),
        (False, 0, True, "strict"),
        (False, 0, False, ""),
    ]
    got = resp.get_json()["lines"]
    assert [(ln["childcare"], ln["days"], ln["optional"], ln["max_bill"]) for ln in got] == [
        (True, 12, False, ""),
        (False, 0, True, "strict"),
        (False, 0, False, ""),
    ]


def test_bulk_invoices_pass_the_attributes_on(client, fakes):
    staff = fakes.staff()
    fakes.on("finance", "BulkCreateInvoices", finance_pb2.BulkCreateInvoicesResponse(count=1))
    resp = client.post(
        "/api/v1/admin/invoices/bulk",
        json={"title": "Trimestre", "lines": LINES, "class_names": ["1A"]},
        headers=staff.bearer,
    )
    assert resp.status_code == 201, resp.get_json()
    (req,) = fakes.requests("finance", "BulkCreateInvoices")
    assert [(ln.childcare, ln.days, ln.optional, ln.max_bill) for ln in req.lines][:2] == [
        (True, 12, False, ""),
        (False, 0, True, "strict"),
    ]


def test_bad_attributes_are_400_on_the_lines_field(client, fakes):
    staff = fakes.staff()
    for line, field in (
        ({"childcare": "yes"}, "lines[0].childcare"),
        ({"childcare": True, "days": 400}, "lines[0].days"),
        ({"optional": 1}, "lines[0].optional"),
        ({"max_bill": 3}, "lines[0].max_bill"),
    ):
        resp = client.post(
            "/api/v1/admin/invoices",
            json={
                "student_id": "emma",
                "title": "T",
                "lines": [{"label": "x", "unit_price_cents": 1, **line}],
            },
            headers=staff.bearer,
        )
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"], (
            line,
            resp.get_json(),
        )
    assert fakes.requests("finance", "CreateInvoice") == []


def test_a_sale_passes_childcare_and_days_on(client, fakes):
    staff = fakes.staff()
    fakes.on("finance", "RecordSale", finance_pb2.RecordSaleResponse(id="s1", balance_cents=10))
    resp = client.post(
        "/api/v1/admin/sales",
        json={
            "student_id": "emma",
            "wallet_id": "w1",
            "lines": [{"label": "Garderie", "unit_price_cents": 400, "childcare": True, "days": 2}],
        },
        headers=staff.bearer,
    )
    assert resp.status_code == 201
    (req,) = fakes.requests("finance", "RecordSale")
    assert (req.lines[0].childcare, req.lines[0].days) == (True, 2)


def test_the_openapi_documents_the_line_attributes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/admin/invoices"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    line = body["properties"]["lines"]["items"]["properties"]
    assert {"childcare", "days", "optional", "max_bill"} <= set(line)
    assert line["max_bill"]["enum"] == ["", "strict", "less_strict"]
    sale = spec["paths"]["/api/v1/admin/sales"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert {"childcare", "days"} <= set(sale["properties"]["lines"]["items"]["properties"])
