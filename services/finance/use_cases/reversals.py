"""Refunds and chargebacks of online payments, as the provider lists them (the webhook brings them:
``webhooks.py``). The payment stays ``paid``; each refund (not failed or canceled) and chargeback (not
reversed) is booked once, in its own unit of work under the payment's row lock, keyed by its provider
id (``payment_reversals``). Where the money is taken back from is ``domain.payments.split_*_reversal``:
a top-up from its wallet (never below zero); an invoice payment from its excess still unassigned, then
off the invoice (``settle`` against what can be reopened: the invoice is owed again); what none of
these covers is invoiced to the student.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, events
from services.finance.domain import ledger
from services.finance.domain.invoices import invoice_status
from services.finance.domain.payments import (
    PAID,
    ReversalSplit,
    reopenable_cents,
    split_invoice_reversal,
    split_top_up_reversal,
)
from services.finance.providers import ProviderReversal
from services.finance.use_cases import common
from services.finance.use_cases.invoices import issue_invoice

log = logging.getLogger("finance.payments")


class Reversals:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def apply_reversals(self, payment_id: str, reversals: list[ProviderReversal]) -> int:
        """Book the refunds and chargebacks the provider lists for our paid online payment, each once
        (keyed by its provider id), each in its own unit of work under the payment's row lock. Returns
        how many this call booked. A failed or canceled refund books nothing; a chargeback reversed
        by the bank books nothing, and one reversed after it was booked is only logged (the manager
        corrects it)."""
        booked = 0
        for reversal in reversals:
            if not reversal.books_money:
                self._note_void_reversal(payment_id, reversal)
                continue
            try:
                if self._book_reversal(payment_id, reversal):
                    booked += 1
            except IntegrityError:
                # The unique (payment, provider id) caught a concurrent booking of the same reversal.
                if not self._reversal_booked(payment_id, reversal.id):
                    raise
                log.info(
                    "reversal booked by a concurrent webhook",
                    extra={"payment_id": payment_id, "provider_reversal_id": reversal.id},
                )
        return booked

    def _reversal_booked(self, payment_id: str, provider_reversal_id: str) -> bool:
        with self.rt.db.unit_of_work() as s:
            return db.reversal_booked(s, payment_id, provider_reversal_id)

    def _note_void_reversal(self, payment_id: str, reversal: ProviderReversal) -> None:
        extra = {
            "payment_id": payment_id,
            "provider_reversal_id": reversal.id,
            "kind": reversal.kind,
            "provider_status": reversal.status,
            "amount_cents": reversal.amount_cents,
        }
        if self._reversal_booked(payment_id, reversal.id):
            # Out of scope: money booked as gone came back (a queued refund canceled, a chargeback
            # reversed). Booking it again is for the manager, who sees this line.
            log.error("a booked refund or chargeback was undone at the provider: not rebooked", extra=extra)
        else:
            log.info("refund failed or canceled, or chargeback reversed: nothing to book", extra=extra)

    def _book_reversal(self, payment_id: str, reversal: ProviderReversal) -> bool:
        """One refund or chargeback, in one unit of work: False when it was already booked (or cannot
        be, which is logged)."""
        at = common.now(self.rt)
        extra = {"payment_id": payment_id, "provider_reversal_id": reversal.id, "kind": reversal.kind}
        with self.rt.db.unit_of_work() as s:
            row = db.payment_row(s, payment_id, lock=True)
            if db.reversal_booked(s, row.id, reversal.id):
                return False
            if row.status != PAID or row.method != "online":
                log.error("reversal of a payment that is not a paid online one: nothing booked", extra=extra)
                return False
            done = db.reversed_cents(s, row.id)
            if done + reversal.amount_cents > row.amount_cents:
                log.error(
                    "reversals beyond the payment's amount: nothing booked",
                    extra={**extra, "payment_cents": row.amount_cents, "already_cents": done},
                )
                return False
            word = "Remboursement" if reversal.kind == "refund" else "Rétrofacturation"
            paid_on = db.utc(row.paid_at or row.created_at).astimezone(common.BRUSSELS)
            title = f"{word} du paiement en ligne du {paid_on:%d/%m/%Y}"
            # The event's fields, filled in as the money is taken back.
            fields: dict = dict(
                payment_id=row.id,
                student_id=row.student_id,
                kind=reversal.kind,
                provider_reversal_id=reversal.id,
                amount_cents=reversal.amount_cents,
                purpose=row.purpose,
            )
            if row.wallet_id:
                split = self._take_back_from_wallet(s, row, reversal.amount_cents, title, at, fields)
            else:
                split = self._take_back_from_invoice(s, row, reversal.amount_cents, title, at, fields)
            rest_invoice_id = None
            if split.invoiced_cents:
                rest_invoice_id = self._invoice_the_rest(
                    s, row, reversal, split.invoiced_cents, title, at, fields
                )
            db.insert_reversal(
                s,
                school_id=row.school_id,
                payment_id=row.id,
                provider_id=reversal.id,
                kind=reversal.kind,
                provider_status=reversal.status[:20],
                amount_cents=reversal.amount_cents,
                wallet_cents=split.wallet_cents,
                invoice_cents=split.invoice_cents,
                unallocated_cents=split.unallocated_cents,
                invoiced_cents=split.invoiced_cents,
                rest_invoice_id=rest_invoice_id,
                created_at=at,
            )
            db.update_payment(s, row.id, updated_at=at)
            events.record(self.rt, s, row.school_id, events.payment_reversed(**fields))
        log.info(
            "online payment reversal booked",
            extra={
                **extra,
                "amount_cents": reversal.amount_cents,
                "wallet_cents": split.wallet_cents,
                "invoice_cents": split.invoice_cents,
                "unallocated_cents": split.unallocated_cents,
                "invoiced_cents": split.invoiced_cents,
            },
        )
        return True

    def _take_back_from_wallet(
        self, s: Session, row, amount: int, title: str, at: datetime, fields: dict
    ) -> ReversalSplit:
        """A top-up: debit its wallet, at most what the wallet still holds (never below zero)."""
        school = row.school_id
        wallet = db.lock_wallet(s, school, row.wallet_id)
        split = split_top_up_reversal(amount, wallet.balance_cents)
        if split.wallet_cents:
            db.book(
                s,
                school,
                ledger.refund(wallet.id, school, split.wallet_cents, method="online"),
                at=at,
                label=title,
                student_id=wallet.student_id,
            )
        fields.update(
            wallet_id=wallet.id,
            wallet_name=wallet.name,
            wallet_debited_cents=split.wallet_cents,
            balance_after_cents=wallet.balance_cents - split.wallet_cents,
        )
        return split

    def _take_back_from_invoice(
        self, s: Session, row, amount: int, title: str, at: datetime, fields: dict
    ) -> ReversalSplit:
        """An invoice payment: first the payment's excess still unassigned (what a school refunds
        after a double payment), then the invoice's paid amount, which it had received from this
        payment (the invoice is owed again). Locks: unmatched transfers, then the invoice (the order
        assign_unmatched takes them in)."""
        school = row.school_id
        excess = db.lock_open_excess(s, row.id)
        inv = db.lock_invoice(s, school, row.invoice_id)
        receivable = ledger.invoice_receivable_account(inv.id)
        paid_by_payment = db.posted_on(s, row.transaction_id, receivable) if row.transaction_id else 0
        reopenable = reopenable_cents(
            paid_by_payment, db.reversed_cents(s, row.id, "invoice_cents"), inv.paid_cents, inv.status
        )
        split = split_invoice_reversal(amount, [t.amount_cents for t in excess], reopenable)
        for t, take in zip(excess, split.unallocated_takes, strict=False):
            db.book(
                s,
                school,
                ledger.reverse_unallocated(school, take, "online"),
                at=at,
                label=f"{title} – non attribué"[:300],
                student_id=row.student_id,
            )
            # What stays open is what is still on the unallocated account for the manager to assign.
            if take == t.amount_cents:
                db.update_unmatched(s, t.id, status="refunded")
            else:
                db.update_unmatched(s, t.id, amount_cents=t.amount_cents - take)
        if split.invoice_cents:
            db.book(
                s,
                school,
                ledger.reverse_invoice_payment(inv.id, school, split.invoice_cents, "online"),
                at=at,
                label=f"{title} – facture {inv.number}"[:300],
                student_id=inv.student_id,
            )
            paid = inv.paid_cents - split.invoice_cents
            db.set_invoice_paid(s, inv.id, paid, invoice_status(inv.total_cents, paid, False))
        fields.update(
            unallocated_cents=split.unallocated_cents,
            invoice_id=inv.id,
            invoice_number=inv.number,
            invoice_reopened_cents=split.invoice_cents,
        )
        return split

    def _invoice_the_rest(
        self, s: Session, row, reversal: ProviderReversal, rest: int, title: str, at: datetime, fields: dict
    ) -> str:
        """What went back to the payer but was already used (spent from the wallet, paid on an invoice
        since cancelled, assigned by the manager): invoiced to the student, so the debt is visible and
        nothing is lost; the money that left is taken off the revenue the invoice books again. The
        invoice's id."""
        school = row.school_id
        used = "portefeuille" if row.wallet_id else "paiement"
        invoice = issue_invoice(
            self.rt,
            s,
            Identity(account_id="", role="system", school_id=school),
            row.student_id,
            title,
            "",
            [
                pb.InvoiceLineInput(
                    label=f"{title} (réf. {reversal.id}) : montant déjà utilisé du {used}"[:300],
                    quantity=1,
                    unit_price_cents=rest,
                )
            ],
            0,
            "reversal",
        )
        db.book(
            s,
            school,
            ledger.reverse_uncovered(school, rest, "online"),
            at=at,
            label=f"{title} – facture {invoice.number}"[:300],
            student_id=row.student_id,
        )
        fields.update(rest_invoice_id=invoice.id, rest_invoice_number=invoice.number, rest_invoice_cents=rest)
        return invoice.id
