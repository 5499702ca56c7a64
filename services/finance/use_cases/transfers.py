"""Bank transfers: the details to pay a wallet or an invoice by transfer (the school's account, the
structured communication, the EPC QR code), and the money that arrived naming nothing (unmatched
transfers, from statements or online excess) being assigned by the manager. The statement import
itself is ``statements.py``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.domain import ledger
from services.finance.domain.invoices import open_amount
from services.finance.use_cases import common


def transfer_label(counterparty: str, invoice_number: str = "") -> str:
    """The ledger label of money received by transfer (for a wallet, or an invoice)."""
    label = f"Virement – facture {invoice_number}" if invoice_number else "Rechargement par virement"
    return f"{label} – {counterparty}"[:300] if counterparty else label


def _bank_settings(settings):
    if settings is None or not settings.iban or not settings.beneficiary:
        raise Conflict("the school has not given its bank account yet", code="method_disabled")
    return settings


class Transfers:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- transfer details ---------------------------------------------------------------------------

    def get_wallet_transfer(self, who: Identity, req: pb.GetWalletTransferRequest) -> pb.GetTransferResponse:
        """ "Par virement bancaire": the school's account and the wallet's own structured
        communication, with the EPC QR code (no amount: the parent chooses). 409 method_disabled when
        the school does not take top-ups by transfer; 409 student_left for a child who left the school
        (no new top-ups: a transfer that still arrives with the communication credits the wallet as
        before, money received is never turned away; an invoice's details stay shown)."""
        with self.rt.db.unit_of_work() as s:
            wallet = common.wallet_of(
                who, db.wallet_with_communication(s, who.school_id, req.wallet_id), req.student_id
            )
            common.refuse_left(s, who, wallet.student_id)
            settings = db.settings_row(s, who.school_id)
        if settings is None or "transfer" not in settings.top_up_methods.split(","):
            raise Conflict("the school does not take top-ups by bank transfer", code="method_disabled")
        settings = _bank_settings(settings)
        return pb.GetTransferResponse(
            transfer=views.transfer_details(settings, wallet.digits, None, req.qr_title),
            wallet_name=wallet.name,
        )

    def get_invoice_transfer(
        self, who: Identity, req: pb.GetInvoiceTransferRequest
    ) -> pb.GetTransferResponse:
        """An invoice's transfer details: its own communication and its open amount (no QR code once
        nothing is due)."""
        with self.rt.db.unit_of_work() as s:
            inv = common.load_invoice(s, who, req.invoice_id)
            if req.student_id and inv.student_id != req.student_id:
                raise NotFound("no such invoice")
            digits = db.invoice_digits(s, inv.id)
            settings = _bank_settings(db.settings_row(s, who.school_id))
        open_cents = open_amount(inv.total_cents, inv.paid_cents, inv.status)
        return pb.GetTransferResponse(
            transfer=views.transfer_details(settings, digits, open_cents, req.qr_title, qr=open_cents > 0),
            invoice_status=inv.status,
        )

    # -- unmatched transfers ------------------------------------------------------------------------

    def list_unmatched(
        self, who: Identity, req: pb.ListUnmatchedTransfersRequest
    ) -> pb.ListUnmatchedTransfersResponse:
        """Staff: money that named nothing (oldest first), open ones unless ``status`` says otherwise."""
        who.require_staff()
        status = req.status or "open"
        if status not in ("open", "assigned", "all"):
            raise InvalidRequest("unknown status", fields={"status": "open | assigned | all"})
        with self.rt.db.unit_of_work() as s:
            return pb.ListUnmatchedTransfersResponse(
                transfers=[views.unmatched_transfer(r) for r in db.unmatched_of(s, who.school_id, status)]
            )

    def assign_unmatched(
        self, who: Identity, req: pb.AssignUnmatchedTransferRequest
    ) -> pb.AssignUnmatchedTransferResponse:
        """Staff: say whose an unmatched transfer is. To a wallet: the whole amount credits it. To an
        invoice: what it ``settle``s is paid and the rest stays unmatched. 409 already_assigned."""
        who.require_staff()
        if bool(req.wallet_id) == bool(req.invoice_id):
            raise InvalidRequest(
                "give a wallet_id or an invoice_id", fields={"wallet_id": "wallet_id or invoice_id, not both"}
            )

        def work(s: Session) -> pb.AssignUnmatchedTransferResponse:
            t = db.lock_unmatched(s, who.school_id, req.transfer_id)
            if t is None:
                raise NotFound("no such unmatched transfer")
            if t.status != "open":
                raise Conflict("this transfer is already assigned", code="already_assigned")
            at = common.now(self.rt)
            out = pb.AssignUnmatchedTransferResponse()
            if req.wallet_id:
                payment_id, values = self._to_wallet(s, who, t, req.wallet_id, at, out)
            else:
                payment_id, values = self._to_invoice(s, who, t, req.invoice_id, at, out)
            db.update_unmatched(
                s,
                t.id,
                status="assigned",
                assigned_by=who.account_id,
                assigned_at=at,
                payment_id=payment_id,
                **values,
            )
            audit.record(
                self.rt,
                s,
                who,
                "finance.unmatched_transfer.assigned",
                "unmatched_transfer",
                t.id,
                f"{format_eur(t.amount_cents)} to "
                + (f"wallet {req.wallet_id}" if req.wallet_id else f"invoice {req.invoice_id}"),
            )
            out.payment_id = payment_id
            out.transfer.CopyFrom(views.unmatched_transfer(db.unmatched_row(s, t.id)))
            return out

        return common.idempotent(
            self.rt,
            f"assign:{who.school_id}:{who.account_id}",
            req.idempotency_key,
            req,
            pb.AssignUnmatchedTransferResponse,
            work,
        )

    def _to_wallet(self, s: Session, who: Identity, t, wallet_id: str, at, out) -> tuple[str, dict]:
        """The whole transfer credits the wallet: its payment id and the transfer's new columns."""
        school = who.school_id
        wallet = db.lock_wallet(s, school, wallet_id)
        if wallet is None:
            raise NotFound("no such wallet")
        tx_id = db.book(
            s,
            school,
            ledger.allocate_top_up(wallet.id, school, t.amount_cents, t.method),
            at=at,
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
            at,
            tx_id,
            wallet_id=wallet.id,
            created_by=who.account_id,
        )
        balance = wallet.balance_cents + t.amount_cents
        events.record(
            self.rt,
            s,
            school,
            events.payment_received(
                payment_id,
                wallet.student_id,
                t.amount_cents,
                t.method,
                "top_up",
                wallet_id=wallet.id,
                balance_after=balance,
                wallet_name=db.wallet_type_name(s, wallet.wallet_type_id),
            ),
        )
        out.wallet_balance_cents = balance
        return payment_id, {"assigned_wallet_id": wallet.id}

    def _to_invoice(self, s: Session, who: Identity, t, invoice_id: str, at, out) -> tuple[str, dict]:
        """The invoice takes what it settles; what it leaves stays unmatched (already on the
        unallocated account). Its payment id and the transfer's new columns."""
        school = who.school_id
        inv = db.find_invoice(s, school, invoice_id, lock=True)
        if inv is None:
            raise NotFound("no such invoice")
        common.require_payable(inv)
        credited = common.credit_invoice(
            self.rt,
            s,
            school,
            inv.id,
            t.amount_cents,
            t.method,
            at,
            counter_account=ledger.unallocated_account(school),
            created_by=who.account_id,
            label=transfer_label(t.counterparty_name, inv.number),
        )
        rest = credited.settlement.left_over_cents
        if rest:
            db.record_unmatched(
                s,
                school,
                source=t.source,
                method=t.method,
                amount=rest,
                now=at,
                reason=credited.settlement.reason,  # overpayment: the invoice took some
                communication=t.communication,
                counterparty_name=t.counterparty_name,
                counterparty_iban=t.counterparty_iban,
                booked_on=t.booked_on,
                movement_id=t.movement_id,
                online_payment_id=t.online_payment_id,
                transaction_id=t.transaction_id,
            )
        out.unmatched_rest_cents = rest
        out.invoice.CopyFrom(common.invoice_message(s, inv.id))
        return credited.payment_id, {
            "assigned_invoice_id": inv.id,
            "amount_cents": credited.settlement.applied_cents,
        }
