"""Bank statement imports (CODA and camt.053 built here, and the banks' own CODA samples), on SQLite
and PostgreSQL: credits matched by structured communication, the rest left for the manager, every
movement booked once however often the file comes, a corrupted file refused whole."""

from __future__ import annotations

import os
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.finance.app import UseCases
from services.finance.db import bank_movements, ledger_transactions, outbox, payments, unmatched_transfers
from services.finance.tests.conftest import MUM, OTHER_SCHOOL_STAFF, STAFF, assert_ledger_invariants
from services.finance.tests.statement_builders import DEFAULT_DAY, Mv, build_camt053, build_coda, make_ogm
from services.finance.use_cases.statements import Statements

SAMPLES = Path(os.environ.get("CODA_SAMPLES_DIR", "/work/shared/reference/coda-samples"))
DAY = date(2026, 3, 16)  # the tests' clock day


def digits(ogm: str) -> str:
    return ogm.strip("+").replace("/", "")


@pytest.fixture
def bank(finance, world) -> Statements:
    return finance.statements


@pytest.fixture
def pay(finance, world) -> UseCases:
    return finance  # no online payment here


def imported(
    bank, content: bytes, who=STAFF, key: str = "", filename: str = "extrait.cod"
) -> pb.StatementImport:
    return bank.import_statement(
        who, pb.ImportStatementRequest(content=content, filename=filename, idempotency_key=key)
    ).result


def counts(rt) -> dict[str, int]:
    """Rows of what an import books and announces (its audit entry aside: an import again is recorded)."""
    with rt.db.unit_of_work() as s:
        found = {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (bank_movements, ledger_transactions, payments, unmatched_transfers)
        }
        announced = (
            select(func.count()).select_from(outbox).where(outbox.c.event_name != "finance.audit.recorded.v1")
        )
        return {**found, "outbox": s.execute(announced).scalar_one()}


def events(rt) -> list[ev.PaymentReceived]:
    out = []
    with rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body)
            .where(outbox.c.event_name == "finance.payment.received.v1")
            .order_by(outbox.c.id)
        ).scalars():
            msg = ev.PaymentReceived()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(msg)
            out.append(msg)
    return out


def statement_items(world) -> tuple[list, dict]:
    """Structured, free-text, debit, foreign, batched, unknown and invoice movements."""
    emma, leo, noah = world.wallet("emma"), world.wallet("leo"), world.wallet("noah", "Activités")
    exact = world.invoice("emma", 4500, title="Classe verte")
    partial = world.invoice("leo", 3000, title="Piscine")
    over = world.invoice("noah", 1000, title="Photos")
    items = [
        Mv(
            2500,
            ogm=digits(emma.structured_communication),
            counterparty_name="DUPONT MARIE",
            counterparty_iban="BE71096123456769",
        ),
        Mv(1200, free_text=f"repas {leo.structured_communication} merci", counterparty_name="PEETERS JAN"),
        Mv(
            800,
            ogm=digits(noah.structured_communication),
            counterparty_name="MÜLLER HANS",
            counterparty_iban="DE89370400440532013000",
        ),  # a foreign payer
        Mv(4500, ogm=digits(exact.structured_communication), counterparty_name="DUPONT MARIE"),
        Mv(1000, ogm=digits(partial.structured_communication), counterparty_name="PEETERS JAN"),
        Mv(1500, ogm=digits(over.structured_communication), counterparty_name="MAES LUC"),
        Mv(990, direction="debit", free_text="Traiteur septembre", counterparty_name="TRAITEUR SA"),
        Mv(300, free_text="pour Emma", counterparty_name="GRAND-MERE"),  # free text only
        Mv(400, ogm=make_ogm(4242424242), counterparty_name="INCONNU"),  # nobody's communication
        (  # a collective payment: two parents through one bank
            Mv(600, ogm=digits(emma.structured_communication), counterparty_name="DUPONT MARIE"),
            Mv(700, ogm=digits(leo.structured_communication), counterparty_name="PEETERS JAN"),
        ),
    ]
    return items, {"exact": exact, "partial": partial, "over": over}


