"""The bank reconciliation of an imported statement (issue #17), on SQLite and PostgreSQL: every movement
the import recorded with its outcome (credited to a wallet or an invoice, unmatched and why, a debit),
what an invoice could not take, what the manager assigned since; the import's duplicates as the count
it stored (movements are not kept per import when they were imported before); pages by keyset; another
school's import not found, parents refused."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import exports_pb2 as xpb
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Forbidden, InvalidRequest, NotFound
from services.finance.tests.conftest import MUM, OTHER_SCHOOL_STAFF, STAFF, World
from services.finance.tests.statement_builders import Mv, build_coda
from services.finance.use_cases.reconciliation import Reconciliation


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


def view(rt, import_id: str, who=STAFF, limit: int = 0) -> tuple[xpb.StatementImportDetail, list]:
    """The import and every movement of it, page after page."""
    rec, movements, cursor = Reconciliation(rt), [], ""
    while True:
        got = rec.get_statement_import(
            who, xpb.GetStatementImportRequest(import_id=import_id, cursor=cursor, limit=limit)
        )
        movements += list(got.movements)
        cursor = got.next_cursor
        if not cursor:
            return got.statement_import, movements


def imported(world: World, content: bytes, filename: str = "extrait.cod") -> pb.StatementImport:
    return world.finance.statements.import_statement(
        STAFF, pb.ImportStatementRequest(content=content, filename=filename)
    ).result


def a_statement(world: World) -> tuple[bytes, dict]:
    """A top-up, an invoice paid in part, one paid too much, a credit naming nothing, a reversal and
    a debit."""
    books = world.invoice("noah", 4_000, title="Manuels")
    trip = world.invoice("leo", 1_500, title="Classe verte")
    content = build_coda(
        [
            Mv(
                2_500,
                ogm=digits(world.wallet("emma").structured_communication),
                counterparty_name="EMMA MAMAN",
            ),
            Mv(1_000, ogm=digits(books.structured_communication), counterparty_name="NOAH PAPA"),
            Mv(2_000, ogm=digits(trip.structured_communication), counterparty_name="LEO PAPA"),
            Mv(700, free_text="pour les repas de Zoé", counterparty_name="ZOE MAMAN"),
            Mv(300, reversal=True, counterparty_name="BANQUE"),
            Mv(1_234, direction="debit", free_text="Fournitures", counterparty_name="PAPETERIE"),
        ]
    )
    return content, {"books": books, "trip": trip}


def test_each_movement_shows_what_it_became(world, finance_rt):
    content, inv = a_statement(world)
    result = imported(world, content, "mars.cod")
    detail, movements = view(finance_rt, result.id)
    assert (detail.id, detail.format, detail.filename) == (result.id, "coda", "mars.cod")
    assert (detail.movements, detail.recorded, detail.duplicates) == (6, 6, 0)
    assert (detail.credited, detail.unmatched, detail.debits) == (3, 3, 1)
    by_amount = {m.amount_cents: m for m in movements}
    top_up = by_amount[2_500]
    assert (top_up.outcome, top_up.wallet_name, top_up.student_name, top_up.credited_cents) == (
        "wallet",
        "Repas",
        "Emma Dupont",
        2_500,
    )
    assert top_up.wallet_id == world.wallet("emma").id and top_up.payment_id and not top_up.unmatched
    part = by_amount[1_000]
    assert (part.outcome, part.invoice_number, part.student_id, part.credited_cents) == (
        "invoice",
        inv["books"].number,
        "noah",
        1_000,
    )
    over = by_amount[2_000]
    assert (over.outcome, over.invoice_id, over.credited_cents, over.unmatched_cents) == (
        "invoice",
        inv["trip"].id,
        1_500,
        500,
    )
    assert [(u.amount_cents, u.reason, u.status) for u in over.unmatched] == [(500, "overpayment", "open")]
    nobody = by_amount[700]
    assert (nobody.outcome, nobody.credited_cents, nobody.student_id) == ("unmatched", 0, "")
    assert nobody.communication == "pour les repas de Zoé" and nobody.counterparty_name == "ZOE MAMAN"
    assert [(u.amount_cents, u.reason) for u in nobody.unmatched] == [(700, "no_communication")]
    reversal = by_amount[300]
    assert reversal.reversal and [u.reason for u in reversal.unmatched] == ["reversal"]
    debit = by_amount[1_234]
    assert (debit.direction, debit.outcome, debit.credited_cents, list(debit.unmatched)) == (
        "debit",
        "debit",
        0,
        [],
    )
    # the movements add up to the import's counts and cents
    assert sum(m.credited_cents for m in movements) == detail.credited_cents == result.credited_cents
    assert sum(m.unmatched_cents for m in movements) == detail.unmatched_cents == 500 + 700 + 300
    assert top_up.communication == world.wallet("emma").structured_communication


def test_what_the_manager_assigned_since_shows_on_the_movement(world, finance_rt):
    content, _inv = a_statement(world)
    result = imported(world, content)
    (nobody,) = [m for m in view(finance_rt, result.id)[1] if m.amount_cents == 700]
    finance_rt.clock.advance(hours=2)  # the manager assigns it later that day
    small = world.invoice("emma", 450, title="Repas de mars")
    world.finance.transfers.assign_unmatched(
        STAFF,
        pb.AssignUnmatchedTransferRequest(
            transfer_id=nobody.unmatched[0].transfer_id, invoice_id=small.id, idempotency_key="as-1"
        ),
    )
    (after,) = [m for m in view(finance_rt, result.id)[1] if m.amount_cents == 700]
    assert [
        (u.amount_cents, u.status, u.assigned_invoice_number, u.assigned_student_name)
        for u in after.unmatched
    ] == [(450, "assigned", small.number, "Emma Dupont"), (250, "open", "", "")]
    assert after.unmatched_cents == 700 and after.unmatched[0].assigned_at
    (reversal,) = [m for m in view(finance_rt, result.id)[1] if m.reversal]
    world.finance.transfers.assign_unmatched(
        STAFF,
        pb.AssignUnmatchedTransferRequest(
            transfer_id=reversal.unmatched[0].transfer_id,
            wallet_id=world.wallet("leo").id,
            idempotency_key="as-2",
        ),
    )
    (reversal,) = [m for m in view(finance_rt, result.id)[1] if m.reversal]
    assert [(u.status, u.assigned_wallet_name, u.assigned_student_id) for u in reversal.unmatched] == [
        ("assigned", "Repas", "leo")
    ]


def test_a_file_imported_again_shows_its_duplicates_as_a_count(world, finance_rt):
    """Duplicates book nothing and are not stored per import: the second import records no movement
    and says how many it recognised; the first import's view keeps them."""
    content, _inv = a_statement(world)
    first = imported(world, content)
    again = imported(world, content)
    detail, movements = view(finance_rt, again.id)
    assert (detail.movements, detail.duplicates, detail.recorded, detail.credited) == (6, 6, 0, 0)
    assert movements == []
    assert len(view(finance_rt, first.id)[1]) == 6


