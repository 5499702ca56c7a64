"""Periodic statements (FWB décomptes périodiques, issue #19), on SQLite and PostgreSQL: a student's
statement lists every line of the invoices issued in the period (by issue day), each mandatory or
optional, with what was paid and what remains per invoice; its totals equal the invoices' totals; the
period is one to four months, refused otherwise naming the field; staff only, the caller's school only.
Sending makes one event per student with an invoice in the period, once per key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import finance_pb2 as pb
from cartable.finance.v1 import periodic_statements_pb2 as spb
from kit.errors import Forbidden, InvalidRequest, NotFound
from services.finance.db import outbox
from services.finance.tests.conftest import MUM, OTHER_SCHOOL_STAFF, STAFF
from services.finance.use_cases.periodic_statements import PeriodicStatements


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=UTC)


def invoice(world, student: str, title: str, lines: list[tuple[str, int, bool]], **kw) -> pb.Invoice:
    return world.finance.invoices.create_invoice(
        STAFF,
        pb.CreateInvoiceRequest(
            student_id=student,
            title=title,
            lines=[
                pb.InvoiceLineInput(label=lb, quantity=1, unit_price_cents=c, optional=o)
                for lb, c, o in lines
            ],
            **kw,
        ),
    ).invoice


@pytest.fixture
def term(world, finance_rt):
    """Emma: an invoice in August (outside), two in September (one paid), one in October with a credit,
    one in January (outside a September..December period); Leo: one in October."""
    clock = finance_rt.clock
    made = {}
    clock.set(at("2026-08-31"))
    made["august"] = invoice(world, "emma", "Fournitures", [("Cahiers", 1200, False)])
    clock.set(at("2026-09-01"))
    made["sept"] = invoice(world, "emma", "Septembre", [("Piscine", 3000, False), ("Excursion", 1500, True)])
    world.top_up("emma", 10_000)
    world.pay(STAFF, made["sept"].id, world.wallet("emma").id)
    clock.set(at("2026-09-20"))
    made["photos"] = invoice(world, "emma", "Photos", [("Photo de classe", 800, True)])
    clock.set(at("2026-10-15"))
    made["oct"] = invoice(
        world, "emma", "Octobre", [("Théâtre", 2000, False), ("Journal", 500, True)], credit_cents=300
    )
    made["leo"] = invoice(world, "leo", "Octobre", [("Théâtre", 2000, False)])
    clock.set(at("2027-01-05"))
    made["january"] = invoice(world, "emma", "Janvier", [("Ski", 40000, True)])
    return made


def get(
    finance_rt, student="emma", first="2026-09-01", last="2026-12-31", who=STAFF
) -> spb.PeriodicStatement:
    req = spb.GetPeriodicStatementRequest(student_id=student, from_date=first, to_date=last)
    return PeriodicStatements(finance_rt).get_periodic_statement(who, req).statement


def test_a_statement_lists_every_line_of_the_periods_invoices_and_its_totals_equal_theirs(
    world, finance_rt, term
):
    st = get(finance_rt)
    assert [i.number for i in st.invoices] == [term[k].number for k in ("sept", "photos", "oct")]
    assert [(ln.label, ln.amount_cents, ln.optional) for i in st.invoices for ln in i.lines] == [
        ("Piscine", 3000, False),
        ("Excursion", 1500, True),
        ("Photo de classe", 800, True),
        ("Théâtre", 2000, False),
        ("Journal", 500, True),
    ]
    # per invoice: what was paid and what remains, as the invoice itself says
    for line in st.invoices:
        inv = world.finance.invoices.get_invoice(STAFF, line.invoice_id).invoice
        assert (line.total_cents, line.paid_cents, line.open_cents) == (
            inv.total_cents,
            inv.paid_cents,
            inv.total_cents - inv.paid_cents,
        )
    assert [(i.paid_cents, i.open_cents) for i in st.invoices] == [(4500, 0), (0, 800), (0, 2200)]
    assert st.total_cents == sum(term[k].total_cents for k in ("sept", "photos", "oct")) == 7500
    assert (st.paid_cents, st.open_cents) == (4500, 3000)
    assert st.paid_cents + st.open_cents + st.credited_cents == st.total_cents
    assert (st.mandatory_cents, st.optional_cents, st.credit_cents) == (5000, 2800, 300)
    assert st.mandatory_cents + st.optional_cents - st.credit_cents == st.total_cents
    assert (st.student_name, st.class_name, st.school_name) == ("Emma Dupont", "1A", "École Saint-Joseph")
    assert (st.from_date, st.to_date) == ("2026-09-01", "2026-12-31")


def test_a_statement_counts_invoices_by_their_issue_day_both_ends_included(finance_rt, term):
    assert [i.title for i in get(finance_rt, first="2026-08-31", last="2026-09-01").invoices] == [
        "Fournitures",
        "Septembre",
    ]
    assert get(finance_rt, first="2026-11-01", last="2026-11-30").invoices == []


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-09-01", "2027-01-01", "to"),  # a day past four months
        ("2026-10-31", "2027-03-01", "to"),  # 31 October + 4 months: until 27 February
        ("2026-09-30", "2026-09-01", "to"),  # inverted
        ("", "2026-09-30", "from"),
        ("2026-09-01", "", "to"),
        ("2026-13-01", "2026-12-31", "from"),
    ],
)
def test_a_period_longer_than_four_months_inverted_or_missing_is_refused_naming_the_field(
    finance_rt, term, first, last, field
):
    with pytest.raises(InvalidRequest) as err:
        get(finance_rt, first=first, last=last)
    assert field in err.value.fields


def test_four_whole_months_are_the_longest_period(finance_rt, term):
    assert len(get(finance_rt, first="2026-09-01", last="2026-12-31").invoices) == 3
    assert get(finance_rt, first="2026-10-31", last="2027-02-27").to_date == "2027-02-27"


def test_parents_and_another_schools_staff_get_no_statement(finance_rt, term):
    with pytest.raises(Forbidden):
        get(finance_rt, who=MUM)
    with pytest.raises(NotFound):
        get(finance_rt, who=OTHER_SCHOOL_STAFF)


def sent_events(finance_rt) -> list[spb.PeriodicStatementIssued]:
    with finance_rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.periodic_statement.issued.v1")
            .order_by(outbox.c.id)
        ).scalars()
        out = []
        for body in bodies:
            env = envelope_pb2.Envelope.FromString(body)
            msg = spb.PeriodicStatementIssued()
            env.payload.Unpack(msg)
            out.append(msg)
        return out


def send(finance_rt, key="k1", **kw) -> spb.SendPeriodicStatementsResponse:
    req = spb.SendPeriodicStatementsRequest(
        from_date="2026-09-01", to_date="2026-12-31", idempotency_key=key, **kw
    )
    return PeriodicStatements(finance_rt).send_periodic_statements(STAFF, req)


def test_sending_a_class_makes_one_event_per_invoiced_student_in_their_language_once_per_key(
    finance_rt, term
):
    out = send(finance_rt, class_name="1A", languages={"emma": "nl"})
    assert (out.sent, out.skipped, list(out.student_ids)) == (2, 1, ["emma", "leo"])  # noah: no invoice
    assert send(finance_rt, class_name="1A", languages={"emma": "nl"}) == out
    evs = sent_events(finance_rt)
    assert [(e.statement.student_id, e.language) for e in evs] == [("emma", "nl"), ("leo", "fr")]
    assert evs[0].statement == get(finance_rt)


def test_sending_names_a_class_or_the_whole_school_and_checks_the_period(finance_rt, term):
    with pytest.raises(InvalidRequest) as err:
        send(finance_rt, key="a")
    assert "class_name" in err.value.fields
    with pytest.raises(InvalidRequest):
        send(finance_rt, key="b", class_name="1A", whole_school=True)
    req = spb.SendPeriodicStatementsRequest(whole_school=True, from_date="2026-09-01", to_date="2027-02-01")
    with pytest.raises(InvalidRequest) as err:
        PeriodicStatements(finance_rt).send_periodic_statements(STAFF, req)
    assert "to" in err.value.fields
    assert sent_events(finance_rt) == []
    assert send(finance_rt, key="c", whole_school=True).sent == 2
    assert send(finance_rt, key="d", class_name="9Z").sent == 0
