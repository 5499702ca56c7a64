"""Use cases of money coming in from outside: online payments through the provider (Bancontact via
Mollie's payments API), the transfer details of a wallet or an invoice with their EPC QR code, and the
money that arrived without naming anything (unmatched transfers) being assigned by the manager.
Bank statement imports are in ``bank.py``; both share the booking helpers here.

Online payments, in three steps:

1. ``start_*``: one unit of work checks the rules (the method is on in the school's settings, the
   invoice is still due) and writes our ``payments`` row, ``open``, under the caller's Idempotency-Key.
2. Outside any transaction (an HTTP call must never hold a row lock): the provider payment is created
   with ``Idempotency-Key`` = our payment id, ``webhookUrl`` = ``{PUBLIC_BASE_URL}/webhooks/mollie``
   and ``redirectUrl`` = ``{PUBLIC_BASE_URL}/paiements/{id}/retour``; its id and checkout URL are
   written to the row. A replay of the same key (or a crash in between) creates it again with the same
   provider key, hence gets the same ``tr_`` payment back.
3. ``handle_webhook``: the webhook carries only the provider id, so the status is always fetched from
   the provider; then, under a row lock on our payment, the transition ``open -> paid`` books the
   ledger transaction exactly once. Failed, canceled and expired payments book nothing. A webhook
   repeated, late or out of order finds the row already final and changes nothing. The redirect back
   to the site books nothing (it is not even seen here).
4. Refunds and chargebacks come by the same webhook: the payment stays ``paid`` and its
   ``amountRefunded`` / ``amountChargedBack`` say there are some; each refund (not failed or
   canceled) and chargeback (not reversed) listed by the provider is booked once, in its own unit of
   work under the payment's row lock, keyed by its provider id (``payment_reversals``). See
   :meth:`PaymentsService.apply_reversals` for where the money is taken back from.

Policy for money that cannot go where it was meant to (documented in the report and the staff page):
an online or transfer payment for an invoice books the invoice's open amount; what is beyond it (the
invoice was paid meanwhile, or cancelled) is received on the school's unallocated account and listed
as an unmatched transfer for the manager to assign.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cartable.finance.v1 import events_pb2 as ev
from cartable.finance.v1 import finance_pb2 as pb
from kit.epc import epc_payload, epc_qr_svg
from kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from kit.identity import Identity
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db
from services.finance.db import (
    invoices,
    ledger_postings,
    payment_reversals,
    payments,
    structured_communications,
    students,
    unmatched_transfers,
    wallet_types,
    wallets,
)
from services.finance.domain import ledger
from services.finance.providers.mollie import MollieClient, ProviderPayment, ProviderReversal
from services.finance.service import BRUSSELS, FinanceService, invoice_status, rfc3339, utc

log = logging.getLogger("finance.payments")

PAYMENT_STATUSES = ("open", "paid", "failed", "canceled", "expired")
FINAL = frozenset({"paid", "failed", "canceled", "expired"})
# An online top-up: at least 1 €, at most 5 000 € (a school wallet, not a bank account).
MIN_ONLINE_CENTS = 100
MAX_ONLINE_CENTS = 500_000
DEFAULT_QR_TITLE = "Code QR du virement (EPC / SEPA)"
UNMATCHED_REASONS = (
    "no_communication",
    "unknown_communication",
    "expired_communication",
    "invoice_settled",
    "invoice_cancelled",
    "overpayment",
    "reversal",
)


class PaymentProvider(Protocol):
    """What the use cases need of the provider (``providers.mollie.MollieClient``, or a fake)."""

    def create_payment(
        self,
        *,
        amount_cents: int,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict,
        idempotency_key: str,
    ) -> ProviderPayment: ...

    def get_payment(self, payment_id: str) -> ProviderPayment: ...

    def list_refunds(self, payment_id: str) -> list[ProviderReversal]: ...

    def list_chargebacks(self, payment_id: str) -> list[ProviderReversal]: ...


def our_status(provider_status: str) -> str | None:
    """The provider's status as ours: None while the payment may still succeed (open, pending,
    authorized)."""
    return provider_status if provider_status in FINAL else None


def payment_received(
    payment_id: str,
    student_id: str,
    amount_cents: int,
    method: str,
    purpose: str,
    *,
    wallet_id: str = "",
    invoice_id: str = "",
    balance_after: int | None = None,
    wallet_name: str = "",
    invoice_number: str = "",
) -> ev.PaymentReceived:
    msg = ev.PaymentReceived(
        payment_id=payment_id,
        student_id=student_id,
        amount_cents=amount_cents,
        method=method,
        purpose=purpose,
        wallet_id=wallet_id,
        invoice_id=invoice_id,
        wallet_name=wallet_name,
        invoice_number=invoice_number,
    )
    if balance_after is not None:
        msg.balance_after_cents = balance_after
    return msg


class PaymentsService:
    """Online payments, transfer details and assignments of unmatched money. (Idempotency scopes are
    short: the key table's scope column holds 80 characters, two UUIDs take 73.)"""

    def __init__(self, rt: Runtime, provider: PaymentProvider | None = None) -> None:
        self.rt = rt
        self.core = FinanceService(rt)
        self.provider: PaymentProvider = provider or MollieClient(
            rt.settings.mollie_api_url, rt.settings.mollie_api_key
        )
        self.base_url = rt.settings.public_base_url.rstrip("/")

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/mollie"

    def redirect_url(self, payment_id: str) -> str:
        return f"{self.base_url}/paiements/{payment_id}/retour"

    def _now(self) -> datetime:
        return self.core._now()

    # -- shapes ---------------------------------------------------------------------------------

    def _payment_pb(self, s: Session, row) -> pb.Payment:
        out = pb.Payment(
            id=row.id,
            status=row.status,
            amount_cents=row.amount_cents,
            purpose=row.purpose,
            method=row.method,
            student_id=row.student_id,
            wallet_id=row.wallet_id or "",
            invoice_id=row.invoice_id or "",
            created_at=rfc3339(row.created_at),
            paid_at=rfc3339(row.paid_at) if row.paid_at else "",
            checkout_url=(row.checkout_url or "") if row.status == "open" else "",
        )
        if row.wallet_id:
            w = s.execute(
                select(wallets.c.balance_cents, wallet_types.c.name)
                .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
                .where(wallets.c.id == row.wallet_id)
            ).first()
            if w is not None:
                out.wallet_name, out.wallet_balance_cents = w.name, w.balance_cents
        if row.method == "online" and row.status == "paid":
            pr = payment_reversals
            for kind, cents in s.execute(
                select(pr.c.kind, func.sum(pr.c.amount_cents))
                .where(pr.c.payment_id == row.id)
                .group_by(pr.c.kind)
            ):
                if kind == "refund":
                    out.refunded_cents = int(cents)
                elif kind == "chargeback":
                    out.charged_back_cents = int(cents)
        if row.invoice_id:
            out.invoice_number = (
                s.execute(
                    select(invoices.c.number).where(invoices.c.id == row.invoice_id)
                ).scalar_one_or_none()
                or ""
            )
        return out

    @staticmethod
    def _online_enabled(settings, *, order: bool = False) -> bool:
        if settings is None:
            return False
        methods = [m for m in settings.top_up_methods.split(",") if m]
        return "online" in methods or (order and settings.online_payment_for_orders)

    def _insert_payment(
        self,
        s: Session,
        who: Identity,
        *,
        student_id: str,
        purpose: str,
        amount: int,
        wallet_id: str | None = None,
        invoice_id: str | None = None,
    ):
        now = self._now()
        payment_id = str(uuid.uuid4())
        s.execute(
            payments.insert().values(
                id=payment_id,
                school_id=who.school_id,
                student_id=student_id,
                purpose=purpose,
                method="online",
                status="open",
                amount_cents=amount,
                wallet_id=wallet_id,
                invoice_id=invoice_id,
                created_at=now,
                created_by=who.account_id,
                updated_at=now,
            )
        )
        return s.execute(select(payments).where(payments.c.id == payment_id)).one()

    # -- starting online payments ---------------------------------------------------------------

    def start_top_up(self, who: Identity, req: pb.StartTopUpRequest) -> pb.StartPaymentResponse:
        """Parents ("Recharger" > "En ligne"): an online top-up of one of their child's wallets. Nothing
        is booked here; the answer carries the provider's checkout URL. 409 method_disabled when the
        school has not enabled online top-ups. Once per Idempotency-Key."""
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
            wallet = s.execute(
                select(wallets).where(wallets.c.id == req.wallet_id, wallets.c.school_id == who.school_id)
            ).first()
            if wallet is None:
                raise NotFound("no such wallet")
            who.require_owner(wallet.student_id)
            if req.student_id and wallet.student_id != req.student_id:
                raise NotFound("no such wallet")
            if not self._online_enabled(self.core._settings_row(s, who.school_id)):
                raise Conflict("the school has not enabled online top-ups", code="method_disabled")
            row = self._insert_payment(
                s,
                who,
                student_id=wallet.student_id,
                purpose="top_up",
                amount=req.amount_cents,
                wallet_id=wallet.id,
            )
            return pb.StartPaymentResponse(payment=self._payment_pb(s, row))

        started = self.core._idempotent(
            f"otu:{who.school_id}:{who.account_id}", req.idempotency_key, req, pb.StartPaymentResponse, work
        )
        return self._with_checkout(started)

    def start_invoice_payment(
        self, who: Identity, req: pb.StartInvoicePaymentRequest
    ) -> pb.StartPaymentResponse:
        """Parents ("Payer" > "En ligne"): pay an invoice's open amount online. 409 already_paid,
        invoice_cancelled, method_disabled. Nothing is booked until the provider says paid."""
        method = req.method or "online"
        if method != "online":
            raise InvalidRequest("method must be online", fields={"method": "online"})

        def work(s: Session) -> pb.StartPaymentResponse:
            inv = self.core._load_invoice(s, who, req.invoice_id)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            if inv.status == "cancelled":
                raise Conflict("this invoice was cancelled by a credit note", code="invoice_cancelled")
            if inv.status == "paid" or inv.total_cents - inv.paid_cents <= 0:
                raise Conflict("this invoice is already paid", code="already_paid")
            order = inv.source == "order"
            if not self._online_enabled(self.core._settings_row(s, who.school_id), order=order):
                raise Conflict("the school has not enabled online payments", code="method_disabled")
            row = self._insert_payment(
                s,
                who,
                student_id=inv.student_id,
                purpose="order" if order else "invoice",
                amount=inv.total_cents - inv.paid_cents,
                invoice_id=inv.id,
            )
            return pb.StartPaymentResponse(payment=self._payment_pb(s, row))

        started = self.core._idempotent(
            f"oinv:{who.school_id}:{who.account_id}",
            req.idempotency_key,
            req,
            pb.StartPaymentResponse,
            work,
        )
        return self._with_checkout(started)

    def create_order_invoice(
        self, who: Identity, req: pb.CreateOrderInvoiceRequest
    ) -> pb.CreateOrderInvoiceResponse:
        """The orders service: the order's invoice (FinanceService.create_order_invoice) and, when the
        school takes orders online, the checkout to pay it now (one online payment per order, however
        often orders retries). The provider being down does not fail the order: the parent then pays
        from the balances page."""
        resp = self.core.create_order_invoice(who, req)
        inv = resp.invoice
        if inv.status not in ("unpaid", "partially_paid") or inv.total_cents - inv.paid_cents <= 0:
            return resp
        with self.rt.db.unit_of_work() as s:
            settings = self.core._settings_row(s, who.school_id)
            if settings is None or not settings.online_payment_for_orders:
                return resp
            # The invoice row lock makes two concurrent retries agree on one payment.
            locked = s.execute(
                select(invoices.c.id, invoices.c.status, invoices.c.total_cents, invoices.c.paid_cents)
                .where(invoices.c.id == inv.id)
                .with_for_update()
            ).one()
            existing = s.execute(
                select(payments)
                .where(
                    payments.c.invoice_id == inv.id,
                    payments.c.purpose == "order",
                    payments.c.method == "online",
                )
                .order_by(payments.c.created_at)
                .limit(1)
            ).first()
            if existing is None:
                if locked.status not in ("unpaid", "partially_paid"):
                    return resp
                existing = self._insert_payment(
                    s,
                    who,
                    student_id=inv.student_id,
                    purpose="order",
                    amount=locked.total_cents - locked.paid_cents,
                    invoice_id=inv.id,
                )
            payment_id = existing.id
        try:
            checkout = self._ensure_checkout(payment_id)
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

    def _with_checkout(self, started: pb.StartPaymentResponse) -> pb.StartPaymentResponse:
        checkout = self._ensure_checkout(started.payment.id)
        out = pb.StartPaymentResponse()
        out.CopyFrom(started)
        out.checkout_url = checkout
        with self.rt.db.unit_of_work() as s:
            row = s.execute(select(payments).where(payments.c.id == started.payment.id)).one()
            out.payment.CopyFrom(self._payment_pb(s, row))
        return out

    def _description(self, s: Session, row) -> str:
        if row.invoice_id:
            inv = s.execute(
                select(invoices.c.number, invoices.c.title).where(invoices.c.id == row.invoice_id)
            ).one()
            return f"Facture {inv.number} – {inv.title}"
        name = s.execute(
            select(wallet_types.c.name, students.c.first_name, students.c.last_name)
            .select_from(wallets)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .join(students, students.c.id == wallets.c.student_id)
            .where(wallets.c.id == row.wallet_id)
        ).one()
        who = " ".join(p for p in (name.first_name, name.last_name) if p)
        return f"Rechargement {name.name}" + (f" – {who}" if who else "")

    def _ensure_checkout(self, payment_id: str) -> str:
        """The provider payment behind ours (created once, with our id as its Idempotency-Key) and its
        checkout URL; "" when our payment is not open any more."""
        with self.rt.db.unit_of_work() as s:
            row = s.execute(select(payments).where(payments.c.id == payment_id)).one()
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
                s.execute(
                    update(payments)
                    .where(payments.c.id == row.id, payments.c.status == "open")
                    .values(status="failed", provider_status="refused", updated_at=self._now())
                )
            raise Unavailable("the payment provider refused the payment; try again later") from None
        with self.rt.db.unit_of_work() as s:
            s.execute(
                update(payments)
                .where(payments.c.id == row.id, payments.c.provider_id.is_(None))
                .values(
                    provider_id=made.id,
                    checkout_url=made.checkout_url[:500],
                    provider_status=made.status,
                    updated_at=self._now(),
                )
            )
        log.info("provider payment created", extra={"payment_id": row.id, "provider_id": made.id})
        return made.checkout_url

    # -- the webhook ----------------------------------------------------------------------------

    def handle_webhook(self, provider_payment_id: str) -> pb.HandlePaymentWebhookResponse:
        """The provider says a payment changed (the webhook carries only its id): fetch its status from
        the provider and apply it. Unknown ids answer known=false (and are logged). The provider not
        answering raises Unavailable, so the webhook is answered 503 and retried."""
        pid = (provider_payment_id or "").strip()
        if not pid.startswith("tr_") or len(pid) > 100 or not pid[3:].isalnum():
            log.warning("webhook with a malformed payment id", extra={"provider_id": pid[:100]})
            return pb.HandlePaymentWebhookResponse(known=False)
        with self.rt.db.unit_of_work() as s:
            payment_id = s.execute(
                select(payments.c.id).where(payments.c.provider_id == pid)
            ).scalar_one_or_none()
        try:
            fetched = self.provider.get_payment(pid)
        except LookupError:
            log.warning("webhook for a payment the provider does not know", extra={"provider_id": pid})
            return pb.HandlePaymentWebhookResponse(known=payment_id is not None)
        if payment_id is None:
            # Our row may lack the provider id when we crashed between creating the provider payment and
            # writing its id: the provider's metadata names our payment.
            payment_id = self._adopt(pid, fetched)
            if payment_id is None:
                log.warning("webhook for an unknown payment", extra={"provider_id": pid})
                return pb.HandlePaymentWebhookResponse(known=False)
        result = self.apply_provider_status(payment_id, fetched)
        if result.status == "paid" and (fetched.amount_refunded_cents or fetched.amount_charged_back_cents):
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
            result.reversals_booked = self.apply_reversals(payment_id, reversals)
        return result

    def _adopt(self, pid: str, fetched: ProviderPayment) -> str | None:
        ours = str((fetched.metadata or {}).get("payment_id", ""))[:36]
        if not ours:
            return None
        with self.rt.db.unit_of_work() as s:
            done = s.execute(
                update(payments)
                .where(
                    payments.c.id == ours,
                    payments.c.provider_id.is_(None),
                    payments.c.method == "online",
                    payments.c.amount_cents == fetched.amount_cents,
                )
                .values(
                    provider_id=pid, checkout_url=fetched.checkout_url[:500] or None, updated_at=self._now()
                )
            ).rowcount
        if done:
            log.info(
                "provider payment adopted from its metadata", extra={"payment_id": ours, "provider_id": pid}
            )
            return ours
        return None

    def apply_provider_status(
        self, payment_id: str, fetched: ProviderPayment
    ) -> pb.HandlePaymentWebhookResponse:
        """Apply the provider's fetched status to our payment, under its row lock: open -> paid books
        the money once; open -> failed/canceled/expired books nothing; anything else changes nothing."""
        target = our_status(fetched.status)
        now = self._now()
        with self.rt.db.unit_of_work() as s:
            row = s.execute(select(payments).where(payments.c.id == payment_id).with_for_update()).one()
            if row.status != "open":
                if fetched.status != row.status:
                    log.info(
                        "late or repeated webhook ignored",
                        extra={"payment_id": row.id, "ours": row.status, "provider": fetched.status},
                    )
                return pb.HandlePaymentWebhookResponse(known=True, status=row.status)
            if target is None:
                s.execute(
                    update(payments)
                    .where(payments.c.id == row.id)
                    .values(provider_status=fetched.status[:20], updated_at=now)
                )
                return pb.HandlePaymentWebhookResponse(known=True, status="open")
            if target != "paid":
                s.execute(
                    update(payments)
                    .where(payments.c.id == row.id)
                    .values(status=target, provider_status=fetched.status, updated_at=now)
                )
                log.info("online payment ended unpaid", extra={"payment_id": row.id, "status": target})
                return pb.HandlePaymentWebhookResponse(known=True, status=target)
            if fetched.amount_cents != row.amount_cents:
                log.error(
                    "provider says paid with another amount: nothing booked",
                    extra={"payment_id": row.id, "ours": row.amount_cents, "provider": fetched.amount_cents},
                )
                return pb.HandlePaymentWebhookResponse(known=True, status="open")
            tx_id = self._book_online(s, row, now)
            s.execute(
                update(payments)
                .where(payments.c.id == row.id)
                .values(
                    status="paid", provider_status="paid", transaction_id=tx_id, paid_at=now, updated_at=now
                )
            )
            log.info("online payment booked", extra={"payment_id": row.id, "amount_cents": row.amount_cents})
            return pb.HandlePaymentWebhookResponse(known=True, status="paid", booked=True)

    def _book_online(self, s: Session, row, now: datetime) -> str:
        school = row.school_id
        if row.wallet_id:
            wallet = db.lock_wallet(s, school, row.wallet_id)
            tx_id = db.book(
                s,
                school,
                ledger.top_up(wallet.id, school, row.amount_cents, "online"),
                at=now,
                label="Rechargement en ligne (Bancontact)",
                student_id=wallet.student_id,
            )
            self.rt.record(
                s,
                "finance.payment.received.v1",
                payment_received(
                    row.id,
                    wallet.student_id,
                    row.amount_cents,
                    "online",
                    "top_up",
                    wallet_id=wallet.id,
                    balance_after=wallet.balance_cents + row.amount_cents,
                    wallet_name=self.core._wallet_name(s, wallet.wallet_type_id),
                ),
                school,
            )
            return tx_id
        applied = apply_to_invoice(
            self.rt,
            s,
            school,
            row.invoice_id,
            row.amount_cents,
            "online",
            now,
            payment_id=row.id,
            counter_account=ledger.clearing_account(school, "online"),
        )
        tx_id = applied.transaction_id
        if applied.rest_cents:
            _transfer, rest_tx = record_unmatched(
                s,
                school,
                source="online",
                method="online",
                amount=applied.rest_cents,
                now=now,
                reason=applied.rest_reason,
                communication=applied.communication,
                counterparty_name="",
                counterparty_iban="",
                booked_on=now.date(),
                online_payment_id=row.id,
            )
            tx_id = tx_id or rest_tx
        return tx_id

    # -- refunds and chargebacks ----------------------------------------------------------------

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
        pr = payment_reversals
        with self.rt.db.unit_of_work() as s:
            return (
                s.execute(
                    select(pr.c.id).where(
                        pr.c.payment_id == payment_id, pr.c.provider_id == provider_reversal_id
                    )
                ).first()
                is not None
            )

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
        pr = payment_reversals
        now = self._now()
        extra = {"payment_id": payment_id, "provider_reversal_id": reversal.id, "kind": reversal.kind}
        with self.rt.db.unit_of_work() as s:
            row = s.execute(select(payments).where(payments.c.id == payment_id).with_for_update()).one()
            seen = s.execute(
                select(pr.c.id).where(pr.c.payment_id == row.id, pr.c.provider_id == reversal.id)
            ).first()
            if seen is not None:
                return False
            if row.status != "paid" or row.method != "online":
                log.error("reversal of a payment that is not a paid online one: nothing booked", extra=extra)
                return False
            done = s.execute(
                select(func.coalesce(func.sum(pr.c.amount_cents), 0)).where(pr.c.payment_id == row.id)
            ).scalar_one()
            if done + reversal.amount_cents > row.amount_cents:
                log.error(
                    "reversals beyond the payment's amount: nothing booked",
                    extra={**extra, "payment_cents": row.amount_cents, "already_cents": int(done)},
                )
                return False
            split = _Split(reversal.amount_cents)
            word = "Remboursement" if reversal.kind == "refund" else "Rétrofacturation"
            paid_on = utc(row.paid_at or row.created_at).astimezone(BRUSSELS)
            title = f"{word} du paiement en ligne du {paid_on:%d/%m/%Y}"
            event = ev.PaymentReversed(
                payment_id=row.id,
                student_id=row.student_id,
                kind=reversal.kind,
                provider_reversal_id=reversal.id,
                amount_cents=reversal.amount_cents,
                purpose=row.purpose,
            )
            if row.wallet_id:
                self._take_back_from_wallet(s, row, split, title, now, event)
            else:
                self._take_back_from_invoice(s, row, split, title, now, event)
            if split.left:
                self._invoice_the_rest(s, row, reversal, split, title, now, event)
            s.execute(
                pr.insert().values(
                    id=str(uuid.uuid4()),
                    school_id=row.school_id,
                    payment_id=row.id,
                    provider_id=reversal.id,
                    kind=reversal.kind,
                    provider_status=reversal.status[:20],
                    amount_cents=reversal.amount_cents,
                    wallet_cents=split.wallet,
                    invoice_cents=split.invoice,
                    unallocated_cents=split.unallocated,
                    invoiced_cents=split.invoiced,
                    rest_invoice_id=split.rest_invoice_id,
                    created_at=now,
                )
            )
            s.execute(update(payments).where(payments.c.id == row.id).values(updated_at=now))
            self.rt.record(s, "finance.payment.reversed.v1", event, row.school_id)
        log.info(
            "online payment reversal booked",
            extra={
                **extra,
                "amount_cents": reversal.amount_cents,
                "wallet_cents": split.wallet,
                "invoice_cents": split.invoice,
                "unallocated_cents": split.unallocated,
                "invoiced_cents": split.invoiced,
            },
        )
        return True

    def _take_back_from_wallet(self, s: Session, row, split: _Split, title: str, now, event) -> None:
        """A top-up: debit its wallet, at most what the wallet still holds (never below zero)."""
        school = row.school_id
        wallet = db.lock_wallet(s, school, row.wallet_id)
        take = min(wallet.balance_cents, split.left)
        if take:
            db.book(
                s,
                school,
                ledger.refund(wallet.id, school, take, method="online"),
                at=now,
                label=title,
                student_id=wallet.student_id,
            )
            split.wallet = take
        event.wallet_id = wallet.id
        event.wallet_name = wallet.name
        event.wallet_debited_cents = take
        event.balance_after_cents = wallet.balance_cents - take

    def _take_back_from_invoice(self, s: Session, row, split: _Split, title: str, now, event) -> None:
        """An invoice payment: first the payment's excess still unassigned (what a school refunds
        after a double payment), then the invoice's paid amount, which it had received from this
        payment (the invoice is owed again). Locks: unmatched transfers, then the invoice (the order
        assign_unmatched takes them in)."""
        school = row.school_id
        u = unmatched_transfers
        excess = s.execute(
            select(u)
            .where(u.c.online_payment_id == row.id, u.c.status == "open")
            .order_by(u.c.created_at, u.c.id)
            .with_for_update()
        ).all()
        for t in excess:
            take = min(t.amount_cents, split.left)
            if not take:
                break
            db.book(
                s,
                school,
                ledger.reverse_unallocated(school, take, "online"),
                at=now,
                label=f"{title} – non attribué"[:300],
                student_id=row.student_id,
            )
            # What stays open is what is still on the unallocated account for the manager to assign.
            if take == t.amount_cents:
                s.execute(update(u).where(u.c.id == t.id).values(status="refunded"))
            else:
                s.execute(update(u).where(u.c.id == t.id).values(amount_cents=t.amount_cents - take))
            split.unallocated += take
        event.unallocated_cents = split.unallocated
        inv = s.execute(
            select(invoices)
            .where(invoices.c.id == row.invoice_id, invoices.c.school_id == school)
            .with_for_update()
        ).one()
        event.invoice_id = inv.id
        event.invoice_number = inv.number
        receivable = ledger.invoice_receivable_account(inv.id)
        applied = 0
        if row.transaction_id:
            applied = s.execute(
                select(func.coalesce(func.sum(ledger_postings.c.amount_cents), 0)).where(
                    ledger_postings.c.transaction_id == row.transaction_id,
                    ledger_postings.c.account == receivable,
                )
            ).scalar_one()
        already = s.execute(
            select(func.coalesce(func.sum(payment_reversals.c.invoice_cents), 0)).where(
                payment_reversals.c.payment_id == row.id
            )
        ).scalar_one()
        # A cancelled invoice is not reopened: what it had received goes to the invoice for the rest.
        take = 0 if inv.status == "cancelled" else max(min(split.left, applied - already, inv.paid_cents), 0)
        if take:
            db.book(
                s,
                school,
                ledger.reverse_invoice_payment(inv.id, school, take, "online"),
                at=now,
                label=f"{title} – facture {inv.number}"[:300],
                student_id=inv.student_id,
            )
            paid = inv.paid_cents - take
            s.execute(
                update(invoices)
                .where(invoices.c.id == inv.id)
                .values(paid_cents=paid, status=invoice_status(inv.total_cents, paid, False))
            )
            split.invoice = take
        event.invoice_reopened_cents = take

    def _invoice_the_rest(
        self, s: Session, row, reversal: ProviderReversal, split: _Split, title: str, now, event
    ) -> None:
        """What went back to the payer but was already used (spent from the wallet, paid on an invoice
        since cancelled, assigned by the manager): invoiced to the student, so the debt is visible and
        nothing is lost; the money that left is taken off the revenue the invoice books again."""
        school = row.school_id
        rest = split.left
        used = "portefeuille" if row.wallet_id else "paiement"
        invoice = self.core._issue_invoice(
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
            at=now,
            label=f"{title} – facture {invoice.number}"[:300],
            student_id=row.student_id,
        )
        split.invoiced = rest
        split.rest_invoice_id = invoice.id
        event.rest_invoice_id = invoice.id
        event.rest_invoice_number = invoice.number
        event.rest_invoice_cents = rest

    def sync_open_payments(self, older_than_seconds: int = 120, limit: int = 500) -> int:
        """Fetch the status of online payments still open after a while (a webhook lost on the way)
        and apply it, exactly as the webhook does. Returns how many were looked at."""
        from datetime import timedelta

        cutoff = self._now() - timedelta(seconds=older_than_seconds)
        with self.rt.db.unit_of_work() as s:
            ids = (
                s.execute(
                    select(payments.c.provider_id)
                    .where(
                        payments.c.status == "open",
                        payments.c.method == "online",
                        payments.c.provider_id.is_not(None),
                        payments.c.created_at < cutoff,
                    )
                    .order_by(payments.c.created_at)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        for pid in ids:
            try:
                self.handle_webhook(pid)
            except Unavailable:
                log.warning("provider unavailable while syncing", extra={"provider_id": pid})
                break
        return len(ids)

    # -- reading payments -----------------------------------------------------------------------

    def get_payment(self, who: Identity, payment_id: str) -> pb.GetPaymentResponse:
        """One payment: the caller's family's (parents) or the school's (staff); NOT_FOUND otherwise."""
        with self.rt.db.unit_of_work() as s:
            row = s.execute(
                select(payments).where(
                    payments.c.id == payment_id[:36], payments.c.school_id == who.school_id
                )
            ).first()
            if row is None:
                raise NotFound("no such payment")
            who.require_owner(row.student_id)
            return pb.GetPaymentResponse(payment=self._payment_pb(s, row))

    # -- transfer details -----------------------------------------------------------------------

    @staticmethod
    def _bank_settings(settings):
        if settings is None or not settings.iban or not settings.beneficiary:
            raise Conflict("the school has not given its bank account yet", code="method_disabled")
        return settings

    def get_wallet_transfer(self, who: Identity, req: pb.GetWalletTransferRequest) -> pb.GetTransferResponse:
        """ "Par virement bancaire": the school's account and the wallet's own structured
        communication, with the EPC QR code (no amount: the parent chooses). 409 method_disabled when
        the school does not take top-ups by transfer."""
        sc = structured_communications
        with self.rt.db.unit_of_work() as s:
            wallet = s.execute(
                select(wallets.c.id, wallets.c.student_id, wallet_types.c.name, sc.c.digits)
                .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
                .outerjoin(sc, and_(sc.c.wallet_id == wallets.c.id, sc.c.valid_until.is_(None)))
                .where(wallets.c.id == req.wallet_id, wallets.c.school_id == who.school_id)
            ).first()
            if wallet is None:
                raise NotFound("no such wallet")
            who.require_owner(wallet.student_id)
            if req.student_id and wallet.student_id != req.student_id:
                raise NotFound("no such wallet")
            settings = self.core._settings_row(s, who.school_id)
        if settings is None or "transfer" not in settings.top_up_methods.split(","):
            raise Conflict("the school does not take top-ups by bank transfer", code="method_disabled")
        settings = self._bank_settings(settings)
        return pb.GetTransferResponse(
            transfer=self._transfer(settings, wallet.digits, None, req.qr_title), wallet_name=wallet.name
        )

    def get_invoice_transfer(
        self, who: Identity, req: pb.GetInvoiceTransferRequest
    ) -> pb.GetTransferResponse:
        """An invoice's transfer details: its own communication and its open amount (no QR code once
        nothing is due)."""
        with self.rt.db.unit_of_work() as s:
            inv = self.core._load_invoice(s, who, req.invoice_id)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            digits = s.execute(
                select(structured_communications.c.digits).where(
                    structured_communications.c.invoice_id == inv.id
                )
            ).scalar_one()
            settings = self._bank_settings(self.core._settings_row(s, who.school_id))
        open_cents = 0 if inv.status == "cancelled" else max(inv.total_cents - inv.paid_cents, 0)
        return pb.GetTransferResponse(
            transfer=self._transfer(settings, digits, open_cents, req.qr_title, qr=open_cents > 0),
            invoice_status=inv.status,
        )

    @staticmethod
    def _transfer(
        settings, digits: str, amount: int | None, qr_title: str, *, qr: bool = True
    ) -> pb.TransferDetails:
        out = pb.TransferDetails(
            iban=settings.iban,
            bic=settings.bic,
            beneficiary=settings.beneficiary,
            structured_communication=format_ogm(digits),
            amount_cents=amount or 0,
        )
        if qr:
            args = dict(
                name=settings.beneficiary,
                iban=settings.iban,
                bic=settings.bic or None,
                amount_cents=amount or None,
                structured_communication=digits,
            )
            out.epc_payload = epc_payload(**args)
            out.epc_qr_svg = epc_qr_svg(**args, title=(qr_title or DEFAULT_QR_TITLE)[:200])
        return out

    # -- unmatched transfers --------------------------------------------------------------------

    def list_unmatched(
        self, who: Identity, req: pb.ListUnmatchedTransfersRequest
    ) -> pb.ListUnmatchedTransfersResponse:
        """Staff: money that named nothing (oldest first), open ones unless ``status`` says otherwise."""
        who.require_staff()
        status = req.status or "open"
        if status not in ("open", "assigned", "all"):
            raise InvalidRequest("unknown status", fields={"status": "open | assigned | all"})
        u = unmatched_transfers
        q = select(u).where(u.c.school_id == who.school_id).order_by(u.c.created_at, u.c.id)
        if status != "all":
            q = q.where(u.c.status == status)
        with self.rt.db.unit_of_work() as s:
            return pb.ListUnmatchedTransfersResponse(transfers=[unmatched_pb(r) for r in s.execute(q)])

    def assign_unmatched(
        self, who: Identity, req: pb.AssignUnmatchedTransferRequest
    ) -> pb.AssignUnmatchedTransferResponse:
        """Staff: say whose an unmatched transfer is. To a wallet: the whole amount credits it. To an
        invoice: its open amount is paid and the rest stays unmatched. 409 already_assigned."""
        who.require_staff()
        if bool(req.wallet_id) == bool(req.invoice_id):
            raise InvalidRequest(
                "give a wallet_id or an invoice_id", fields={"wallet_id": "wallet_id or invoice_id, not both"}
            )

        def work(s: Session) -> pb.AssignUnmatchedTransferResponse:
            u = unmatched_transfers
            t = s.execute(
                select(u).where(u.c.id == req.transfer_id, u.c.school_id == who.school_id).with_for_update()
            ).first()
            if t is None:
                raise NotFound("no such unmatched transfer")
            if t.status != "open":
                raise Conflict("this transfer is already assigned", code="already_assigned")
            now = self._now()
            school = who.school_id
            out = pb.AssignUnmatchedTransferResponse()
            if req.wallet_id:
                wallet = db.lock_wallet(s, school, req.wallet_id)
                if wallet is None:
                    raise NotFound("no such wallet")
                tx_id = db.book(
                    s,
                    school,
                    ledger.allocate_top_up(wallet.id, school, t.amount_cents, t.method),
                    at=now,
                    label=transfer_label(t.counterparty_name),
                    student_id=wallet.student_id,
                )
                payment_id = db.insert_paid_payment(
                    s,
                    school,
                    wallet.student_id,
                    "top_up",
                    t.method,
                    t.amount_cents,
                    now,
                    tx_id,
                    wallet_id=wallet.id,
                    created_by=who.account_id,
                )
                balance = wallet.balance_cents + t.amount_cents
                self.rt.record(
                    s,
                    "finance.payment.received.v1",
                    payment_received(
                        payment_id,
                        wallet.student_id,
                        t.amount_cents,
                        t.method,
                        "top_up",
                        wallet_id=wallet.id,
                        balance_after=balance,
                        wallet_name=self.core._wallet_name(s, wallet.wallet_type_id),
                    ),
                    school,
                )
                out.wallet_balance_cents = balance
                values = {"assigned_wallet_id": wallet.id}
            else:
                inv = s.execute(
                    select(invoices)
                    .where(invoices.c.id == req.invoice_id, invoices.c.school_id == school)
                    .with_for_update()
                ).first()
                if inv is None:
                    raise NotFound("no such invoice")
                if inv.status == "cancelled":
                    raise Conflict("this invoice was cancelled by a credit note", code="invoice_cancelled")
                if inv.total_cents - inv.paid_cents <= 0:
                    raise Conflict("this invoice is already paid", code="already_paid")
                applied = apply_to_invoice(
                    self.rt,
                    s,
                    school,
                    inv.id,
                    t.amount_cents,
                    t.method,
                    now,
                    counter_account=ledger.unallocated_account(school),
                    created_by=who.account_id,
                    label=transfer_label(t.counterparty_name, inv.number),
                )
                payment_id = applied.payment_id
                if applied.rest_cents:
                    record_unmatched(
                        s,
                        school,
                        source=t.source,
                        method=t.method,
                        amount=applied.rest_cents,
                        now=now,
                        reason="overpayment",
                        communication=t.communication,
                        counterparty_name=t.counterparty_name,
                        counterparty_iban=t.counterparty_iban,
                        booked_on=t.booked_on,
                        movement_id=t.movement_id,
                        online_payment_id=t.online_payment_id,
                        transaction_id=t.transaction_id,
                    )
                out.unmatched_rest_cents = applied.rest_cents
                out.invoice.CopyFrom(self.core._invoice_pb(s, inv.id))
                values = {"assigned_invoice_id": inv.id, "amount_cents": applied.applied_cents}
            s.execute(
                update(u)
                .where(u.c.id == t.id)
                .values(
                    status="assigned",
                    assigned_by=who.account_id,
                    assigned_at=now,
                    payment_id=payment_id,
                    **values,
                )
            )
            out.payment_id = payment_id
            out.transfer.CopyFrom(unmatched_pb(s.execute(select(u).where(u.c.id == t.id)).one()))
            return out

        return self.core._idempotent(
            f"assign:{who.school_id}:{who.account_id}",
            req.idempotency_key,
            req,
            pb.AssignUnmatchedTransferResponse,
            work,
        )


class _Split:
    """Where the money of one refund or chargeback is taken back from (cents)."""

    def __init__(self, amount: int) -> None:
        self.amount = amount
        self.wallet = 0
        self.invoice = 0
        self.unallocated = 0
        self.invoiced = 0
        self.rest_invoice_id: str | None = None

    @property
    def left(self) -> int:
        return self.amount - self.wallet - self.invoice - self.unallocated - self.invoiced


# --- booking helpers shared with the statement import ------------------------------------------------


def transfer_label(counterparty: str, invoice_number: str = "") -> str:
    label = f"Virement – facture {invoice_number}" if invoice_number else "Rechargement par virement"
    return f"{label} – {counterparty}"[:300] if counterparty else label


class Applied:
    """What applying money to an invoice did."""

    def __init__(self) -> None:
        self.transaction_id = ""
        self.payment_id = ""
        self.applied_cents = 0
        self.rest_cents = 0
        self.rest_reason = ""
        self.communication = ""


def apply_to_invoice(
    rt: Runtime,
    s: Session,
    school_id: str,
    invoice_id: str,
    amount: int,
    method: str,
    now: datetime,
    *,
    counter_account: str,
    payment_id: str | None = None,
    created_by: str | None = None,
    label: str = "",
) -> Applied:
    """Pay an invoice with money that arrived (online, or assigned by the manager): the invoice row is
    locked, its open amount (at most ``amount``) is booked from ``counter_account`` and the payment
    recorded (``payment_id`` given: our online payment row, updated by the caller; else a new paid
    payment). What the invoice cannot take is returned in ``rest_cents`` with its reason, for the
    caller to list as an unmatched transfer (see :func:`record_unmatched`)."""
    out = Applied()
    inv = s.execute(
        select(invoices)
        .where(invoices.c.id == invoice_id, invoices.c.school_id == school_id)
        .with_for_update()
    ).one()
    out.communication = format_ogm(
        s.execute(
            select(structured_communications.c.digits).where(structured_communications.c.invoice_id == inv.id)
        ).scalar_one()
    )
    open_cents = 0 if inv.status == "cancelled" else max(inv.total_cents - inv.paid_cents, 0)
    applied = min(open_cents, amount)
    purpose = "order" if inv.source == "order" else "invoice"
    if applied:
        if counter_account == ledger.unallocated_account(school_id):
            tx = ledger.allocate_invoice_payment(inv.id, school_id, applied, method)
        else:
            tx = ledger.pay_invoice_external(inv.id, school_id, applied, method)
        out.transaction_id = db.book(
            s,
            school_id,
            tx,
            at=now,
            label=label or f"Facture {inv.number} – {inv.title}",
            student_id=inv.student_id,
        )
        paid = inv.paid_cents + applied
        s.execute(
            update(invoices)
            .where(invoices.c.id == inv.id)
            .values(paid_cents=paid, status=invoice_status(inv.total_cents, paid, False))
        )
        out.payment_id = payment_id or db.insert_paid_payment(
            s,
            school_id,
            inv.student_id,
            purpose,
            method,
            applied,
            now,
            out.transaction_id,
            invoice_id=inv.id,
            created_by=created_by,
        )
        rt.record(
            s,
            "finance.payment.received.v1",
            payment_received(
                out.payment_id,
                inv.student_id,
                applied,
                method,
                purpose,
                invoice_id=inv.id,
                invoice_number=inv.number,
            ),
            school_id,
        )
    out.applied_cents = applied
    out.rest_cents = amount - applied
    if out.rest_cents:
        out.rest_reason = (
            "invoice_cancelled"
            if inv.status == "cancelled"
            else "overpayment"
            if applied
            else "invoice_settled"
        )
    return out


def record_unmatched(
    s: Session,
    school_id: str,
    *,
    source: str,
    method: str,
    amount: int,
    now: datetime,
    reason: str,
    communication: str,
    counterparty_name: str,
    counterparty_iban: str,
    booked_on,
    movement_id: str | None = None,
    online_payment_id: str | None = None,
    transaction_id: str | None = None,
) -> tuple[str, str]:
    """List money for the manager: ``(transfer id, transaction id)``. Without ``transaction_id`` the
    money just arrived and is booked on the unallocated account here; with one, it is already there
    (what an invoice could not take of an assigned transfer)."""
    if transaction_id is None:
        transaction_id = db.book(
            s,
            school_id,
            ledger.receive_unallocated(school_id, amount, method),
            at=now,
            label=f"Non attribué – {counterparty_name or communication}"[:300],
        )
    transfer_id = str(uuid.uuid4())
    s.execute(
        unmatched_transfers.insert().values(
            id=transfer_id,
            school_id=school_id,
            source=source,
            method=method,
            movement_id=movement_id,
            online_payment_id=online_payment_id,
            amount_cents=amount,
            communication=communication,
            counterparty_name=counterparty_name[:140],
            counterparty_iban=counterparty_iban[:64],
            booked_on=booked_on,
            reason=reason,
            status="open",
            transaction_id=transaction_id,
            created_at=now,
        )
    )
    return transfer_id, transaction_id


def unmatched_pb(r) -> pb.UnmatchedTransfer:
    return pb.UnmatchedTransfer(
        id=r.id,
        amount_cents=r.amount_cents,
        communication=r.communication,
        counterparty_name=r.counterparty_name,
        counterparty_iban=r.counterparty_iban,
        booked_on=r.booked_on.isoformat(),
        reason=r.reason,
        status=r.status,
        source=r.source,
        assigned_wallet_id=r.assigned_wallet_id or "",
        assigned_invoice_id=r.assigned_invoice_id or "",
        assigned_at=rfc3339(r.assigned_at) if r.assigned_at else "",
        payment_id=r.payment_id or "",
    )