def test_a_coda_file_credits_wallets_and_invoices_and_leaves_the_rest_for_the_manager(
    bank, world, finance_rt, pay
):
    items, inv = statement_items(world)
    result = imported(bank, build_coda(items, created_on=DAY))
    assert (result.format, result.movements, result.duplicates, result.debits) == ("coda", 11, 0, 1)
    # credited: emma, leo (free text), noah (foreign), exact, partial, over, the two details of the batch
    assert result.credited == 8
    # unmatched: the free-text-only and unknown credits, and what the overpaid invoice could not take
    assert result.unmatched == 3 and result.unmatched_cents == 300 + 400 + 500
    assert result.credited_cents == 2500 + 1200 + 800 + 4500 + 1000 + 1000 + 600 + 700
    assert result.accounts == ["BE68539007547034"]
    assert (
        world.balance("emma") == 3100
        and world.balance("leo") == 1900
        and world.balance("noah", "Activités") == 800
    )
    statuses = {k: world.finance.invoices.get_invoice(STAFF, i.id).invoice for k, i in inv.items()}
    assert (statuses["exact"].status, statuses["exact"].paid_cents) == ("paid", 4500)
    assert (statuses["partial"].status, statuses["partial"].paid_cents) == ("partially_paid", 1000)
    assert (statuses["over"].status, statuses["over"].paid_cents) == ("paid", 1000)
    left = {
        t.reason: t for t in pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    }
    assert set(left) == {"no_communication", "unknown_communication", "overpayment"}
    assert (left["no_communication"].communication, left["no_communication"].counterparty_name) == (
        "pour Emma",
        "GRAND-MERE",
    )
    assert left["overpayment"].amount_cents == 500
    assert left["overpayment"].communication == inv["over"].structured_communication
    assert left["unknown_communication"].booked_on == DEFAULT_DAY.isoformat()  # the bank's booking day
    got = events(finance_rt)
    assert len(got) == 8 and {e.method for e in got} == {"transfer"}
    assert sorted((e.purpose, e.amount_cents) for e in got if e.purpose == "invoice") == [
        ("invoice", 1000),
        ("invoice", 1000),
        ("invoice", 4500),
    ]
    emma_events = [e for e in got if e.wallet_id == world.wallet("emma").id]
    assert [e.balance_after_cents for e in emma_events] == [2500, 3100]
    ops = world.finance.operations.list_operations(
        MUM, pb.ListOperationsRequest(student_id="emma")
    ).operations
    assert sorted((o.payment_method, o.amount_cents) for o in ops if o.wallet_name == "Repas") == [
        ("transfer", 600),
        ("transfer", 2500),
    ]
    assert_ledger_invariants(finance_rt)


def test_the_same_file_twice_books_nothing_twice(bank, world, finance_rt):
    items, _ = statement_items(world)
    content = build_coda(items, created_on=DAY)
    imported(bank, content)
    before, balance = counts(finance_rt), world.balance("emma")
    again = imported(bank, content)
    assert (again.movements, again.duplicates, again.credited, again.unmatched, again.debits) == (
        11,
        11,
        0,
        0,
        0,
    )
    after = counts(finance_rt)
    assert world.balance("emma") == balance
    assert {k: after[k] - before[k] for k in after} == {k: 0 for k in after}
    assert_ledger_invariants(finance_rt)


def test_a_movement_repeated_in_a_later_file_or_in_the_same_file_is_booked_once(bank, world, finance_rt):
    emma = digits(world.wallet("emma").structured_communication)
    day1 = build_coda([Mv(1000, ogm=emma)], statement_number=41, created_on=DAY)
    both = day1 + build_coda([Mv(2000, ogm=emma)], statement_number=42, created_on=DAY)
    first = imported(bank, day1)
    assert first.credited == 1
    second = imported(bank, both)  # the bank sends day 41 again with day 42
    assert (second.movements, second.duplicates, second.credited) == (2, 1, 1)
    doubled = imported(bank, build_coda([Mv(500, ogm=emma)], statement_number=43, created_on=DAY) * 2)
    assert (doubled.movements, doubled.duplicates, doubled.credited) == (2, 1, 1)
    assert world.balance("emma") == 3500


def test_a_camt053_file_is_matched_the_same_way(bank, world, finance_rt, pay):
    items, inv = statement_items(world)
    content = build_camt053(items, created_on=DAY)
    result = imported(bank, content, filename="statement.xml")
    assert (result.format, result.movements, result.credited, result.unmatched, result.debits) == (
        "camt053",
        11,
        8,
        3,
        1,
    )
    assert world.balance("emma") == 3100 and world.balance("leo") == 1900
    assert world.finance.invoices.get_invoice(STAFF, inv["partial"].id).invoice.paid_cents == 1000
    again = imported(bank, content)
    assert (again.duplicates, again.credited) == (11, 0)
    assert world.balance("emma") == 3100
    assert_ledger_invariants(finance_rt)