def test_movements_come_by_pages_without_repeating_or_skipping(world, finance_rt):
    content = build_coda([Mv(100 + i, free_text=f"virement {i}") for i in range(7)])
    result = imported(world, content)
    _detail, whole = view(finance_rt, result.id, limit=1000)
    assert len(whole) == 7
    for size in (1, 2, 3):
        _d, paged = view(finance_rt, result.id, limit=size)
        assert [m.id for m in paged] == [m.id for m in whole]
    first = Reconciliation(finance_rt).get_statement_import(
        STAFF, xpb.GetStatementImportRequest(import_id=result.id, limit=5)
    )
    assert len(first.movements) == 5 and first.next_cursor


def test_another_schools_import_is_not_found_and_parents_are_refused(world, finance_rt):
    content, _inv = a_statement(world)
    result = imported(world, content)
    with pytest.raises(NotFound):
        view(finance_rt, result.id, who=OTHER_SCHOOL_STAFF)
    with pytest.raises(NotFound):
        view(finance_rt, "no-such-import")
    with pytest.raises(Forbidden):
        view(finance_rt, result.id, who=MUM)


@pytest.mark.parametrize(
    ("cursor", "limit", "field"), [("nope", 0, "cursor"), ("", 1001, "limit"), ("", -1, "limit")]
)
def test_a_bad_cursor_or_limit_is_refused(world, finance_rt, cursor, limit, field):
    result = imported(world, build_coda([Mv(100, free_text="x")]))
    with pytest.raises(InvalidRequest) as exc:
        Reconciliation(finance_rt).get_statement_import(
            STAFF, xpb.GetStatementImportRequest(import_id=result.id, cursor=cursor, limit=limit)
        )
    assert field in exc.value.fields
