"""The Flemish maximum bill (issue #19) through the use cases, on SQLite and PostgreSQL: the caps, a
cap refused with what is left, the override (audited), cancelled invoices freeing the room, the
school year boundary, the levels, bulk invoices, and two invoices at once (PostgreSQL's row lock)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import max_bill_pb2 as mb
from kit.errors import AppError, Conflict, Forbidden, InvalidRequest
from services.finance.db import outbox
from services.finance.tests.conftest import MUM, STAFF, assert_ledger_invariants
from services.finance.use_cases.max_bill import MaxBill

YEAR = "2025-2026"  # the fake clock's 2026-03-16


@pytest.fixture
def caps(finance_rt, world):
    m = MaxBill(finance_rt)
    m.set_caps(
        STAFF,
        mb.SetMaxBillCapsRequest(
            caps=mb.MaxBillCaps(school_year=YEAR, level="lager", strict_cents=10000, less_strict_cents=50000)
        ),
    )
    m.set_caps(
        STAFF,
        mb.SetMaxBillCapsRequest(
            caps=mb.MaxBillCaps(school_year=YEAR, level="kleuter", strict_cents=5000, less_strict_cents=0)
        ),
    )
    world.add_student("zoe", "nursery")
    return m


def invoice(
    world, student: str, cents: int, cap: str = "strict", *, override: bool = False, title: str = "Uitstap"
):
    return world.finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id=student,
            title=title,
            lines=[
                pb.InvoiceLineInput(label=title, quantity=1, unit_price_cents=cents, max_bill=cap),
                pb.InvoiceLineInput(label="Drankjes", quantity=1, unit_price_cents=700),  # counts for none
            ],
            override_max_bill=override,
        ),
    ).invoice


def counters(caps, student: str, year: str = "") -> dict[str, tuple[int, int, int]]:
    got = caps.get_max_bill(STAFF, mb.GetMaxBillRequest(student_id=student, school_year=year))
    return {c.cap: (c.cap_cents, c.used_cents, c.left_cents) for c in got.counters}


def audit_actions(rt) -> list[str]:
    with rt.db.unit_of_work() as s:
        names = s.execute(select(outbox.c.event_name, outbox.c.body).order_by(outbox.c.id)).all()
    return [body.decode("latin-1") for name, body in names if name.endswith("audit.recorded.v1")]


def test_caps_are_set_listed_and_checked(caps, world):
    listed = caps.list_caps(STAFF, mb.ListMaxBillCapsRequest(school_year=YEAR)).caps
    assert [(c.level, c.strict_cents, c.less_strict_cents) for c in listed] == [
        ("kleuter", 5000, 0),
        ("lager", 10000, 50000),
    ]
    for bad, field in (
        (dict(school_year="2026-2028", level="lager"), "school_year"),
        (dict(school_year=YEAR, level="secundair"), "level"),
        (dict(school_year=YEAR, level="lager", strict_cents=-1), "strict_cents"),
    ):
        with pytest.raises(InvalidRequest) as err:
            caps.set_caps(STAFF, mb.SetMaxBillCapsRequest(caps=mb.MaxBillCaps(**bad)))
        assert field in err.value.fields
    with pytest.raises(Forbidden):
        caps.set_caps(MUM, mb.SetMaxBillCapsRequest(caps=mb.MaxBillCaps(school_year=YEAR, level="lager")))


def test_an_invoice_past_the_cap_is_refused_naming_the_cap_and_what_is_left(caps, world, finance_rt):
    invoice(world, "emma", 6000)
    assert counters(caps, "emma") == {"strict": (10000, 6000, 4000), "less_strict": (50000, 0, 50000)}
    with pytest.raises(Conflict) as err:
        invoice(world, "emma", 4001)
    e = err.value
    assert e.code == "max_bill_exceeded"
    assert (e.fields["cap"], e.fields["cap_cents"], e.fields["left_cents"], e.fields["student_id"]) == (
        "strict",
        "10000",
        "4000",
        "emma",
    )
    assert e.fields["school_year"] == YEAR
    invoice(world, "emma", 4000)  # exactly up to the cap
    assert counters(caps, "emma")["strict"] == (10000, 10000, 0)
    with pytest.raises(Conflict):
        invoice(world, "emma", 1, cap="strict")
    invoice(world, "emma", 40000, cap="less_strict")  # the other cap has its own room
    assert_ledger_invariants(finance_rt)


def test_the_override_issues_it_and_is_audited(caps, world, finance_rt):
    invoice(world, "emma", 9000)
    made = invoice(world, "emma", 2000, override=True, title="Zeeklassen")
    assert made.status == "unpaid"
    assert counters(caps, "emma")["strict"] == (10000, 11000, 0)
    assert any("finance.max_bill.overridden" in a and made.number in a for a in audit_actions(finance_rt))


def test_a_cancelled_invoice_frees_its_room(caps, world):
    first = invoice(world, "emma", 10000)
    with pytest.raises(Conflict):
        invoice(world, "emma", 500)
    world.finance.invoices.issue_credit_note(
        STAFF, pb.IssueCreditNoteRequest(invoice_id=first.id, reason="Uitstap afgelast")
    )
    assert counters(caps, "emma")["strict"] == (10000, 0, 10000)
    invoice(world, "emma", 500)


def test_the_school_year_boundary_starts_a_new_count(caps, world, finance_rt):
    finance_rt.clock.set(datetime(2026, 8, 31, 12, 0, tzinfo=UTC))
    invoice(world, "emma", 10000)  # 2025-2026
    finance_rt.clock.set(datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
    # 2026-2027 has no caps yet: nothing is capped
    assert caps.get_max_bill(STAFF, mb.GetMaxBillRequest(student_id="emma")).capped is False
    invoice(world, "emma", 20000)
    caps.set_caps(
        STAFF,
        mb.SetMaxBillCapsRequest(
            caps=mb.MaxBillCaps(
                school_year="2026-2027", level="lager", strict_cents=25000, less_strict_cents=1
            )
        ),
    )
    assert counters(caps, "emma") == {"strict": (25000, 20000, 5000), "less_strict": (1, 0, 1)}
    assert counters(caps, "emma", YEAR)["strict"] == (10000, 10000, 0)
    with pytest.raises(Conflict) as err:
        invoice(world, "emma", 5001)
    assert err.value.fields["school_year"] == "2026-2027"


def test_levels_kleuter_has_its_caps_and_secondary_none(caps, world):
    with pytest.raises(Conflict) as err:
        invoice(world, "zoe", 5001)
    assert (err.value.fields["level"], err.value.fields["cap_cents"]) == ("kleuter", "5000")
    with pytest.raises(Conflict):
        invoice(world, "zoe", 1, cap="less_strict")  # a cap of 0: nothing may count towards it
    invoice(world, "leo", 999_999)  # secondary: no maximum bill
    got = caps.get_max_bill(STAFF, mb.GetMaxBillRequest(student_id="leo"))
    assert (got.level, got.capped, list(got.counters)) == ("", False, [])


def test_bulk_invoices_are_refused_whole_when_one_student_would_pass(caps, world, finance_rt):
    invoice(world, "noah", 9500)
    line = pb.InvoiceLineInput(label="Museum", quantity=1, unit_price_cents=1000, max_bill="strict")
    req = pb.BulkCreateInvoicesRequest(title="Museum", lines=[line], student_ids=["emma", "noah"])
    with pytest.raises(Conflict) as err:
        world.finance.bulk_invoices.bulk_create_invoices(STAFF, req)
    assert (err.value.code, err.value.fields["student_id"], err.value.fields["left_cents"]) == (
        "max_bill_exceeded",
        "noah",
        "500",
    )
    assert counters(caps, "emma")["strict"][1] == 0  # nothing issued
    req.override_max_bill = True
    assert world.finance.bulk_invoices.bulk_create_invoices(STAFF, req).count == 2
    assert counters(caps, "noah")["strict"][1] == 10500


def test_two_invoices_at_once_do_not_both_pass(caps, world, finance_rt):
    """Each alone fits (6000 of 10000); together they do not: exactly one is issued."""
    n = 2
    barrier = threading.Barrier(n)
    outcomes = [""] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            invoice(world, "emma", 6000, title=f"Uitstap {i}")
            outcomes[i] = "ok"
        except AppError as e:
            outcomes[i] = e.code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(outcomes) == {"ok": 1, "max_bill_exceeded": 1}
    assert counters(caps, "emma")["strict"] == (10000, 6000, 4000)


def test_another_schools_staff_sees_neither_the_caps_nor_the_student(caps, world):
    from kit.errors import NotFound
    from services.finance.tests.conftest import OTHER_SCHOOL_STAFF

    assert list(caps.list_caps(OTHER_SCHOOL_STAFF, mb.ListMaxBillCapsRequest()).caps) == []
    with pytest.raises(NotFound):
        caps.get_max_bill(OTHER_SCHOOL_STAFF, mb.GetMaxBillRequest(student_id="emma"))


def test_a_refused_batch_keeps_its_key_free_for_the_override(caps, world):
    """The series form keeps its Idempotency key: the override after a refusal is issued under it."""
    invoice(world, "noah", 9500)
    line = pb.InvoiceLineInput(label="Museum", quantity=1, unit_price_cents=1000, max_bill="strict")
    req = pb.BulkCreateInvoicesRequest(
        title="Museum", lines=[line], student_ids=["noah"], idempotency_key="k-form"
    )
    with pytest.raises(Conflict):
        world.finance.bulk_invoices.bulk_create_invoices(STAFF, req)
    req.override_max_bill = True
    first = world.finance.bulk_invoices.bulk_create_invoices(STAFF, req)
    assert first.count == 1 and world.finance.bulk_invoices.bulk_create_invoices(STAFF, req) == first