def test_a_camt053_entry_repeated_with_its_bank_reference_is_a_duplicate(bank, world):
    emma = digits(world.wallet("emma").structured_communication)
    twice = build_camt053(
        [Mv(1000, ogm=emma, bank_reference="REF-1"), Mv(1000, ogm=emma, bank_reference="REF-1")]
    )
    result = imported(bank, twice)
    assert (result.movements, result.duplicates, result.credited) == (2, 1, 1)
    assert world.balance("emma") == 1000


@pytest.mark.parametrize("fmt", ["coda", "camt053"])
def test_a_corrupted_file_is_refused_with_its_line_and_books_nothing(bank, world, finance_rt, fmt):
    items, _ = statement_items(world)
    if fmt == "coda":
        good = build_coda(items, created_on=DAY)
        lines = good.split(b"\r\n")
        n = next(i for i, rec in enumerate(lines) if rec.startswith(b"21"))
        lines[n] = lines[n][:40] + b"9" + lines[n][41:]  # one amount changed: the sums no longer add up
        bad = b"\r\n".join(lines)
    else:
        good = build_camt053(items, created_on=DAY, pretty=True)
        bad = good.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>CREDIT</CdtDbtInd>", 2)
    before = counts(finance_rt)
    with pytest.raises(InvalidRequest) as err:
        imported(bank, bad)
    assert err.value.code == "invalid_statement"
    assert err.value.fields["line"].isdigit() and err.value.fields["reason"]
    assert err.value.message.startswith(f"line {err.value.fields['line']}:")
    assert counts(finance_rt) == before and world.balance("emma") == 0
    for junk in (b"", b"hello", b"<Document/>"):
        with pytest.raises(InvalidRequest) as err:
            imported(bank, junk)
        assert err.value.code == "invalid_statement"
    assert counts(finance_rt) == before
    assert imported(bank, good).credited == 8  # the good file still imports afterwards


def test_the_old_communication_credits_the_wallet_until_it_expires(bank, world, finance_rt, pay):
    old = digits(world.wallet("emma").structured_communication)
    world.finance.wallets.open_student_wallets(
        STAFF, pb.OpenStudentWalletsRequest(student_id="emma", level="secondary")
    )
    assert (
        digits(world.finance.wallets.list_wallets(STAFF, "emma").wallets[0].structured_communication) != old
    )
    ok = imported(bank, build_coda([Mv(1100, ogm=old, booked_on=DAY)], statement_number=1, created_on=DAY))
    assert ok.credited == 1 and world.balance("emma") == 1100
    late_day = DAY + timedelta(days=400)
    late = imported(
        bank, build_coda([Mv(900, ogm=old, booked_on=late_day)], statement_number=2, created_on=late_day)
    )
    assert (late.credited, late.unmatched) == (0, 1)
    (left,) = pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    assert left.reason == "expired_communication" and world.balance("emma") == 1100


def test_another_schools_communication_and_reversals_are_not_credited(bank, world, finance_rt, pay):
    emma = digits(world.wallet("emma").structured_communication)
    result = imported(
        bank, build_coda([Mv(1000, ogm=emma), Mv(200, ogm=emma, reversal=True)]), who=OTHER_SCHOOL_STAFF
    )
    assert (result.credited, result.unmatched) == (0, 2)
    assert world.balance("emma") == 0
    assert pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers == []
    reasons = sorted(
        t.reason
        for t in pay.transfers.list_unmatched(
            OTHER_SCHOOL_STAFF, pb.ListUnmatchedTransfersRequest()
        ).transfers
    )
    assert reasons == ["reversal", "unknown_communication"]


def test_cancelled_and_settled_invoices_leave_the_credit_unmatched(bank, world, pay):
    cancelled = world.invoice("emma", 800, title="Théâtre")
    world.finance.invoices.issue_credit_note(
        STAFF, pb.IssueCreditNoteRequest(invoice_id=cancelled.id, reason="annulé")
    )
    result = imported(bank, build_coda([Mv(800, ogm=digits(cancelled.structured_communication))]))
    assert (result.credited, result.unmatched) == (0, 1)
    (left,) = pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    assert left.reason == "invoice_cancelled"


