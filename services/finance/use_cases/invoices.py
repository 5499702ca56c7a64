"""Invoices: staff invoice a student, orders invoice what a parent ordered, a credit note cancels
what is still due. How an invoice gets paid: ``domain.invoices.settle`` decides what a payment
covers; the payment paths are wallet_payments.py (from a wallet), online_payments.py and
webhooks.py (online), statements.py and transfers.py (bank transfers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from kit.money import format_eur
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.domain import ledger
from services.finance.domain import lines as lines_domain
from services.finance.domain.invoices import CANCELLED, PAID, STATUSES, invoice_status, open_amount
from services.finance.use_cases import common, max_bill

PAYMENT_TERM = timedelta(days=30)


def _due_on(text: str, issued_on: date) -> date:
    if not text:
        return issued_on + PAYMENT_TERM
    try:
        due = date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("due_on must be a date", fields={"due_on": "YYYY-MM-DD"}) from None
    if due < issued_on:
        raise InvalidRequest("the due date is before the invoice date", fields={"due_on": "today or later"})
    return due


def issue_invoice(
    rt: Runtime,
    s: Session,
    who: Identity,
    student_id: str,
    title: str,
    due_text: str,
    lines: Sequence,
    credit_cents: int,
    source: str,
    *,
    student=None,
    school_settings: pb.Settings | None = None,
    parsed: list[tuple[str, int, int, int]] | None = None,
    override_max_bill: bool = False,
) -> pb.Invoice:
    """Write an invoice (``source``: staff | order | reversal), its lines, its communication, the
    receivable and finance.invoice.issued.v1, in the caller's transaction ``s``. A student who left
    the school gets no new staff or order invoice: 409 ``student_left``. A batch (bulk_invoices.py)
    gives what it loaded once: the ``student`` row, the ``school_settings``, the ``parsed`` lines.
    Lines counting towards the Flemish maximum bill that would pass a cap: 409 ``max_bill_exceeded``
    unless ``override_max_bill`` (then audited; ``max_bill.py``)."""
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise InvalidRequest(
            "title is required (at most 200 characters)", fields={"title": "1 to 200 characters"}
        )
    if parsed is None:
        parsed = common.parse_lines(lines)
    subtotal = sum(a for *_, a in parsed)
    if not 0 <= credit_cents <= subtotal:
        raise InvalidRequest(
            "the credit is more than the lines' total", fields={"credit_cents": f"0 to {subtotal}"}
        )
    issued_on = common.today(rt)
    due_on = _due_on(due_text, issued_on)
    if student is None:
        student = common.student(s, who, student_id)
    if source != "reversal":  # a reversal's invoice claims money the family already had back
        common.refuse_left(s, who, student_id, student)
    attributes = [lines_domain.attributes_of(line) for line in lines]
    passed = max_bill.check(rt, s, who, student, issued_on, parsed, attributes, override_max_bill)
    at = common.now(rt)
    total = subtotal - credit_cents
    invoice_id = str(uuid.uuid4())
    settings = school_settings if school_settings is not None else common.settings(s, who.school_id)
    # Written under a provisional number of its own (never committed: the same transaction replaces
    # it), numbered by the last statements below: the school's counter row, which every other invoice
    # of the school waits for, stays locked for those few statements instead of the whole invoice.
    db.insert_invoice(
        s,
        parsed,
        attributes,
        id=invoice_id,
        school_id=who.school_id,
        student_id=student_id,
        number=_provisional_number(),
        title=title,
        issued_on=issued_on,
        due_on=due_on,
        total_cents=total,
        credit_cents=credit_cents,
        paid_cents=0,
        credited_cents=0,
        status=invoice_status(total, 0, False),
        source=source,
        created_at=at,
    )
    digits = db.issue_communication(s, who.school_id, at, invoice_id=invoice_id)
    invoice = common.invoice_message(s, invoice_id)
    # -- from here to the commit the school's invoice counter is held
    number = db.number_invoice(s, who.school_id, invoice_id, issued_on.year)
    invoice.number = number
    max_bill.record_override(rt, s, who, invoice_id, number, student_id, passed)
    if total > 0:  # an invoice the credit covers whole owes nothing: nothing to book
        db.book(
            s,
            who.school_id,
            ledger.issue_invoice(invoice_id, who.school_id, total),
            at=at,
            label=f"Facture {number} – {title}",
            student_id=student_id,
        )
    events.record(
        rt,
        s,
        who.school_id,
        events.invoice_issued(
            invoice_id=invoice_id,
            student_id=student_id,
            number=number,
            title=title,
            total_cents=total,
            due_on=due_on.isoformat(),
            structured_communication=digits,
            issued_on=issued_on.isoformat(),
            lines=invoice.lines,
            school_name=settings.school_name or settings.beneficiary,
            beneficiary=settings.beneficiary,
            iban=settings.iban,
            bic=settings.bic,
            student_name=common.student_name(student),
            class_name=student.class_name,
            credit_cents=credit_cents,
        ),
    )
    return invoice


def _provisional_number() -> str:
    """A number unique to one invoice being written (the column's 20 characters; the school's
    numbers are digits and dashes, so never one of them)."""
    return "~" + uuid.uuid4().hex[:19]


class Invoices:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def create_invoice(self, who: Identity, req: pb.CreateInvoiceRequest) -> pb.CreateInvoiceResponse:
        """Staff: invoice a student (lines, due date, optional credit); once per idempotency key. A
        student who left the school: 409 ``student_left`` (their open invoices stay payable)."""
        who.require_staff()

        def work(s: Session) -> pb.CreateInvoiceResponse:
            invoice = issue_invoice(
                self.rt,
                s,
                who,
                req.student_id,
                req.title,
                req.due_on,
                req.lines,
                req.credit_cents,
                "staff",
                override_max_bill=req.override_max_bill,
            )
            audit.record(
                self.rt,
                s,
                who,
                "finance.invoice.created",
                "invoice",
                invoice.id,
                f"{invoice.number} {invoice.title}, {format_eur(invoice.total_cents)}, student {invoice.student_id}",
            )
            return pb.CreateInvoiceResponse(invoice=invoice)

        return common.idempotent(
            self.rt,
            f"create-invoice:{who.account_id}",
            req.idempotency_key,
            req,
            pb.CreateInvoiceResponse,
            work,
        )

    def create_order_invoice(
        self, who: Identity, req: pb.CreateOrderInvoiceRequest
    ) -> pb.CreateOrderInvoiceResponse:
        """The orders service (with the ordering parent's identity): the order's invoice, the credit
        from returned books already taken off, due in 30 days; once per key (the order id), whoever
        retries it. Its checkout, when the school takes orders online: OnlinePayments."""
        who.require_student(req.student_id)

        def work(s: Session) -> pb.CreateOrderInvoiceResponse:
            invoice = issue_invoice(
                self.rt, s, who, req.student_id, req.title, "", req.lines, req.credit_cents, "order"
            )
            return pb.CreateOrderInvoiceResponse(invoice=invoice, checkout_url="")

        return common.idempotent(
            self.rt,
            f"order-invoice:{who.school_id}",
            req.idempotency_key,
            req,
            pb.CreateOrderInvoiceResponse,
            work,
            exclude=("return_url",),
        )

    def list_invoices(self, who: Identity, student_id: str, status: str = "") -> pb.ListInvoicesResponse:
        """The student's invoices, newest first, optionally of one status. Staff: a student finance
        does not know in their school is not found."""
        who.require_student(student_id)
        if status and status not in STATUSES:
            raise InvalidRequest("unknown status", fields={"status": " | ".join(STATUSES)})
        with self.rt.db.unit_of_work() as s:
            common.require_student_here(s, who, student_id)
            rows = db.student_invoices(s, who.school_id, student_id, status)
            return pb.ListInvoicesResponse(invoices=common.invoice_messages(s, rows, with_lines=False))

    def get_invoice(self, who: Identity, invoice_id: str) -> pb.GetInvoiceResponse:
        """One invoice with its lines: the school's (staff) or a child's (parents)."""
        with self.rt.db.unit_of_work() as s:
            row = common.load_invoice(s, who, invoice_id)
            return pb.GetInvoiceResponse(invoice=common.invoice_messages(s, [row], with_lines=True)[0])

    def issue_credit_note(self, who: Identity, req: pb.IssueCreditNoteRequest) -> pb.IssueCreditNoteResponse:
        """Staff: a credit note cancels the invoice and reverses what was still due on it (what was
        already paid stays paid). A paid or cancelled invoice is refused."""
        who.require_staff()
        reason = " ".join((req.reason or "").split())
        if not reason or len(reason) > 500:
            raise InvalidRequest(
                "a reason is required (at most 500 characters)", fields={"reason": "1 to 500 characters"}
            )

        def work(s: Session) -> pb.IssueCreditNoteResponse:
            inv = common.load_invoice(s, who, req.invoice_id, lock=True)
            if inv.status == CANCELLED:
                raise Conflict("this invoice is already cancelled", code="invoice_cancelled")
            if inv.status == PAID:
                raise Conflict("this invoice is paid: nothing is due to cancel", code="already_paid")
            at = common.now(self.rt)
            year = at.astimezone(common.BRUSSELS).year
            number = f"NC{year}-{db.next_number(s, who.school_id, f'credit_note:{year}'):05d}"
            open_cents = open_amount(inv.total_cents, inv.paid_cents, inv.status)
            db.book(
                s,
                who.school_id,
                ledger.credit_note(inv.id, who.school_id, open_cents),
                at=at,
                label=f"Note de crédit {number} – facture {inv.number}",
                student_id=inv.student_id,
            )
            note_id = str(uuid.uuid4())
            db.cancel_invoice(
                s,
                inv.id,
                note_id=note_id,
                school_id=who.school_id,
                number=number,
                reason=reason,
                credited=open_cents,
                now=at,
            )
            student = common.student(s, who, inv.student_id)
            settings = common.settings(s, who.school_id)
            events.record(
                self.rt,
                s,
                who.school_id,
                events.invoice_cancelled(
                    invoice_id=inv.id,
                    student_id=inv.student_id,
                    credit_note_id=note_id,
                    reason=reason,
                    number=inv.number,
                    title=inv.title,
                    credited_cents=open_cents,
                    school_name=settings.school_name or settings.beneficiary,
                    student_name=common.student_name(student),
                    credit_note_number=number,
                ),
            )
            audit.record(
                self.rt,
                s,
                who,
                "finance.credit_note.issued",
                "invoice",
                inv.id,
                f"{number} for {inv.number}, {format_eur(open_cents)}: {reason}",
            )
            return pb.IssueCreditNoteResponse(
                credit_note=pb.CreditNote(
                    id=note_id,
                    number=number,
                    invoice_id=inv.id,
                    reason=reason,
                    credited_cents=open_cents,
                    created_at=views.rfc3339(at),
                ),
                invoice=common.invoice_message(s, inv.id),
            )

        return common.idempotent(
            self.rt,
            f"credit-note:{who.account_id}",
            req.idempotency_key,
            req,
            pb.IssueCreditNoteResponse,
            work,
        )
