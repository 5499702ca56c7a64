"""What a bank statement says of the direct-debit batches (issue #18): collections credited, debits
returned. Called by ``statements.py`` inside the import's transaction, before the transfers are
matched; booked with the ledger rules of every other movement (``domain.ledger``, ``db.book``,
``domain.invoices.settle``, ``domain.payments.split_*_reversal``).

Matching (each new movement of the file, in order; a movement claimed here is not matched as a
transfer):

- a credit (not a reversal) whose end-to-end id (camt.053 ``TxDtls/Refs/EndToEndId``, CODA record 2.2
  positions 64-98) is a pending item's, for exactly the item's amount: that item is collected;
- a credit whose communication or references carry a batch's message id (``DD...``) — or one of its
  payment information ids (``DD...-FRST`` / ``-RCUR``) — for exactly what is still pending in the
  batch (or in that block): every pending item of the batch (of that block) is collected;
- a debit whose end-to-end id is a collected item's, for exactly the item's amount: the item is
  returned (an R-transaction: CODA record 2.2 positions 113 and 114-117 say its type and ISO reason,
  camt.053 ``TxDtls/RtrInf/Rsn/Cd``).

Anything else is left to the transfers' rules: a credit of another amount is an unmatched transfer
for the manager, a debit is recorded and not booked. An item is collected once and returned once:
its status says it (the same file again is a duplicate anyway; the same return in another file finds
the item returned and books nothing).

Collecting an item: an invoice is paid what ``settle`` takes of the amount (what it no longer owes,
paid in between by other means, is an unmatched transfer for the manager, kept on the item as its
excess); a top-up credits the wallet. ``finance.payment.received.v1`` (method ``direct_debit``) and
``finance.direct_debit.collected.v1``.

Returning an item reopens exactly what its collection paid: first its excess while still unassigned,
then the invoice's paid amount (owed again, unless cancelled since), or the wallet — never below zero:
what the family already spent from it (or what a cancelled invoice had received) is invoiced to the
student ("Prélèvement retourné", source ``reversal``, as for a chargeback), so nothing is lost. A
reason meaning the mandate is gone (``domain.sepa.MANDATE_ENDING_REASONS``: MD01, ...) revokes the
mandate (reason ``bank_return``). ``finance.direct_debit.returned.v1`` tells the parents.

A return leaves the mandate's later collections RCUR, a returned FRST included (the EPC rulebook
allows RCUR after a first collection since November 2016). A debit naming an item the bank has not
credited yet (a reject before settlement) is left to the transfers' rules: recorded, not booked; the
item stays pending, and a batch credit short of it is an unmatched transfer for the manager.

Locks, in finance's order: the returned items' mandates, the batches and items, the excess transfers,
then the invoices and wallets (with the transfers' own, so the import locks each once, in order).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit.identity import Identity
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db, events
from services.finance.db import direct_debit_queries as ddq
from services.finance.db import mandate_queries as mq
from services.finance.domain import ledger, sepa
from services.finance.domain.invoices import CANCELLED, invoice_status, open_amount, settle
from services.finance.domain.payments import (
    invoice_purpose,
    reopenable_cents,
    split_invoice_reversal,
    split_top_up_reversal,
)
from services.finance.domain.statements import CREDIT, DEBIT
from services.finance.use_cases.invoices import issue_invoice
from services.finance.use_cases.mandates import revoke_in

METHOD = "direct_debit"
COLLECTED = "direct_debit"  # a movement's outcome: a batch's credit (several items)
RETURNED = "direct_debit_return"  # a movement's outcome: a returned debit, booked


@dataclass
class Claim:
    kind: str  # collect | return
    item_ids: list[str]
    movement_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outcome: str = COLLECTED
    invoice_id: str | None = None
    wallet_id: str | None = None
    payment_id: str | None = None
    credited_cents: int = 0
    excess: list[tuple[str, int, str, str]] = field(default_factory=list)  # item, cents, reason, comm


def _plan(movements, items_by_e2e: dict, batches: dict, pending: dict) -> dict[str, Claim]:
    """Which movements are the batches' (see the module), as claims by dedup key. ``pending``: the
    pending items of each batch id."""
    status = {i.id: i.status for i in items_by_e2e.values()}
    status.update({i.id: i.status for rows in pending.values() for i in rows})
    claims: dict[str, Claim] = {}
    for m, key in movements:
        item = items_by_e2e.get(m.end_to_end_id) if m.end_to_end_id else None
        if item is not None and item.amount_cents == m.amount_cents:
            if m.direction == CREDIT and not m.reversal and status[item.id] == "pending":
                claims[key] = Claim("collect", [item.id])
                status[item.id] = "collected"
                continue
            if m.direction == DEBIT and status[item.id] == "collected":
                claims[key] = Claim("return", [item.id], outcome=RETURNED)
                status[item.id] = "returned"
                continue
        if m.direction != CREDIT or m.reversal:
            continue
        msg_id, sequence = sepa.find_message_id(m.free_communication, m.end_to_end_id, m.bank_reference)
        batch = batches.get(msg_id)
        if batch is None:
            continue
        open_items = [i for i in pending.get(batch.id, []) if status[i.id] == "pending"]
        for group in ([i for i in open_items if i.sequence_type == sequence] if sequence else [], open_items):
            if group and sum(i.amount_cents for i in group) == m.amount_cents:
                claims[key] = Claim("collect", [i.id for i in group])
                for i in group:
                    status[i.id] = "collected"
                break
    return claims


class StatementDirectDebits:
    """The direct-debit movements of one import: :meth:`book` them, then :meth:`fill` each one's row."""

    def __init__(self, rt: Runtime, s: Session, school_id: str, at: datetime, movements: list) -> None:
        self.rt, self.s, self.school, self.at = rt, s, school_id, at
        self.movements = movements
        self.claims: dict[str, Claim] = {}

    def _read(self, *, lock: bool) -> dict[str, Claim]:
        s, school = self.s, self.school
        e2e_ids = {m.end_to_end_id for m, _k in self.movements if sepa.is_end_to_end_id(m.end_to_end_id)}
        items = ddq.items_by_end_to_end_id(s, school, e2e_ids, lock=lock)
        msg_ids = set()
        for m, _k in self.movements:
            if m.direction == CREDIT:
                found, _seq = sepa.find_message_id(m.free_communication, m.end_to_end_id, m.bank_reference)
                if found:
                    msg_ids.add(found)
        batches = ddq.batches_by_message_id(s, school, msg_ids, lock=lock)
        pending: dict[str, list] = {}
        for i in ddq.pending_items_of(s, [b.id for b in batches.values()], lock=lock):
            pending.setdefault(i.batch_id, []).append(i)
        self._items = {i.id: i for i in items.values()} | {i.id: i for v in pending.values() for i in v}
        return _plan(self.movements, items, batches, pending)

    def book(self, invoice_ids: set[str], wallet_ids: set[str]) -> None:
        """Find and book the batches' movements. ``invoice_ids``, ``wallet_ids``: what the import's
        transfers will lock, locked here with the items' (in order) before anything is booked."""
        s, school = self.s, self.school
        planned = self._read(lock=False)
        if not planned:
            return
        returned = [self._items[i] for c in planned.values() if c.kind == "return" for i in c.item_ids]
        for mandate_id in sorted({i.mandate_id for i in returned}):
            mq.mandate_row(s, school, mandate_id, lock=True)
        self.claims = self._read(lock=True)
        items = [self._items[i] for c in self.claims.values() for i in c.item_ids]
        for transfer_id in sorted({i.excess_transfer_id for i in items if i.excess_transfer_id}):
            db.lock_unmatched(s, school, transfer_id)
        db.lock_invoices(s, school, invoice_ids | {i.invoice_id for i in items if i.invoice_id})
        db.lock_wallets(s, school, wallet_ids | {i.wallet_id for i in items if i.wallet_id})
        by_key = {k: m for m, k in self.movements}
        for key, claim in self.claims.items():
            movement = by_key[key]
            for item_id in claim.item_ids:
                if claim.kind == "collect":
                    self._collect(claim, self._items[item_id])
                else:
                    self._return(claim, ddq.item_row(s, item_id), movement)
            if claim.kind == "collect" and len(claim.item_ids) > 1:
                claim.outcome, claim.invoice_id, claim.wallet_id, claim.payment_id = (
                    COLLECTED,
                    None,
                    None,
                    None,
                )

    def fill(self, b, row: dict, m, key: str) -> bool:
        """Write what :meth:`book` did into the movement's ``row`` (of ``statement_batch.Batch``
        ``b``); an excess becomes the batch's unmatched transfer. False when the movement is not
        the batches'."""
        claim = self.claims.get(key)
        if claim is None:
            return False
        row.update(
            id=claim.movement_id,
            outcome=claim.outcome,
            invoice_id=claim.invoice_id,
            wallet_id=claim.wallet_id,
            payment_id=claim.payment_id,
        )
        for item_id, cents, reason, communication in claim.excess:
            b.unmatched(row, m, cents, reason, communication, outcome=claim.outcome)
            ddq.update_item(self.s, item_id, excess_transfer_id=b.unmatched_rows[-1]["id"])
        if m.direction == CREDIT:
            b.credited += 1 if claim.credited_cents else 0
            b.credited_cents += claim.credited_cents
        else:
            b.returned_debits += 1
        return True

    # --- collecting -----------------------------------------------------------------------------

    def _collect(self, claim: Claim, item) -> None:
        s, school, at = self.s, self.school, self.at
        applied, excess, payment_id = item.amount_cents, 0, ""
        if item.kind == "invoice":
            inv = db.lock_invoice(s, school, item.invoice_id)
            cancelled = inv.status == CANCELLED
            settlement = settle(
                open_amount(inv.total_cents, inv.paid_cents, inv.status),
                item.amount_cents,
                cancelled=cancelled,
            )
            applied, excess = settlement.applied_cents, settlement.left_over_cents
            if applied:
                tx_id = db.book(
                    s,
                    school,
                    ledger.pay_invoice_external(inv.id, school, applied, METHOD),
                    at=at,
                    label=f"Domiciliation – facture {inv.number}"[:300],
                    student_id=inv.student_id,
                )
                paid = inv.paid_cents + applied
                db.set_invoice_paid(s, inv.id, paid, invoice_status(inv.total_cents, paid, False))
                purpose = invoice_purpose(inv.source)
                payment_id = db.insert_paid_payment(
                    s, school, inv.student_id, purpose, METHOD, applied, at, tx_id, invoice_id=inv.id
                )
                events.record(
                    self.rt,
                    s,
                    school,
                    events.payment_received(
                        payment_id,
                        inv.student_id,
                        applied,
                        METHOD,
                        purpose,
                        invoice_id=inv.id,
                        invoice_number=inv.number,
                    ),
                )
            if excess:
                claim.excess.append((item.id, excess, settlement.reason, format_ogm(item.remittance)))
            claim.outcome, claim.invoice_id = ("invoice" if applied else "unmatched"), inv.id
        else:
            wallet = db.lock_wallet(s, school, item.wallet_id)
            tx_id = db.book(
                s,
                school,
                ledger.top_up(wallet.id, school, item.amount_cents, METHOD),
                at=at,
                label="Rechargement automatique (domiciliation)",
                student_id=wallet.student_id,
            )
            payment_id = db.insert_paid_payment(
                s,
                school,
                wallet.student_id,
                "top_up",
                METHOD,
                item.amount_cents,
                at,
                tx_id,
                wallet_id=wallet.id,
            )
            events.record(
                self.rt,
                s,
                school,
                events.payment_received(
                    payment_id,
                    wallet.student_id,
                    item.amount_cents,
                    METHOD,
                    "top_up",
                    wallet_id=wallet.id,
                    balance_after=wallet.balance_cents + item.amount_cents,
                    wallet_name=wallet.name,
                ),
            )
            ddq.set_trigger_status(s, [item.trigger_id], "collected", at)
            claim.outcome, claim.wallet_id = "wallet", wallet.id
        claim.payment_id = payment_id or None
        claim.credited_cents += applied
        ddq.update_item(
            s,
            item.id,
            status="collected",
            payment_id=payment_id or None,
            applied_cents=applied,
            excess_cents=excess,
            collected_at=at,
            collected_movement_id=claim.movement_id,
        )
        events.record(
            self.rt,
            s,
            school,
            events.direct_debit_collected(
                batch_id=item.batch_id,
                item_id=item.id,
                kind=item.kind,
                student_id=item.student_id,
                amount_cents=item.amount_cents,
                invoice_id=item.invoice_id or "",
                wallet_id=item.wallet_id or "",
            ),
        )

    # --- returning ------------------------------------------------------------------------------

    def _return(self, claim: Claim, item, m) -> None:
        s, school, at = self.s, self.school, self.at
        title = f"Prélèvement retourné ({m.return_reason or 'sans motif'})"
        fields: dict = dict(
            batch_id=item.batch_id,
            item_id=item.id,
            kind=item.kind,
            student_id=item.student_id,
            amount_cents=item.amount_cents,
            reason_code=m.return_reason,
        )
        if item.kind == "invoice":
            split = self._take_back_from_invoice(item, title, fields)
        else:
            wallet = db.lock_wallet(s, school, item.wallet_id)
            split = split_top_up_reversal(item.amount_cents, wallet.balance_cents)
            if split.wallet_cents:
                db.book(
                    s,
                    school,
                    ledger.refund(wallet.id, school, split.wallet_cents, method=METHOD),
                    at=at,
                    label=title,
                    student_id=wallet.student_id,
                )
            ddq.set_trigger_status(s, [item.trigger_id], "returned", at)
            fields.update(wallet_id=wallet.id, wallet_name=wallet.name)
            claim.wallet_id = wallet.id
        if split.invoiced_cents:
            self._invoice_the_rest(item, split.invoiced_cents, title)
        ddq.update_item(
            s,
            item.id,
            status="returned",
            returned_at=at,
            return_reason=(m.return_reason or "")[:4],
            return_bank_reference=(m.bank_reference or "")[:64],
            return_movement_id=claim.movement_id,
        )
        mandate = mq.mandate_row(s, school, item.mandate_id)
        assert mandate is not None  # an item's mandate is the school's (a foreign key)
        revoked = bool(mandate.status == mq.ACTIVE and sepa.ends_mandate(m.return_reason))
        if revoked:
            revoke_in(self.rt, s, mandate, reason="bank_return", by=None, at=at)
        fields.update(mandate_revoked=revoked, mandate_reference=mandate.reference)
        events.record(self.rt, s, school, events.direct_debit_returned(**fields))

    def _take_back_from_invoice(self, item, title: str, fields: dict):
        """The excess still unassigned first, then the invoice's paid amount (owed again)."""
        s, school, at = self.s, self.school, self.at
        excess = []
        if item.excess_transfer_id:
            u = db.unmatched_row(s, item.excess_transfer_id)
            if u.status == "open":
                excess = [u]
        inv = db.lock_invoice(s, school, item.invoice_id)
        reopenable = reopenable_cents(item.applied_cents, 0, inv.paid_cents, inv.status)
        split = split_invoice_reversal(item.amount_cents, [u.amount_cents for u in excess], reopenable)
        for u, take in zip(excess, split.unallocated_takes, strict=False):
            db.book(s, school, ledger.reverse_unallocated(school, take, "transfer"), at=at, label=title)
            if take == u.amount_cents:
                db.update_unmatched(s, u.id, status="refunded")
            else:
                db.update_unmatched(s, u.id, amount_cents=u.amount_cents - take)
        if split.invoice_cents:
            db.book(
                s,
                school,
                ledger.reverse_invoice_payment(inv.id, school, split.invoice_cents, METHOD),
                at=at,
                label=f"{title} – facture {inv.number}"[:300],
                student_id=inv.student_id,
            )
            paid = inv.paid_cents - split.invoice_cents
            db.set_invoice_paid(
                s, inv.id, paid, invoice_status(inv.total_cents, paid, inv.status == CANCELLED)
            )
        fields.update(invoice_id=inv.id, invoice_number=inv.number)
        return split

    def _invoice_the_rest(self, item, rest: int, title: str) -> None:
        """What the family already used of the returned money: invoiced to the student (the revenue
        it booked is taken off and booked again by the invoice), as reversals.py does."""
        s, school = self.s, self.school
        invoice = issue_invoice(
            self.rt,
            s,
            Identity(account_id="", role="system", school_id=school),
            item.student_id,
            title,
            "",
            [
                pb.InvoiceLineInput(
                    label=f"{title} : montant déjà utilisé"[:300], quantity=1, unit_price_cents=rest
                )
            ],
            0,
            "reversal",
        )
        db.book(
            s,
            school,
            ledger.reverse_uncovered(school, rest, METHOD),
            at=self.at,
            label=f"{title} – facture {invoice.number}"[:300],
            student_id=item.student_id,
        )
