"""The accountant's exports (issue #17), on SQLite and PostgreSQL: for a date range (Brussels days, both
included) each export lists exactly the records the list RPCs show for that range, its amounts add up
to their cents, its pages follow a keyset without repeating or skipping a row, and bad ranges, names,
cursors and limits are refused naming the field. Staff only; another school's records never show."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import grpc
import pytest

from cartable.finance.v1 import exports_pb2 as xpb
from cartable.finance.v1 import exports_pb2_grpc
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Forbidden, InvalidRequest
from services.finance.tests.conftest import MUM, OTHER_SCHOOL_STAFF, STAFF, World, md
from services.finance.tests.statement_builders import Mv, build_coda
from services.finance.use_cases.exports import EXPORTS, Exports

FROM, TO = "2026-03-01", "2026-03-31"
# Brussels: UTC+1 until 29 March 2026 03:00, UTC+2 after.
BEFORE = datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)  # 28 Feb, 23:59:59 in Brussels
FIRST_MINUTE = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # 1 March, 00:00 in Brussels
MIDDLE = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
LAST_MINUTE = datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC)  # 31 March, 23:59:59 in Brussels
AFTER = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # 1 April, 00:00 in Brussels
MARCH = pb.PeriodFilter(period="custom", from_date=FROM, to_date=TO)


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


def export(rt, name: str, who=STAFF, first: str = FROM, last: str = TO, limit: int = 0) -> list:
    """Every row of the export, page after page."""
    exports, rows, cursor = Exports(rt), [], ""
    while True:
        page = exports.list_export_rows(
            who,
            xpb.ListExportRowsRequest(name=name, from_date=first, to_date=last, cursor=cursor, limit=limit),
        )
        rows += list(getattr(page, name))
        cursor = page.next_cursor
        if not cursor:
            return rows


def totals(rt, first: str = FROM, last: str = TO) -> dict[str, tuple[int, int]]:
    got = Exports(rt).get_export_totals(STAFF, xpb.GetExportTotalsRequest(from_date=first, to_date=last))
    return {t.name: (t.rows, t.total_cents) for t in got.totals}


def school_invoices(world: World) -> list[pb.SchoolInvoice]:
    items, cursor = [], ""
    while True:
        page = world.finance.school_invoices.list_school_invoices(
            STAFF, pb.ListSchoolInvoicesRequest(limit=200, cursor=cursor)
        )
        items += list(page.items)
        cursor = page.next_cursor
        if not cursor:
            return items


def operations(world: World, student: str) -> list[pb.Operation]:
    return list(
        world.finance.operations.list_operations(
            STAFF, pb.ListOperationsRequest(student_id=student, period=MARCH)
        ).operations
    )


def sale_lines(world: World) -> list[pb.SaleLine]:
    """The school's sales journal for March, page after page (the school's is always paged)."""
    lines: list[pb.SaleLine] = []
    cursor = ""
    while True:
        page = world.finance.operations.list_sales(
            STAFF, pb.ListSalesRequest(period=MARCH, limit=200, cursor=cursor)
        )
        lines += list(page.lines)
        cursor = page.next_cursor
        if not cursor:
            return lines


def a_busy_month(world: World, rt) -> dict[str, str]:
    """Invoices, top-ups, sales, wallet payments and a bank statement before, on both edges of and
    after March 2026 (the clock moved between them); the ids of what happened inside."""
    clock, bank = rt.clock, world.finance.statements
    emma_ogm = digits(world.wallet("emma").structured_communication)
    clock.set(BEFORE)
    world.top_up("emma", 10_000)
    world.sale("emma", [("Repas", 1, 450)])
    world.invoice("leo", 1500, title="Février")

    clock.set(FIRST_MINUTE)
    first_top_up = world.top_up("emma", 2_000)
    trip = world.invoice("emma", 3_500, title="Classe verte")
    world.pay(STAFF, trip.id, world.wallet("emma").id)
    world.sale("emma", [("Repas chaud", 2, 395), ("Photocopies", 10, 5)])

    clock.set(MIDDLE)
    world.top_up("noah", 1_234, name="Activités")
    books = world.invoice("noah", 4_210, title="Manuels")
    swim = world.invoice("leo", 999, title="Piscine")
    # the bank pays part of the books, tops Emma up, and brings a transfer nobody named
    bank.import_statement(
        STAFF,
        pb.ImportStatementRequest(
            content=build_coda(
                [
                    Mv(1_000, ogm=digits(books.structured_communication), counterparty_name="NOAH PAPA"),
                    Mv(2_500, ogm=emma_ogm, counterparty_name="EMMA MAMAN"),
                    Mv(700, free_text="pour les repas", counterparty_name="X"),
                ]
            ),
            filename="mars.cod",
        ),
    )
    world.finance.invoices.issue_credit_note(
        STAFF, pb.IssueCreditNoteRequest(invoice_id=swim.id, reason="annulé", idempotency_key="cn-1")
    )
    world.sale("noah", [("Excursion", 1, 600)], name="Activités")

    clock.set(LAST_MINUTE)
    world.top_up("leo", 300)
    world.sale("leo", [("Goûter", 3, 50)])
    last_invoice = world.invoice("leo", 800, title="Dernier jour")

    clock.set(AFTER)
    world.top_up("leo", 5_000)
    world.sale("leo", [("Repas", 1, 450)])
    world.invoice("emma", 100, title="Avril")
    clock.set(datetime(2026, 4, 2, 8, 0, tzinfo=UTC))
    return {"first_top_up": first_top_up.payment_id, "trip": trip.id, "last_invoice": last_invoice.id}


def test_invoices_are_those_issued_in_the_range_and_add_up_to_the_invoice_list(world, finance_rt):
    inside = a_busy_month(world, finance_rt)
    rows = export(finance_rt, "invoices")
    listed = [i for i in school_invoices(world) if FROM <= i.invoice.issued_on <= TO]
    assert sorted(r.invoice_id for r in rows) == sorted(i.invoice.id for i in listed)
    assert len(rows) == 4 and {inside["trip"], inside["last_invoice"]} <= {r.invoice_id for r in rows}
    by_id = {i.invoice.id: i for i in listed}
    for r in rows:
        inv = by_id[r.invoice_id]
        assert (r.number, r.issued_on, r.status) == (
            inv.invoice.number,
            inv.invoice.issued_on,
            inv.invoice.status,
        )
        assert (r.total_cents, r.paid_cents, r.credited_cents) == (
            inv.invoice.total_cents,
            inv.invoice.paid_cents,
            inv.invoice.credited_cents,
        )
        assert (r.student_name, r.class_name) == (inv.student_name, inv.class_name)
        assert r.structured_communication == inv.invoice.structured_communication
    assert (
        sum(r.total_cents for r in rows)
        == sum(i.invoice.total_cents for i in listed)
        == 3500 + 4210 + 999 + 800
    )
    assert sum(r.paid_cents for r in rows) == sum(i.invoice.paid_cents for i in listed) == 3500 + 1000
    assert [(r.title, r.status, r.open_cents) for r in rows] == [
        ("Classe verte", "paid", 0),
        ("Manuels", "partially_paid", 3210),
        ("Piscine", "cancelled", 0),  # cancelled by its credit note
        ("Dernier jour", "unpaid", 800),
    ]
    assert [r.issued_on for r in rows] == sorted(r.issued_on for r in rows)
    assert totals(finance_rt)["invoices"] == (len(rows), sum(r.total_cents for r in rows))


def test_operations_are_every_students_operations_of_the_range(world, finance_rt):
    a_busy_month(world, finance_rt)
    rows = export(finance_rt, "operations")
    listed = [(s, o) for s in ("emma", "leo", "noah") for o in operations(world, s)]
    assert Counter((r.operation_id, r.amount_cents, r.type, r.payment_method) for r in rows) == Counter(
        (o.id, o.amount_cents, o.type, o.payment_method) for _s, o in listed
    )
    assert sum(r.amount_cents for r in rows) == sum(o.amount_cents for _s, o in listed)
    assert {r.student_id for r in rows} == {"emma", "leo", "noah"}
    assert all(FROM <= r.booked_on <= TO for r in rows)
    # the edges: 1 March 00:00 and 31 March 23:59:59 in Brussels are in, the seconds around them not
    assert {r.at for r in rows} >= {"2026-02-28T23:00:00+00:00", "2026-03-31T21:59:59+00:00"}
    assert min(r.booked_on for r in rows) == FROM and max(r.booked_on for r in rows) == TO
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    assert totals(finance_rt)["operations"] == (len(rows), sum(r.amount_cents for r in rows))


def test_sales_are_the_schools_sales_journal_of_the_range(world, finance_rt):
    a_busy_month(world, finance_rt)
    rows = export(finance_rt, "sales")
    listed = sale_lines(world)
    assert sorted((r.line_id, r.amount_cents) for r in rows) == sorted(
        (ln.id, ln.amount_cents) for ln in listed
    )
    assert sum(r.amount_cents for r in rows) == sum(ln.amount_cents for ln in listed) == 790 + 50 + 600 + 150
    assert [(r.label, r.quantity, r.unit_price_cents) for r in rows] == [
        ("Repas chaud", 2, 395),
        ("Photocopies", 10, 5),
        ("Excursion", 1, 600),
        ("Goûter", 3, 50),
    ]
    assert rows[0].student_name == "Emma Dupont" and rows[0].wallet_name == "Repas"
    assert not any(r.childcare or r.days for r in rows)
    world.finance.operations.record_sale(
        STAFF,
        pb.RecordSaleRequest(
            student_id="emma",
            wallet_id=world.wallet("emma").id,
            lines=[
                pb.SaleLineInput(label="Garderie", quantity=1, unit_price_cents=150, childcare=True, days=3),
                pb.SaleLineInput(label="Goûter", quantity=1, unit_price_cents=50),
            ],
        ),
    )
    assert [
        (r.label, r.childcare, r.days)
        for r in export(finance_rt, "sales", first="2026-04-02", last="2026-04-02")
    ] == [("Garderie", True, 3), ("Goûter", False, 0)]
    assert totals(finance_rt)["sales"] == (4, 1590)


def test_payments_are_those_received_in_the_range_as_the_other_lists_show_them(world, finance_rt):
    inside = a_busy_month(world, finance_rt)
    rows = export(finance_rt, "payments")
    # each is the payment GetPayment shows
    for r in rows:
        p = world.finance.online_payments.get_payment(STAFF, r.payment_id).payment
        assert (p.amount_cents, p.purpose, p.method, p.status) == (
            r.amount_cents,
            r.purpose,
            r.method,
            "paid",
        )
        assert FROM <= r.paid_on <= TO
    assert inside["first_top_up"] in {r.payment_id for r in rows}
    # top-ups: the top_up operations of the students' lists; invoices: what the invoice list says paid
    top_ups = [
        o.amount_cents for s in ("emma", "leo", "noah") for o in operations(world, s) if o.type == "top_up"
    ]
    assert sorted(r.amount_cents for r in rows if r.purpose == "top_up") == sorted(top_ups)
    paid = {i.invoice.id: i.invoice.paid_cents for i in school_invoices(world) if i.invoice.paid_cents}
    by_invoice = Counter()
    for r in rows:
        if r.purpose == "invoice":
            by_invoice[r.invoice_id] += r.amount_cents
    assert dict(by_invoice) == paid
    assert {(r.method, r.purpose) for r in rows} == {
        ("cash", "top_up"),
        ("wallet", "invoice"),
        ("transfer", "invoice"),
        ("transfer", "top_up"),
    }
    assert (
        sum(r.amount_cents for r in rows)
        == sum(top_ups) + sum(paid.values())
        == 2000 + 1234 + 2500 + 300 + 3500 + 1000
    )
    assert totals(finance_rt)["payments"] == (len(rows), sum(r.amount_cents for r in rows))


def test_one_day_ranges_are_that_brussels_day_only(world, finance_rt):
    a_busy_month(world, finance_rt)
    first = export(finance_rt, "operations", first=FROM, last=FROM)
    assert {r.at for r in first} == {"2026-02-28T23:00:00+00:00"}
    last = export(finance_rt, "sales", first=TO, last=TO)
    assert [r.label for r in last] == ["Goûter"]
    feb = export(finance_rt, "sales", first="2026-02-28", last="2026-02-28")
    assert [r.at for r in feb] == ["2026-02-28T22:59:59+00:00"]
    april = export(finance_rt, "invoices", first="2026-04-01", last="2026-04-01")
    assert [r.title for r in april] == ["Avril"]


def test_pages_follow_the_keyset_without_repeating_or_skipping_a_row(world, finance_rt):
    """Rows booked at the same instant (the clock stands still) are told apart by their ids."""
    a_busy_month(world, finance_rt)
    finance_rt.clock.set(MIDDLE)
    for i in range(7):
        world.top_up("emma", 100 + i)
        world.sale("emma", [(f"Article {i}", 1, 10), (f"Autre {i}", 2, 5)])
        world.invoice("noah", 200 + i, title=f"Facture {i}")
    for name in EXPORTS:
        whole = export(finance_rt, name, limit=1000)
        for size in (1, 2, 3):
            paged = export(finance_rt, name, limit=size)
            assert [r.SerializeToString() for r in paged] == [r.SerializeToString() for r in whole], (
                name,
                size,
            )
    assert len(export(finance_rt, "sales")) == 4 + 14


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (xpb.ListExportRowsRequest(name="invoices", to_date=TO), "from"),
        (xpb.ListExportRowsRequest(name="invoices", from_date=FROM), "to"),
        (xpb.ListExportRowsRequest(name="sales", from_date="01/03/2026", to_date=TO), "from"),
        (xpb.ListExportRowsRequest(name="sales", from_date=FROM, to_date="2026-02-30"), "to"),
        (xpb.ListExportRowsRequest(name="payments", from_date=TO, to_date=FROM), "from"),
        (xpb.ListExportRowsRequest(name="payments", from_date="2025-01-01", to_date="2026-03-01"), "to"),
        (xpb.ListExportRowsRequest(name="refunds", from_date=FROM, to_date=TO), "name"),
        (xpb.ListExportRowsRequest(name="operations", from_date=FROM, to_date=TO, cursor="nope"), "cursor"),
        (xpb.ListExportRowsRequest(name="operations", from_date=FROM, to_date=TO, limit=1001), "limit"),
        (xpb.ListExportRowsRequest(name="operations", from_date=FROM, to_date=TO, limit=-1), "limit"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(finance_rt, request_, field):
    with pytest.raises(InvalidRequest) as exc:
        Exports(finance_rt).list_export_rows(STAFF, request_)
    assert field in exc.value.fields


def test_a_cursor_of_another_export_is_refused(world, finance_rt):
    finance_rt.clock.set(MIDDLE)
    for i in range(3):
        world.top_up("emma", 100 + i)
    page = Exports(finance_rt).list_export_rows(
        STAFF, xpb.ListExportRowsRequest(name="payments", from_date=FROM, to_date=TO, limit=1)
    )
    assert page.next_cursor
    with pytest.raises(InvalidRequest) as exc:
        Exports(finance_rt).list_export_rows(
            STAFF,
            xpb.ListExportRowsRequest(name="operations", from_date=FROM, to_date=TO, cursor=page.next_cursor),
        )
    assert "cursor" in exc.value.fields


def test_a_year_is_accepted_and_totals_need_a_range_too(world, finance_rt):
    assert export(finance_rt, "invoices", first="2025-09-01", last="2026-08-31") == []
    with pytest.raises(InvalidRequest) as exc:
        Exports(finance_rt).get_export_totals(STAFF, xpb.GetExportTotalsRequest(from_date=FROM))
    assert "to" in exc.value.fields


def test_parents_are_refused(world, finance_rt):
    with pytest.raises(Forbidden):
        export(finance_rt, "operations", who=MUM)
    with pytest.raises(Forbidden):
        Exports(finance_rt).get_export_totals(MUM, xpb.GetExportTotalsRequest(from_date=FROM, to_date=TO))


def test_another_schools_staff_export_nothing_of_ours(world, finance_rt):
    a_busy_month(world, finance_rt)
    for name in EXPORTS:
        assert export(finance_rt, name, who=OTHER_SCHOOL_STAFF) == [], name
    theirs = Exports(finance_rt).get_export_totals(
        OTHER_SCHOOL_STAFF, xpb.GetExportTotalsRequest(from_date=FROM, to_date=TO)
    )
    assert [(t.name, t.rows, t.total_cents) for t in theirs.totals] == [(n, 0, 0) for n in EXPORTS]


def test_the_exports_service_answers_over_grpc_beside_finance(world, finance_rt, finance_server, keys):
    """Registered on the finance server: staff tokens served, a parent's refused."""
    a_busy_month(world, finance_rt)
    channel = grpc.insecure_channel(f"127.0.0.1:{finance_server.port}")
    try:
        stub = exports_pb2_grpc.ExportsServiceStub(channel)
        staff = keys.token(role="staff", school_id=STAFF.school_id, account_id=STAFF.account_id)
        got = stub.GetExportTotals(xpb.GetExportTotalsRequest(from_date=FROM, to_date=TO), metadata=md(staff))
        assert [t.name for t in got.totals] == list(EXPORTS)
        assert (got.starts_at, got.ends_at) == ("2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00")
        page = stub.ListExportRows(
            xpb.ListExportRowsRequest(name="sales", from_date=FROM, to_date=TO, limit=2), metadata=md(staff)
        )
        assert len(page.sales) == 2 and page.next_cursor and not page.invoices
        parent = keys.token(role="parent", school_id=STAFF.school_id, students={"emma": "1A"})
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetExportTotals(xpb.GetExportTotalsRequest(from_date=FROM, to_date=TO), metadata=md(parent))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListExportRows(
                xpb.ListExportRowsRequest(name="x", from_date=FROM, to_date=TO), metadata=md(staff)
            )
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()
