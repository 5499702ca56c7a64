"""Reactions to finance's SEPA events (issue #18): the mails about direct debits and refunds.

- finance.mandate.signed.v1: a confirmation to the parent who signed (the reference, the creditor,
  the account debited, the children covered, and that they are told before each collection);
- finance.auto_top_up.triggered.v1: the parents of the wallet's student are told what will be collected
  in the school's next collection, on which mandate;
- finance.direct_debit.returned.v1: the parents are told what the bank did not pay, why in words, and
  what to do (pay the invoice another way; sign a new mandate when the return cancelled it); the
  reminders' book opens the invoice again, so that its overdue reminders resume;
- finance.refund.created.v1: the parents are told the amount and the (masked) account it goes to;
- finance.direct_debit.scheduled.v1 (SEPA's pre-notification, one per mandate of a new batch): the
  amount, the collection date, the mandate's reference, the creditor id, the masked account and what
  is collected, to the parents of the students collected for and to the signer: the signer reads
  every collection (the account is theirs), another parent those of their own children.

As in ``handlers.py``, each handler runs in the consumer's transaction (the inbox makes it once per
event) and only queues rows for the mailer; the (event_id, kind, recipient) key keeps one mail per
event and address even if the inbox were bypassed. finance.mandate.revoked.v1 is not consumed: the
parent who revokes sees it on the page, and a mandate cancelled by a bank return is told in that
return's mail.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as finance_events
from kit.bus import Binding
from kit.service import Runtime
from services.notifications import db
from services.notifications import db_reminders as invoice_book
from services.notifications.domain import formatting, sepa
from services.notifications.domain.mail import (
    AUTO_TOP_UP,
    DIRECT_DEBIT_RETURNED,
    DIRECT_DEBIT_SCHEDULED,
    MANDATE_SIGNED,
    REFUND_CREATED,
    language_or_default,
)
from services.notifications.handlers import MailQueue


def covered_student_names(s: Session, school_id: str, account_id: str, student_ids: list[str]) -> list[str]:
    """The names of the children a mandate covers, as the contact book has them for the signing parent
    (another parent's entry when theirs has none); a child the book does not know is left out."""
    names = []
    for sid in dict.fromkeys(student_ids):
        parents = db.parents_of_student(s, school_id, sid)
        own = [p.student_name for p in parents if p.account_id == account_id and p.student_name]
        name = next(iter(own), "") or next((p.student_name for p in parents if p.student_name), "")
        if name:
            names.append(name)
    return names


def scheduled_values(
    ev: finance_events.DirectDebitScheduled, account_id: str, own: dict[str, str], known: dict[str, str]
) -> dict:
    """The pre-notification's values for one recipient: every collection for the mandate's signer,
    those of their own children (``own``: student -> their name for the child) for another parent;
    ``known``: a name the book has for each student. ``partial``: some collections are not listed."""
    shown = [i for i in ev.items if account_id == ev.parent_account_id or i.student_id in own]
    return {
        "school_name": ev.school_name,
        "creditor_id": ev.creditor_id,
        "mandate_reference": ev.mandate_reference,
        "iban_masked": ev.iban_masked,
        "holder_name": ev.holder_name,
        "collection_date": ev.collection_date,
        "total_cents": sum(i.amount_cents for i in shown),
        "items": [
            {
                "kind": i.kind,
                "student": own.get(i.student_id) or known.get(i.student_id, ""),
                "invoice_number": i.invoice_number,
                "invoice_title": i.invoice_title,
                "wallet_name": i.wallet_name,
                "amount_cents": i.amount_cents,
            }
            for i in shown
        ],
        "partial": len(shown) < len(ev.items),
    }


def bindings(rt: Runtime, mails: MailQueue | None = None) -> dict[str, Binding]:
    mails = mails or MailQueue(rt)
    base = rt.settings.public_base_url

    def mandate_signed(s: Session, env: envelope_pb2.Envelope, ev: finance_events.MandateSigned) -> None:
        values = {
            "reference": ev.reference,
            "school_name": ev.school_name,
            "creditor_id": ev.creditor_id,
            "holder_name": ev.holder_name,
            "iban_masked": ev.iban_masked,
            "signed_at": ev.signed_at,
            "students": covered_student_names(s, env.school_id, ev.parent_account_id, list(ev.student_ids)),
            "link": mails.portal,
        }
        mails.to_account(s, env, MANDATE_SIGNED, ev.parent_account_id, values)

    def auto_top_up_triggered(
        s: Session, env: envelope_pb2.Envelope, ev: finance_events.AutoTopUpTriggered
    ) -> None:
        values = {
            "wallet_name": ev.wallet_name,
            "balance_cents": ev.balance_cents,
            "threshold_cents": ev.threshold_cents,
            "amount_cents": ev.amount_cents,
            "mandate_reference": ev.mandate_reference,
            "link": mails.portal,
        }
        mails.to_parents(s, env, AUTO_TOP_UP, ev.student_id, values)

    def direct_debit_returned(
        s: Session, env: envelope_pb2.Envelope, ev: finance_events.DirectDebitReturned
    ) -> None:
        item = "invoice" if ev.kind == "invoice" else "top_up"  # what was returned
        values = {
            "item": item,
            "amount_cents": ev.amount_cents,
            "invoice_number": ev.invoice_number,
            "invoice_title": "",
            "wallet_name": ev.wallet_name,
            "reason": sepa.return_reason(ev.reason_code),
            "reason_code": sepa.normalized_code(ev.reason_code),
            "mandate_revoked": ev.mandate_revoked,
            "mandate_reference": ev.mandate_reference,
            "communication": "",
            "iban": "",
            "beneficiary": "",
            "link": mails.portal,
        }
        student_name = ""
        if item == "invoice" and ev.invoice_id:
            values["link"] = f"{base}/soldes/factures/{ev.invoice_id}/payer"
            inv = invoice_book.invoice(s, ev.invoice_id)
            if inv is not None and inv.school_id == env.school_id:
                # what it paid is owed again: the reminders' book opens it again (its reminders
                # resume), and gives the mail what a transfer needs
                invoice_book.reopen_invoice(s, ev.invoice_id, ev.amount_cents, rt.clock())
                values |= {
                    "invoice_number": ev.invoice_number or inv.number,
                    "invoice_title": inv.title,
                    "communication": formatting.structured_communication(inv.communication),
                    "iban": inv.iban,
                    "beneficiary": inv.beneficiary or inv.school_name,
                }
                student_name = inv.student_name
        mails.to_parents(s, env, DIRECT_DEBIT_RETURNED, ev.student_id, values, student_name=student_name)

    def refund_created(s: Session, env: envelope_pb2.Envelope, ev: finance_events.RefundCreated) -> None:
        values = {
            "wallet_name": ev.wallet_name,
            "amount_cents": ev.amount_cents,
            "iban_masked": ev.iban_masked,
            "balance_after_cents": ev.balance_after_cents,
            "link": mails.portal,
        }
        mails.to_parents(s, env, REFUND_CREATED, ev.student_id, values)

    def direct_debit_scheduled(
        s: Session, env: envelope_pb2.Envelope, ev: finance_events.DirectDebitScheduled
    ) -> None:
        parents: dict[str, db.Contact] = {}
        own: dict[str, dict[str, str]] = {}  # parent -> {student: their name for the child}
        known: dict[str, str] = {}
        for sid in dict.fromkeys(i.student_id for i in ev.items):
            for p in db.parents_of_student(s, env.school_id, sid):
                parents.setdefault(p.account_id, p)
                own.setdefault(p.account_id, {})[sid] = p.student_name
                if p.student_name:
                    known.setdefault(sid, p.student_name)
        for account_id, p in parents.items():
            if not p.preferences.wants(DIRECT_DEBIT_SCHEDULED):
                continue
            mails.to_address(
                s,
                env,
                DIRECT_DEBIT_SCHEDULED,
                email=p.email,
                name=p.display_name,
                lang=language_or_default(p.preferences.language, p.language),
                account_id=account_id,
                values=scheduled_values(ev, account_id, own[account_id], known) | {"link": mails.portal},
            )
        if ev.parent_account_id and ev.parent_account_id not in parents:  # the signer, as a debtor
            values = scheduled_values(ev, ev.parent_account_id, {}, known) | {"link": mails.portal}
            mails.to_account(s, env, DIRECT_DEBIT_SCHEDULED, ev.parent_account_id, values)

    return {
        "finance.mandate.signed.v1": Binding(finance_events.MandateSigned, mandate_signed),
        "finance.direct_debit.scheduled.v1": Binding(
            finance_events.DirectDebitScheduled, direct_debit_scheduled
        ),
        "finance.auto_top_up.triggered.v1": Binding(finance_events.AutoTopUpTriggered, auto_top_up_triggered),
        "finance.direct_debit.returned.v1": Binding(
            finance_events.DirectDebitReturned, direct_debit_returned
        ),
        "finance.refund.created.v1": Binding(finance_events.RefundCreated, refund_created),
    }
