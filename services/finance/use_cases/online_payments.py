"""Starting online payments (Bancontact through the provider, Mollie's payments API): a top-up, an
invoice's open amount, an order's invoice with its checkout; and reading a payment.

1. ``start_*``: one unit of work checks the rules (the method is on in the school's settings, the
   invoice is still due) and writes our ``payments`` row, ``open``, under the caller's Idempotency-Key.
2. Outside any transaction (an HTTP call must never hold a row lock): the provider payment is created
   with ``Idempotency-Key`` = our payment id, ``webhookUrl`` = ``{PUBLIC_BASE_URL}/webhooks/mollie``
   and ``redirectUrl`` = ``{PUBLIC_BASE_URL}/paiements/{id}/retour``; its id and checkout URL are
   written to the row. A replay of the same key (or a crash in between) creates it again with the same
   provider key, hence gets the same ``tr_`` payment back.
3. Nothing is booked here: what the provider then says is applied by ``webhooks.py``.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from kit.identity import Identity
from kit.service import Runtime
from services.finance import db, views
from services.finance.domain.invoices import PARTIALLY_PAID, UNPAID, open_amount
from services.finance.domain.payments import (
    MAX_ONLINE_CENTS,
    MIN_ONLINE_CENTS,
    invoice_purpose,
    online_enabled,
)
from services.finance.providers import PaymentProvider
from services.finance.use_cases import common
from services.finance.use_cases.invoices import Invoices

log = logging.getLogger("finance.payments")


def payment_message(s: Session, row) -> pb.Payment:
    """A payment as the API shows it: with its wallet's name and balance, what refunds and
    chargebacks took back of a paid online payment, its invoice's number."""
    paid_online = row.method == "online" and row.status == "paid"
    return views.payment(
        row,
        wallet=db.wallet_balance_and_name(s, row.wallet_id) if row.wallet_id else None,
        reversed_cents=db.reversed_by_kind(s, row.id) if paid_online else None,
        invoice_number=(db.invoice_number(s, row.invoice_id) or "") if row.invoice_id else "",
    )


def _online_enabled(settings, *, order: bool = False) -> bool:
    if settings is None:
        return False
    methods = [m for m in settings.top_up_methods.split(",") if m]
    return online_enabled(methods, settings.online_payment_for_orders, order=order)


