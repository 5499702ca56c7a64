"""Paying an invoice from a wallet ("Payer" > "avec portefeuille interne"): the wallet's money settles
the invoice's open amount, when the school allows it and the wallet covers it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.finance import db, events
from services.finance.domain import ledger
from services.finance.domain.invoices import invoice_status, settle
from services.finance.domain.payments import invoice_purpose
from services.finance.use_cases import auto_top_ups, common


class WalletPayments:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def pay_invoice(self, who: Identity, req: pb.PayInvoiceRequest) -> pb.PayInvoiceResponse:
        """Settle an invoice ("Payer"). With ``method=wallet`` ("avec portefeuille interne"): only when
        the school allows it, from a wallet of the invoice's student whose balance covers the open
        amount; invoice and wallet are locked, so racing payments never overdraw. Once per key."""
        if req.method == "online":  # an online payment goes through the provider: StartInvoicePayment
            raise InvalidRequest(
                "online payments are started with StartInvoicePayment",
                fields={"method": "use StartInvoicePayment"},
            )
        if req.method != "wallet":
            raise InvalidRequest("method must be wallet or online", fields={"method": "wallet | online"})
        if not req.wallet_id:
            raise InvalidRequest("wallet_id is required", fields={"wallet_id": "required"})

        def work(s: Session) -> pb.PayInvoiceResponse:
            inv = common.load_invoice(s, who, req.invoice_id, lock=True)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            open_cents = common.require_payable(inv)
            settings = db.settings_row(s, who.school_id)
            if settings is None or not settings.internal_wallet_payments:
                raise Conflict(
                    "the school does not take invoice payments from wallets", code="method_disabled"
                )
            # Read what the answer shows before locking the wallet: the wallet lock is what racing
            # payments queue on, so it is held for as few statements as possible.
            invoice = common.invoice_message(s, inv.id)
            wallet = db.lock_wallet(s, who.school_id, req.wallet_id)
            if wallet is None or wallet.student_id != inv.student_id:
                raise NotFound("no such wallet")
            # The wallet pays the whole open amount or nothing: nothing is ever left over.
            amount = settle(open_cents, open_cents).applied_cents
            balance_after = common.balance_after_debit(wallet.balance_cents, amount, "the invoice needs")
            at = common.now(self.rt)
            tx_id = db.book(
                s,
                who.school_id,
                ledger.pay_invoice_from_wallet(inv.id, wallet.id, amount),
                at=at,
                label=f"Facture {inv.number} – {inv.title}",
                student_id=inv.student_id,
            )
            invoice.paid_cents = inv.paid_cents + amount
            invoice.status = invoice_status(inv.total_cents, invoice.paid_cents, False)
            db.set_invoice_paid(s, inv.id, invoice.paid_cents, invoice.status)
            purpose = invoice_purpose(inv.source)
            payment_id = db.insert_paid_payment(
                s,
                who.school_id,
                inv.student_id,
                purpose,
                "wallet",
                amount,
                at,
                tx_id,
                wallet_id=wallet.id,
                invoice_id=inv.id,
            )
            events.record(
                self.rt,
                s,
                who.school_id,
                events.payment_received(
                    payment_id,
                    inv.student_id,
                    amount,
                    "wallet",
                    purpose,
                    wallet_id=wallet.id,
                    invoice_id=inv.id,
                    balance_after=balance_after,
                    wallet_name=wallet.name,
                    invoice_number=inv.number,
                ),
            )
            auto_top_ups.after_debit(self.rt, s, who.school_id, wallet, balance_after, "wallet_payment")
            if who.is_staff:  # a parent paying is no staff action
                audit.record(
                    self.rt,
                    s,
                    who,
                    "finance.invoice.paid_from_wallet",
                    "invoice",
                    inv.id,
                    f"{inv.number}, {format_eur(amount)} from {wallet.name}",
                )
            return pb.PayInvoiceResponse(
                invoice=invoice, payment_id=payment_id, wallet_balance_cents=balance_after
            )

        return common.idempotent(
            self.rt, f"pay-invoice:{who.account_id}", req.idempotency_key, req, pb.PayInvoiceResponse, work
        )