def test_assigning_unmatched_transfers_to_a_wallet_and_to_an_invoice(bank, world, finance_rt, pay):
    inv = world.invoice("leo", 1000, title="Photos")
    imported(
        bank,
        build_coda(
            [
                Mv(2500, free_text="pour Emma", counterparty_name="GRAND-MERE"),
                Mv(1600, free_text="photos Leo", counterparty_name="PEETERS"),
            ]
        ),
    )
    grandma, photos = sorted(
        pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers,
        key=lambda t: t.amount_cents,
        reverse=True,
    )
    done = pay.transfers.assign_unmatched(
        STAFF, pb.AssignUnmatchedTransferRequest(transfer_id=grandma.id, wallet_id=world.wallet("emma").id)
    )
    assert done.transfer.status == "assigned" and done.wallet_balance_cents == 2500 and done.payment_id
    assert world.balance("emma") == 2500
    with pytest.raises(Conflict) as err:
        pay.transfers.assign_unmatched(
            STAFF,
            pb.AssignUnmatchedTransferRequest(transfer_id=grandma.id, wallet_id=world.wallet("emma").id),
        )
    assert err.value.code == "already_assigned"
    to_invoice = pay.transfers.assign_unmatched(
        STAFF, pb.AssignUnmatchedTransferRequest(transfer_id=photos.id, invoice_id=inv.id)
    )
    assert to_invoice.invoice.status == "paid" and to_invoice.unmatched_rest_cents == 600
    assert to_invoice.transfer.amount_cents == 1000
    (rest,) = pay.transfers.list_unmatched(STAFF, pb.ListUnmatchedTransfersRequest()).transfers
    assert (rest.amount_cents, rest.reason, rest.counterparty_name) == (600, "overpayment", "PEETERS")
    assigned = pay.transfers.list_unmatched(
        STAFF, pb.ListUnmatchedTransfersRequest(status="assigned")
    ).transfers
    assert {t.id for t in assigned} == {grandma.id, photos.id}
    evs = events(finance_rt)
    assert [(e.method, e.purpose, e.amount_cents) for e in evs] == [
        ("transfer", "top_up", 2500),
        ("transfer", "invoice", 1000),
    ]
    with pytest.raises(Conflict) as err:
        pay.transfers.assign_unmatched(
            STAFF, pb.AssignUnmatchedTransferRequest(transfer_id=rest.id, invoice_id=inv.id)
        )
    assert err.value.code == "already_paid"
    with pytest.raises(InvalidRequest):
        pay.transfers.assign_unmatched(STAFF, pb.AssignUnmatchedTransferRequest(transfer_id=rest.id))
    with pytest.raises(NotFound):
        pay.transfers.assign_unmatched(
            OTHER_SCHOOL_STAFF,
            pb.AssignUnmatchedTransferRequest(transfer_id=rest.id, wallet_id=world.wallet("emma").id),
        )
    with pytest.raises(Forbidden):
        pay.transfers.assign_unmatched(
            MUM, pb.AssignUnmatchedTransferRequest(transfer_id=rest.id, wallet_id=world.wallet("emma").id)
        )
    assert_ledger_invariants(finance_rt)


def test_only_staff_import_statements(bank, world):
    with pytest.raises(Forbidden):
        imported(bank, build_coda([Mv(100)]), who=MUM)


def test_an_import_key_replays_the_first_answer(bank, world):
    emma = digits(world.wallet("emma").structured_communication)
    content = build_coda([Mv(1000, ogm=emma)])
    first = imported(bank, content, key="upload-1")
    again = imported(bank, content, key="upload-1")
    assert again == first and world.balance("emma") == 1000
    assert len(bank.list_imports(STAFF, pb.ListStatementImportsRequest()).imports) == 1


def test_two_imports_of_one_file_at_once_book_it_once(bank, world, finance_rt):
    emma = digits(world.wallet("emma").structured_communication)
    content = build_coda([Mv(1000 + i, ogm=emma) for i in range(30)])
    results, errors = [], []

    def run():
        try:
            results.append(imported(bank, content))
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - a thread collects any failure, shown below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.credited for r in results) == [0, 0, 30]
    assert world.balance("emma") == sum(1000 + i for i in range(30))
    assert_ledger_invariants(finance_rt)


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"real CODA sample {path} not available (set CODA_SAMPLES_DIR)")
    return path.read_bytes()


def test_the_banks_own_coda_samples_import_once_and_the_faulty_one_is_refused(bank, world, finance_rt):
    single = imported(bank, sample("Coda_v2_3_single_statement.txt"))
    assert single.movements > 0 and single.credited == 0
    assert single.unmatched + single.debits == single.movements
    multi = imported(bank, sample("Coda_v2_3_multi_statements.txt"))  # its first statement is the single one
    assert multi.duplicates == single.movements and multi.movements > single.movements
    glob = imported(bank, sample("Coda_v2_3_globalisation.txt"))
    assert glob.movements > 0
    foreign = imported(bank, sample("Coda_foreign_account.txt"))
    assert foreign.movements > 0
    before = counts(finance_rt)
    with pytest.raises(InvalidRequest) as err:
        imported(bank, sample("Coda_faulty_version.txt"))
    assert err.value.code == "invalid_statement"
    assert counts(finance_rt) == before
    assert_ledger_invariants(finance_rt)
