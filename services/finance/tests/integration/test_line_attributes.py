"""Invoice and sale lines carry childcare, days, optional and max_bill (issue #19): checked, stored,
answered, in the issued event and through bulk invoicing; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import InvalidRequest
from services.finance.tests.conftest import STAFF
from services.finance.tests.integration.test_invoices import events

LINES = [
    pb.InvoiceLineInput(
        label="Garderie du matin", quantity=1, unit_price_cents=3000, childcare=True, days=12
    ),
    pb.InvoiceLineInput(
        label="Excursion", quantity=1, unit_price_cents=1500, optional=True, max_bill="strict"
    ),
    pb.InvoiceLineInput(label="Classe verte", quantity=1, unit_price_cents=9000, max_bill="less_strict"),
    pb.InvoiceLineInput(label="Journal de classe", quantity=1, unit_price_cents=500),
]


def attrs(lines) -> list[tuple]:
    return [(ln.childcare, ln.days, ln.optional, ln.max_bill) for ln in lines]


EXPECTED = [
    (True, 12, False, ""),
    (False, 0, True, "strict"),
    (False, 0, False, "less_strict"),
    (False, 0, False, ""),
]


def test_invoice_lines_keep_their_attributes_in_the_answer_the_reads_and_the_event(world, finance_rt):
    made = world.finance.invoices.create_invoice(
        STAFF, pb.CreateInvoiceRequest(student_id="emma", title="Trimestre", lines=LINES)
    ).invoice
    assert attrs(made.lines) == EXPECTED
    again = world.finance.invoices.get_invoice(STAFF, made.id).invoice
    assert attrs(again.lines) == EXPECTED
    (issued,) = events(finance_rt, "finance.invoice.issued.v1")
    assert attrs(issued.lines) == EXPECTED


def test_bulk_invoices_pass_the_attributes_through(world, finance_rt):
    out = world.finance.bulk_invoices.bulk_create_invoices(
        STAFF, pb.BulkCreateInvoicesRequest(title="Trimestre", lines=LINES, student_ids=["emma", "leo"])
    )
    for invoice_id in out.invoice_ids:
        assert attrs(world.finance.invoices.get_invoice(STAFF, invoice_id).invoice.lines) == EXPECTED
    assert all(attrs(e.lines) == EXPECTED for e in events(finance_rt, "finance.invoice.issued.v1"))


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (dict(days=3), "lines[0].days", "only on a childcare line"),
        (dict(childcare=True, days=367), "lines[0].days", "0 to 366"),
        (dict(childcare=True, days=-1), "lines[0].days", "0 to 366"),
        (dict(max_bill="strikt"), "lines[0].max_bill", "strict or less_strict"),
    ],
)
def test_bad_attributes_are_refused_naming_the_field(world, finance_rt, line, field, message):
    bad = pb.InvoiceLineInput(label="x", quantity=1, unit_price_cents=100, **line)
    with pytest.raises(InvalidRequest) as err:
        world.finance.invoices.create_invoice(
            STAFF, pb.CreateInvoiceRequest(student_id="emma", title="T", lines=[bad])
        )
    assert message in err.value.fields[field]
    with pytest.raises(InvalidRequest) as err:
        world.finance.bulk_invoices.bulk_create_invoices(
            STAFF, pb.BulkCreateInvoicesRequest(title="T", lines=[bad], student_ids=["emma"])
        )
    assert message in err.value.fields[field]
    assert events(finance_rt, "finance.invoice.issued.v1") == []


def test_sale_lines_keep_childcare_and_days(world, finance_rt):
    world.top_up("emma", 5000)
    world.finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=world.wallet("emma").id,
            lines=[
                pb.SaleLineInput(label="Garderie", quantity=1, unit_price_cents=400, childcare=True, days=2),
                pb.SaleLineInput(label="Repas", quantity=1, unit_price_cents=395),
            ],
        ),
    )
    got = world.finance.operations.list_sales(
        STAFF, pb.ListSalesRequest(student_id="emma", period=pb.PeriodFilter(period="today"))
    ).lines
    assert sorted((ln.label, ln.childcare, ln.days) for ln in got) == [
        ("Garderie", True, 2),
        ("Repas", False, 0),
    ]
    with pytest.raises(InvalidRequest) as err:
        world.finance.operations.record_sale(
            STAFF,
            pb.RecordSaleRequest(
                student_id="emma",
                wallet_id=world.wallet("emma").id,
                lines=[pb.SaleLineInput(label="Repas", quantity=1, unit_price_cents=395, days=1)],
            ),
        )
    assert "lines[0].days" in err.value.fields
