"""Returned direct debits (R-transactions) read from bank statements (issue #18), on SQLite and
PostgreSQL: a return reopens exactly what the collection paid, once (the same file twice, the same
return in a camt.053 after the CODA); the parents are told; a 'no mandate' return revokes the mandate;
a top-up already spent is invoiced for what the wallet no longer holds; the ledger stays balanced."""

from __future__ import annotations

import pytest

from cartable.finance.v1 import sepa_pb2 as spb
from kit.errors import Conflict
from services.finance.tests.conftest import STAFF, assert_ledger_invariants
from services.finance.tests.sepa_helpers import Sepa, published
from services.finance.tests.statement_builders import Mv


@pytest.fixture
def sepa(world) -> Sepa:
    return Sepa(world)


def _collected(sepa: Sepa, *, invoice_cents: int = 0, top_up: tuple[int, int] | None = None):
    """A mandate, an invoice and/or a triggered top-up of emma, batched and credited by the bank."""
    world = sepa.world
    mandate = sepa.sign()
    inv = (
        world.invoice("emma", invoice_cents, due_on=sepa.collection_day(1).isoformat())
        if invoice_cents
        else None
    )
    if top_up:
        sepa.set_auto(world.wallet("emma").id, threshold=top_up[0], amount=top_up[1])
    batch = sepa.batch(key="k")
    assert sepa.credit_batch(batch).credited == 1
    return mandate, inv, batch, {i.kind: i for i in sepa.items(batch.id)}


def test_an_insufficient_funds_return_reopens_the_invoice_once_and_tells_the_parents(sepa):
    mandate, inv, batch, items = _collected(sepa, invoice_cents=4200)
    assert sepa.invoice(inv.id).status == "paid"
    result = sepa.return_item(items["invoice"], "AM04", n=50)
    # booked as a return, not counted among the debits a statement only reports
    assert (result.returned_debits, result.debits, result.credited, result.unmatched) == (1, 0, 0, 0)
    reopened = sepa.invoice(inv.id)
    assert (reopened.status, reopened.paid_cents) == ("unpaid", 0)
    (event,) = published(sepa.rt, "finance.direct_debit.returned.v1")
    assert (event.invoice_id, event.invoice_number, event.amount_cents, event.reason_code) == (
        inv.id,
        inv.number,
        4200,
        "AM04",
    )
    assert event.mandate_revoked is False and event.mandate_reference == mandate.reference
    got = sepa.get(batch.id)
    assert (got.status, got.returned_cents) == ("partially_returned", 4200)
    (item,) = got.items
    assert (item.status, item.return_reason) == ("returned", "AM04")

    # The same file again, then the same return in camt.053: nothing more.
    assert sepa.return_item(items["invoice"], "AM04", n=50).duplicates == 1
    camt = sepa.return_item(items["invoice"], "AM04", fmt="camt")
    assert (camt.debits, camt.returned_debits) == (1, 0) and sepa.invoice(inv.id).paid_cents == 0
    assert len(published(sepa.rt, "finance.direct_debit.returned.v1")) == 1
    # The mandate still collects: the reopened invoice goes into the next batch.
    assert mandate.id in {
        m.id for m in sepa.mandates.list_mandates(STAFF, _req()).items if m.status == "active"
    }
    again = sepa.batch(key="k2")
    assert [(i.kind, i.invoice_id, i.sequence_type) for i in sepa.items(again.id)] == [
        ("invoice", inv.id, "RCUR")
    ]
    assert_ledger_invariants(sepa.rt)


def _req() -> spb.ListMandatesRequest:
    return spb.ListMandatesRequest()


def test_a_no_mandate_return_revokes_the_mandate(sepa):
    mandate, inv, _batch, items = _collected(sepa, invoice_cents=1500)
    sepa.return_item(items["invoice"], "MD01", fmt="camt")
    (m,) = sepa.mandates.list_mandates(STAFF, _req()).items
    assert (m.id, m.status, m.revoked_reason) == (mandate.id, "revoked", "bank_return")
    (event,) = published(sepa.rt, "finance.direct_debit.returned.v1")
    assert event.mandate_revoked and event.reason_code == "MD01"
    (revoked,) = published(sepa.rt, "finance.mandate.revoked.v1")
    assert revoked.reason == "bank_return"
    assert sepa.invoice(inv.id).status == "unpaid"
    with pytest.raises(Conflict) as exc:
        sepa.batch(key="k2")
    assert exc.value.code == "batch_empty"  # nothing collects on it any more


def test_a_returned_top_up_takes_back_what_the_wallet_holds_and_invoices_what_was_spent(sepa):
    world = sepa.world
    _m, _inv, _batch, items = _collected(sepa, top_up=(500, 2000))
    assert sepa.wallet("emma").balance_cents == 2000
    world.sale("emma", [("Repas", 1, 1500)])  # 500 left
    sepa.return_item(items["top_up"], "AC04")
    assert sepa.wallet("emma").balance_cents == 0
    rest = list(world.finance.invoices.list_invoices(STAFF, "emma").invoices)
    (owed,) = [i for i in rest if i.title.startswith("Prélèvement retourné")]
    assert (owed.total_cents, owed.status) == (1500, "unpaid")
    (event,) = published(sepa.rt, "finance.direct_debit.returned.v1")
    assert (event.kind, event.wallet_id, event.wallet_name, event.mandate_revoked) == (
        "top_up",
        world.wallet("emma").id,
        "Repas",
        True,  # AC04: the account is closed
    )
    assert sepa.wallet("emma").auto_top_up.enabled is False
    assert_ledger_invariants(sepa.rt)


def test_a_debit_of_another_amount_or_an_unknown_collection_is_only_recorded(sepa):
    _m, inv, _batch, items = _collected(sepa, invoice_cents=1500)
    wrong = Mv(1499, direction="debit", end_to_end_id=items["invoice"].end_to_end_id, return_reason="AM04")
    unknown = Mv(1500, direction="debit", end_to_end_id="E" + "0" * 32, return_reason="AM04")
    result = sepa.import_file(sepa.statement([wrong, unknown]))
    assert (result.debits, result.returned_debits) == (2, 0)
    assert sepa.invoice(inv.id).status == "paid"
    assert published(sepa.rt, "finance.direct_debit.returned.v1") == []


def test_a_batch_credit_of_another_amount_stays_for_the_manager(sepa):
    world = sepa.world
    sepa.sign()
    inv = world.invoice("emma", 1500, due_on=sepa.collection_day(1).isoformat())
    batch = sepa.batch(key="k")
    result = sepa.import_file(sepa.statement([Mv(1400, free_text=f"SEPA DD {batch.message_id}")]))
    assert (result.credited, result.unmatched) == (0, 1)
    assert sepa.invoice(inv.id).collection_pending is True
    # The payment information block's id carries the batch too (one credit per sequence type).
    block = sepa.import_file(sepa.statement([Mv(1500, free_text=f"{batch.message_id}-FRST")]))
    assert block.credited == 1 and sepa.invoice(inv.id).status == "paid"