class OnlinePayments:
    def __init__(self, rt: Runtime, provider: PaymentProvider, invoices: Invoices) -> None:
        self.rt = rt
        self.provider = provider
        self.invoices = invoices
        self.base_url = rt.settings.public_base_url.rstrip("/")

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/mollie"

    def redirect_url(self, payment_id: str) -> str:
        return f"{self.base_url}/paiements/{payment_id}/retour"

    def start_top_up(self, who: Identity, req: pb.StartTopUpRequest) -> pb.StartPaymentResponse:
        """Parents ("Recharger" > "En ligne"): an online top-up of one of their child's wallets. Nothing
        is booked here; the answer carries the provider's checkout URL. 409 method_disabled when the
        school has not enabled online top-ups, 409 student_left when the child left the school (their
        open invoices stay payable). Once per Idempotency-Key."""
        method = req.method or "online"
        if method != "online":
            raise InvalidRequest(
                "only online top-ups are started here; a transfer needs the transfer details",
                fields={"method": "online"},
            )
        if not MIN_ONLINE_CENTS <= req.amount_cents <= MAX_ONLINE_CENTS:
            raise InvalidRequest(
                "the amount is out of range",
                fields={"amount_cents": f"{MIN_ONLINE_CENTS} to {MAX_ONLINE_CENTS}"},
            )

        def work(s: Session) -> pb.StartPaymentResponse:
            wallet = common.wallet_of(who, db.find_wallet(s, who.school_id, req.wallet_id), req.student_id)
            common.refuse_left(s, who, wallet.student_id)
            if not _online_enabled(db.settings_row(s, who.school_id)):
                raise Conflict("the school has not enabled online top-ups", code="method_disabled")
            row = db.insert_online_payment(
                s,
                who.school_id,
                wallet.student_id,
                "top_up",
                req.amount_cents,
                common.now(self.rt),
                created_by=who.account_id,
                wallet_id=wallet.id,
            )
            return pb.StartPaymentResponse(payment=payment_message(s, row))

        return self._start(f"otu:{who.school_id}:{who.account_id}", req, work)

    def start_invoice_payment(
        self, who: Identity, req: pb.StartInvoicePaymentRequest
    ) -> pb.StartPaymentResponse:
        """Parents ("Payer" > "En ligne"): pay an invoice's open amount online. 409 already_paid,
        invoice_cancelled, method_disabled. Nothing is booked until the provider says paid."""
        method = req.method or "online"
        if method != "online":
            raise InvalidRequest("method must be online", fields={"method": "online"})

        def work(s: Session) -> pb.StartPaymentResponse:
            inv = common.load_invoice(s, who, req.invoice_id)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            open_cents = common.require_payable(inv)
            if not _online_enabled(db.settings_row(s, who.school_id), order=inv.source == "order"):
                raise Conflict("the school has not enabled online payments", code="method_disabled")
            row = db.insert_online_payment(
                s,
                who.school_id,
                inv.student_id,
                invoice_purpose(inv.source),
                open_cents,
                common.now(self.rt),
                created_by=who.account_id,
                invoice_id=inv.id,
            )
            return pb.StartPaymentResponse(payment=payment_message(s, row))

        return self._start(f"oinv:{who.school_id}:{who.account_id}", req, work)

    def create_order_invoice(
        self, who: Identity, req: pb.CreateOrderInvoiceRequest
    ) -> pb.CreateOrderInvoiceResponse:
        """The orders service: the order's invoice (``Invoices.create_order_invoice``) and, when the
        school takes orders online, the checkout to pay it now (one online payment per order, however
        often orders retries). The provider being down does not fail the order: the parent then pays
        from the balances page."""
        resp = self.invoices.create_order_invoice(who, req)
        inv = resp.invoice
        if (
            inv.status not in (UNPAID, PARTIALLY_PAID)
            or open_amount(inv.total_cents, inv.paid_cents, inv.status) <= 0
        ):
            return resp
        with self.rt.db.unit_of_work() as s:
            settings = db.settings_row(s, who.school_id)
            if settings is None or not settings.online_payment_for_orders:
                return resp
            # The invoice row lock makes two concurrent retries agree on one payment.
            locked = db.lock_invoice(s, who.school_id, inv.id)
            existing = db.first_online_order_payment(s, inv.id)
            if existing is None:
                if locked.status not in (UNPAID, PARTIALLY_PAID):
                    return resp
                existing = db.insert_online_payment(
                    s,
                    who.school_id,
                    inv.student_id,
                    "order",
                    open_amount(locked.total_cents, locked.paid_cents, locked.status),
                    common.now(self.rt),
                    created_by=who.account_id,
                    invoice_id=inv.id,
                )
            payment_id = existing.id
        try:
            checkout = self.ensure_checkout(payment_id)
        except Unavailable:
            log.warning(
                "provider unavailable: the order is invoiced without a checkout",
                extra={"payment_id": payment_id},
            )
            checkout = ""
        out = pb.CreateOrderInvoiceResponse()
        out.CopyFrom(resp)
        out.checkout_url = checkout
        out.payment_id = payment_id
        return out

    def get_payment(self, who: Identity, payment_id: str) -> pb.GetPaymentResponse:
        """One payment: the caller's family's (parents) or the school's (staff); NOT_FOUND otherwise."""
        with self.rt.db.unit_of_work() as s:
            row = db.find_payment(s, who.school_id, payment_id[:36])
            if row is None:
                raise NotFound("no such payment")
            who.require_owner(row.student_id)
            return pb.GetPaymentResponse(payment=payment_message(s, row))

    # -- the provider payment behind ours ---------------------------------------------------------

    def _start(
        self, scope: str, req: pb.StartTopUpRequest | pb.StartInvoicePaymentRequest, work
    ) -> pb.StartPaymentResponse:
        """Our payment row, once per key (``work``), then outside the transaction its checkout."""
        started = common.idempotent(self.rt, scope, req.idempotency_key, req, pb.StartPaymentResponse, work)
        checkout = self.ensure_checkout(started.payment.id)
        out = pb.StartPaymentResponse()
        out.CopyFrom(started)
        out.checkout_url = checkout
        with self.rt.db.unit_of_work() as s:
            out.payment.CopyFrom(payment_message(s, db.payment_row(s, started.payment.id)))
        return out

    @staticmethod
    def _description(s: Session, row) -> str:
        if row.invoice_id:
            inv = db.invoice_number_and_title(s, row.invoice_id)
            return f"Facture {inv.number} – {inv.title}"
        name = db.wallet_owner_names(s, row.wallet_id)
        who = " ".join(p for p in (name.first_name, name.last_name) if p)
        return f"Rechargement {name.name}" + (f" – {who}" if who else "")

    def ensure_checkout(self, payment_id: str) -> str:
        """The provider payment behind ours (created once, with our id as its Idempotency-Key) and its
        checkout URL; "" when our payment is not open any more. Also how ``webhooks.sync_open_payments``
        finds the provider payment of a row that names none (we stopped before writing its id): asked
        again with the same key, the provider answers the payment it made then."""
        with self.rt.db.unit_of_work() as s:
            row = db.payment_row(s, payment_id)
            if row.status != "open":
                return ""
            if row.provider_id:
                return row.checkout_url or ""
            description = self._description(s, row)
        try:
            made = self.provider.create_payment(
                amount_cents=row.amount_cents,
                description=description,
                redirect_url=self.redirect_url(row.id),
                webhook_url=self.webhook_url,
                metadata={"payment_id": row.id, "school_id": row.school_id, "purpose": row.purpose},
                idempotency_key=row.id,
            )
        except InvalidRequest as err:
            # The provider refused what we sent: not the parent's doing, and retrying will not help.
            log.error("provider refused the payment", extra={"payment_id": row.id, "error": err.message})
            with self.rt.db.unit_of_work() as s:
                db.fail_open_payment(s, row.id, "refused", common.now(self.rt))
            raise Unavailable("the payment provider refused the payment; try again later") from None
        with self.rt.db.unit_of_work() as s:
            db.attach_provider_payment(
                s, row.id, made.id, made.checkout_url[:500], made.status, common.now(self.rt)
            )
        log.info("provider payment created", extra={"payment_id": row.id, "provider_id": made.id})
        return made.checkout_url
