"""Bulk invoicing, the school's invoice list and the finance summary, through the use cases, on SQLite
and PostgreSQL (the ``databases`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.service import make_consumer
from services.finance.db import invoices, outbox
from services.finance.tests.conftest import OTHER_SCHOOL_STAFF, STAFF, assert_ledger_invariants
from services.finance.tests.integration.test_leavers import _said

LINES = [
    pb.InvoiceLineInput(label="Car", quantity=1, unit_price_cents=1500),
    pb.InvoiceLineInput(label="Entrée", quantity=2, unit_price_cents=450),
]


def bulk(finance, key: str = "", who=STAFF, **kw) -> pb.BulkCreateInvoicesResponse:
    req = pb.BulkCreateInvoicesRequest(
        title="Visite au musée", due_on="2026-04-30", lines=LINES, idempotency_key=key
    )
    for k, v in kw.items():
        getattr(req, k).extend(v) if isinstance(v, list) else setattr(req, k, v)
    return finance.bulk_invoices.bulk_create_invoices(who, req)


def count(rt, table_filter=None) -> tuple[int, int]:
    with rt.db.unit_of_work() as s:
        n = s.execute(select(func.count()).select_from(invoices)).scalar_one()
        e = s.execute(
            select(func.count()).select_from(outbox).where(outbox.c.event_name == "finance.invoice.issued.v1")
        ).scalar_one()
        return n, e


@pytest.fixture
def classes(world, finance):
    """1A: emma, leo, noah (from the world); 2B: zoe, adam."""
    for sid, last in (("zoe", "Martin"), ("adam", "Bernard")):
        world.wallets[sid] = {
            w.name: w
            for w in finance.wallets.open_student_wallets(
                STAFF,
                pb.OpenStudentWalletsRequest(
                    student_id=sid, level="primary", first_name=sid.title(), last_name=last, class_name="2B"
                ),
            ).wallets
        }
    return world


def test_a_class_and_named_students_get_one_invoice_each_with_its_communication_and_event(
    finance, finance_rt, classes
):
    out = bulk(finance, "k1", class_names=["2B"], student_ids=["emma", "zoe"])
    assert (out.count, out.total_cents, out.skipped_left) == (3, 3 * 2400, 0)
    got = [finance.invoices.get_invoice(STAFF, i).invoice for i in out.invoice_ids]
    # 2B by last name (Bernard, Martin), then emma named outside it; zoe is not invoiced twice
    assert [i.student_id for i in got] == ["adam", "zoe", "emma"]
    assert [i.number for i in got] == ["2026-00001", "2026-00002", "2026-00003"]
    assert len({i.structured_communication for i in got}) == 3
    assert all(
        (i.total_cents, i.status, i.due_on, len(i.lines)) == (2400, "unpaid", "2026-04-30", 2) for i in got
    )
    assert count(finance_rt) == (3, 3)  # each invoice's issued event: documents renders its PDF
    assert_ledger_invariants(finance_rt)


def test_the_same_key_replays_and_issues_nothing_another_body_is_refused(finance, finance_rt, classes):
    first = bulk(finance, "same", class_names=["1A"])
    assert bulk(finance, "same", class_names=["1A"]) == first
    assert count(finance_rt) == (3, 3)
    with pytest.raises(Conflict) as err:
        bulk(finance, "same", class_names=["2B"])
    assert err.value.code == "idempotency_key_reused"
    assert count(finance_rt) == (3, 3)


def test_leavers_are_skipped_in_a_class_and_refused_by_name_with_nothing_written(
    finance, finance_rt, classes
):
    assert make_consumer(finance_rt).handle(_said("leo", "left", "2026-03-01")) == "handled"
    with pytest.raises(Conflict) as err:
        bulk(finance, class_names=["2B"], student_ids=["leo"])
    assert err.value.code == "student_left"
    assert count(finance_rt) == (0, 0)
    out = bulk(finance, class_names=["1A"])
    assert (out.count, out.skipped_left) == (2, 1)


def test_bad_input_and_another_school_issue_nothing(finance, finance_rt, classes):
    with pytest.raises(InvalidRequest) as bad:
        bulk(finance)
    assert "class_names" in bad.value.fields
    with pytest.raises(InvalidRequest) as bad:
        bulk(finance, class_names=["9Z"])
    assert bad.value.fields == {"class_names": "no active student in 9Z"}
    with pytest.raises(InvalidRequest):
        finance.bulk_invoices.bulk_create_invoices(
            STAFF, pb.BulkCreateInvoicesRequest(title="x", lines=[], class_names=["1A"])
        )
    with pytest.raises(NotFound):
        bulk(finance, student_ids=["emma"], who=OTHER_SCHOOL_STAFF)
    with pytest.raises(NotFound):
        bulk(finance, student_ids=["emma", "nobody"])
    assert count(finance_rt) == (0, 0)


def test_the_school_list_filters_and_pages_with_a_keyset(finance, finance_rt, classes):
    bulk(finance, class_names=["1A", "2B"])  # 5 invoices, due 2026-04-30
    finance_rt.clock.advance(timedelta(days=1))
    late = bulk(finance, student_ids=["zoe"], due_on="2026-03-17", title="Piscine")
    lst = finance.school_invoices.list_school_invoices
    seen, cursor = [], ""
    while True:
        page = lst(STAFF, pb.ListSchoolInvoicesRequest(limit=2, cursor=cursor))
        seen += [(i.invoice.number, i.student_name, i.class_name) for i in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert [n for n, *_ in seen] == [f"2026-0000{n}" for n in (6, 5, 4, 3, 2, 1)]
    assert seen[0] == ("2026-00006", "Zoe Martin", "2B")
    assert len(lst(STAFF, pb.ListSchoolInvoicesRequest(class_name="2B")).items) == 3
    assert len(lst(STAFF, pb.ListSchoolInvoicesRequest(student_id="emma")).items) == 1
    assert [i.invoice.title for i in lst(STAFF, pb.ListSchoolInvoicesRequest(q="pisc")).items] == ["Piscine"]
    assert len(lst(STAFF, pb.ListSchoolInvoicesRequest(q="2026-00003")).items) == 1
    assert lst(STAFF, pb.ListSchoolInvoicesRequest(overdue=True)).items == []
    finance_rt.clock.advance(timedelta(days=2))
    overdue = lst(STAFF, pb.ListSchoolInvoicesRequest(overdue=True)).items
    assert [i.invoice.id for i in overdue] == list(late.invoice_ids)
    assert lst(OTHER_SCHOOL_STAFF, pb.ListSchoolInvoicesRequest()).items == []
    with pytest.raises(InvalidRequest):
        lst(STAFF, pb.ListSchoolInvoicesRequest(status="nope"))
    with pytest.raises(InvalidRequest):
        lst(STAFF, pb.ListSchoolInvoicesRequest(cursor="!!!"))
    with pytest.raises(NotFound):
        lst(OTHER_SCHOOL_STAFF, pb.ListSchoolInvoicesRequest(student_id="emma"))


def test_the_summary_adds_up_wallets_open_and_overdue_invoices_per_class(finance, finance_rt, classes):
    classes.top_up("emma", 1000)
    classes.top_up("zoe", 250)
    bulk(finance, class_names=["1A", "2B"])
    bulk(finance, student_ids=["adam"], due_on="2026-03-16", title="Piscine")
    finance_rt.clock.advance(timedelta(days=1))
    out = finance.school_invoices.get_finance_summary(STAFF)
    assert (out.wallets_total_cents, out.unpaid_count, out.unpaid_total_cents) == (1250, 6, 6 * 2400)
    assert (out.overdue_count, out.overdue_total_cents) == (1, 2400)
    assert [
        (c.class_name, c.students, c.wallets_total_cents, c.unpaid_count, c.unpaid_total_cents)
        for c in out.classes
    ] == [
        ("1A", 3, 1000, 3, 7200),
        ("2B", 2, 250, 3, 7200),
    ]
    other = finance.school_invoices.get_finance_summary(OTHER_SCHOOL_STAFF)
    assert (other.wallets_total_cents, other.unpaid_count, list(other.classes)) == (0, 0, [])
