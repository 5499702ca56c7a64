"""What the provider says about our online payments: its webhook (which carries only the payment's
id, so the status is always fetched from the provider), and the sync of payments whose webhook was
lost.

Under a row lock on our payment, the transition ``open -> paid`` books the money exactly once: a
top-up credits its wallet; an invoice payment ``settle``s the invoice (``common.credit_invoice``)
and what the invoice cannot take (paid meanwhile, or cancelled) is received on the school's
unallocated account and listed as an unmatched transfer for the manager to assign. Failed, canceled
and expired payments book nothing. A webhook repeated, late or out of order finds the row already
final and changes nothing. The redirect back to the site books nothing (it is not even seen here).
Refunds and chargebacks come by the same webhook and are booked by ``reversals.py``.

The webhook is public and carries only an id: an id that is not in our payments table is answered as
unknown without asking the provider anything, so nobody can make us spend the provider's rate limit
(or wait on it) with made-up ids. What a lost webhook or a lost provider id would have told us is
recovered by ``sync_open_payments`` (a cron job): it fetches the status of payments still open, and
asks the provider again, with the same Idempotency-Key, for the payment behind an open row that names
none (a crash between creating the provider payment and writing its id; its checkout URL never
reached anyone, so it cannot have been paid before the sync names it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Unavailable
from kit.service import Runtime
from services.finance import db, events
from services.finance.domain import ledger
from services.finance.domain.payments import OPEN, PAID, our_status
from services.finance.providers import PaymentProvider, ProviderPayment, ProviderReversal
from services.finance.use_cases import common
from services.finance.use_cases.online_payments import OnlinePayments
from services.finance.use_cases.reversals import Reversals

log = logging.getLogger("finance.payments")


class PaymentWebhooks:
    def __init__(
        self, rt: Runtime, provider: PaymentProvider, reversals: Reversals, checkouts: OnlinePayments
    ) -> None:
        self.rt = rt
        self.provider = provider
        self.reversals = reversals
        self.checkouts = checkouts

    def handle_webhook(self, provider_payment_id: str) -> pb.HandlePaymentWebhookResponse:
        """The provider says a payment changed (the webhook carries only its id): fetch its status from
        the provider and apply it. Ids not in our payments table answer known=false (and are logged)
        without any call to the provider. The provider not answering raises Unavailable, so the webhook
        is answered 503 and retried."""
        pid = (provider_payment_id or "").strip()
        if not pid.startswith("tr_") or len(pid) > 100 or not pid[3:].isalnum():
            log.warning("webhook with a malformed payment id", extra={"provider_id": pid[:100]})
            return pb.HandlePaymentWebhookResponse(known=False)
        with self.rt.db.unit_of_work() as s:
            payment_id = db.payment_id_of_provider(s, pid)
        if payment_id is None:
            # Not ours: no call to the provider (the id alone proves nothing, and costs us a request).
            log.warning("webhook for an unknown payment", extra={"provider_id": pid})
            return pb.HandlePaymentWebhookResponse(known=False)
        try:
            fetched = self.provider.get_payment(pid)
        except LookupError:
            log.warning("webhook for a payment the provider does not know", extra={"provider_id": pid})
            return pb.HandlePaymentWebhookResponse(known=True)
        result = self.apply_provider_status(payment_id, fetched)
        if result.status == PAID and (fetched.amount_refunded_cents or fetched.amount_charged_back_cents):
            # Outside any transaction, like every call to the provider.
            reversals: list[ProviderReversal] = []
            try:
                if fetched.amount_refunded_cents:
                    reversals += self.provider.list_refunds(pid)
                if fetched.amount_charged_back_cents:
                    reversals += self.provider.list_chargebacks(pid)
            except LookupError:
                log.warning("the provider does not list the payment's refunds", extra={"provider_id": pid})
                return result
            result.reversals_booked = self.reversals.apply_reversals(payment_id, reversals)
        return result

    def apply_provider_status(
        self, payment_id: str, fetched: ProviderPayment
    ) -> pb.HandlePaymentWebhookResponse:
        """Apply the provider's fetched status to our payment, under its row lock: open -> paid books
        the money once; open -> failed/canceled/expired books nothing; anything else changes nothing."""
        target = our_status(fetched.status)
        at = common.now(self.rt)
        with self.rt.db.unit_of_work() as s:
            row = db.payment_row(s, payment_id, lock=True)
            if row.status != OPEN:
                if fetched.status != row.status:
                    log.info(
                        "late or repeated webhook ignored",
                        extra={"payment_id": row.id, "ours": row.status, "provider": fetched.status},
                    )
                return pb.HandlePaymentWebhookResponse(known=True, status=row.status)
            if target is None:
                db.update_payment(s, row.id, provider_status=fetched.status[:20], updated_at=at)
                return pb.HandlePaymentWebhookResponse(known=True, status=OPEN)
            if target != PAID:
                db.update_payment(s, row.id, status=target, provider_status=fetched.status, updated_at=at)
                log.info("online payment ended unpaid", extra={"payment_id": row.id, "status": target})
                return pb.HandlePaymentWebhookResponse(known=True, status=target)
            if fetched.amount_cents != row.amount_cents:
                log.error(
                    "provider says paid with another amount: nothing booked",
                    extra={"payment_id": row.id, "ours": row.amount_cents, "provider": fetched.amount_cents},
                )
                return pb.HandlePaymentWebhookResponse(known=True, status=OPEN)
            tx_id = self._book(s, row, at)
            db.update_payment(
                s, row.id, status=PAID, provider_status=PAID, transaction_id=tx_id, paid_at=at, updated_at=at
            )
            log.info("online payment booked", extra={"payment_id": row.id, "amount_cents": row.amount_cents})
            return pb.HandlePaymentWebhookResponse(known=True, status=PAID, booked=True)

    def _book(self, s: Session, row, at: datetime) -> str:
        """Book a paid online payment: a top-up credits its wallet; an invoice payment settles the
        invoice and what is left over waits for the manager. The transaction id to keep on the row."""
        school = row.school_id
        if row.wallet_id:
            wallet = db.lock_wallet(s, school, row.wallet_id)
            tx_id = db.book(
                s,
                school,
                ledger.top_up(wallet.id, school, row.amount_cents, "online"),
                at=at,
                label="Rechargement en ligne (Bancontact)",
                student_id=wallet.student_id,
            )
            events.record(
                self.rt,
                s,
                school,
                events.payment_received(
                    row.id,
                    wallet.student_id,
                    row.amount_cents,
                    "online",
                    "top_up",
                    wallet_id=wallet.id,
                    balance_after=wallet.balance_cents + row.amount_cents,
                    wallet_name=db.wallet_type_name(s, wallet.wallet_type_id),
                ),
            )
            return tx_id
        credited = common.credit_invoice(
            self.rt,
            s,
            school,
            row.invoice_id,
            row.amount_cents,
            "online",
            at,
            payment_id=row.id,
            counter_account=ledger.clearing_account(school, "online"),
        )
        tx_id = credited.transaction_id
        left = credited.settlement
        if left.left_over_cents:
            _transfer, rest_tx = db.record_unmatched(
                s,
                school,
                source="online",
                method="online",
                amount=left.left_over_cents,
                now=at,
                reason=left.reason,
                communication=credited.communication,
                counterparty_name="",
                counterparty_iban="",
                booked_on=at.date(),
                online_payment_id=row.id,
            )
            tx_id = tx_id or rest_tx
        return tx_id

    def sync_open_payments(self, older_than_seconds: int = 120, limit: int = 500) -> int:
        """Fetch the status of online payments still open after a while (a webhook lost on the way)
        and apply it, exactly as the webhook does; first, name the provider payment of open rows that
        name none (``OnlinePayments.ensure_checkout``: the same Idempotency-Key answers the payment made
        before the crash). Returns how many open payments' statuses were fetched."""
        cutoff = common.now(self.rt) - timedelta(seconds=older_than_seconds)
        with self.rt.db.unit_of_work() as s:
            unnamed = db.unnamed_open_payments(s, cutoff, limit)
        for payment_id in unnamed:
            try:
                self.checkouts.ensure_checkout(payment_id)
            except Unavailable:
                log.warning("provider unavailable while naming a payment", extra={"payment_id": payment_id})
                break
            log.info("provider payment named by the sync", extra={"payment_id": payment_id})
        with self.rt.db.unit_of_work() as s:
            ids = db.open_online_payments(s, cutoff, limit)
        for pid in ids:
            try:
                self.handle_webhook(pid)
            except Unavailable:
                log.warning("provider unavailable while syncing", extra={"provider_id": pid})
                break
        return len(ids)
