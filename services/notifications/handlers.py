"""Reactions to other services' events: the contact books (parents, managers), and the mails that keep
parents informed and tell managers what touches the school's money.

Each handler runs inside the consumer's transaction (the inbox makes it once per event) and only
inserts pending rows into ``outgoing_mails``; the mailer sends them. The unique key (event_id, kind,
recipient) keeps a redelivered event from making a second mail even if the inbox were bypassed.
Nothing here logs a mail's body or a connection token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import make_msgid, parseaddr

from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import events_pb2 as documents_events
from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import events_pb2 as finance_events
from cartable.meetings.v1 import events_pb2 as meetings_events
from cartable.orders.v1 import events_pb2 as orders_events
from kit.bus import Binding
from kit.service import Runtime
from services.notifications import db
from services.notifications import db_reminders as invoice_book
from services.notifications.domain import formatting
from services.notifications.domain.mail import (
    DOCUMENT_DEPOSITED,
    IBAN_CHANGED,
    INVOICE_ISSUED,
    LOW_BALANCE,
    MEETING_BOOKED,
    MEETING_CANCELLED,
    MEETING_REMINDER,
    ORDER_PLACED,
    PAYMENT_RECEIVED,
    SENSITIVE_KINDS,
    TOKEN,
    Preferences,
    language_or_default,
)
from services.notifications.rendering import MailRenderer

log = logging.getLogger("notifications.handlers")

TOKEN_REASONS = ("created", "reissued", "password_reset")


def _still_before(rfc3339: str, now: datetime) -> bool:
    """Whether ``now`` is before the instant (a booking still cancellable); False when unreadable."""
    try:
        limit = datetime.fromisoformat(rfc3339)
    except (TypeError, ValueError):
        return False
    return limit.tzinfo is not None and now < limit


def message_id_domain(mail_from: str) -> str:
    _name, address = parseaddr(mail_from)
    return address.rpartition("@")[2] or "cartable.local"


class MailQueue:
    """Renders a mail for one recipient and queues it in the caller's transaction."""

    def __init__(self, rt: Runtime, renderer: MailRenderer | None = None) -> None:
        self.rt = rt
        self.renderer = renderer or MailRenderer()
        self.domain = message_id_domain(rt.settings.mail_from)

    @property
    def portal(self) -> str:
        return self.rt.settings.public_base_url + "/"

    def to_address(
        self,
        s: Session,
        env: envelope_pb2.Envelope,
        kind: str,
        *,
        email: str,
        name: str,
        lang: str,
        account_id: str | None = None,
        student_id: str | None = None,
        values: dict,
        epc_qr: str | None = None,
    ) -> bool:
        email = (email or "").strip()
        if not email:
            log.warning(
                "no address for a mail, nothing queued", extra={"kind": kind, "account_id": account_id}
            )
            return False
        rendered = self.renderer.render(kind, lang, name=name, **values)
        now = self.rt.clock()
        mail_id = str(uuid.uuid4())
        queued = db.queue_mail(
            s,
            id=mail_id,
            school_id=env.school_id,
            event_id=env.event_id,
            kind=kind,
            recipient=email,
            recipient_name=name,
            account_id=account_id or None,
            student_id=student_id or None,
            language=lang,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            sensitive=kind in SENSITIVE_KINDS,
            message_id=make_msgid(domain=self.domain),
            next_attempt_at=now,
            created_at=now,
            epc_qr=epc_qr,
        )
        if queued:
            log.info("mail queued", extra={"mail_id": mail_id, "kind": kind, "language": lang})
        return queued

    def to_parents(
        self,
        s: Session,
        env: envelope_pb2.Envelope,
        kind: str,
        student_id: str,
        values: dict,
        *,
        student_name: str = "",
        also: Callable[[db.Contact], dict | None] | None = None,
    ) -> int:
        """One mail per parent of ``student_id`` who wants this kind. ``also`` may refuse a parent
        (None) or add values for them (the low-balance threshold)."""
        sent = 0
        for parent in db.parents_of_student(s, env.school_id, student_id):
            if not parent.preferences.wants(kind):
                continue
            extra = also(parent) if also else {}
            if extra is None:
                continue
            lang = language_or_default(parent.preferences.language, parent.language)
            self.to_address(
                s,
                env,
                kind,
                email=parent.email,
                name=parent.display_name,
                lang=lang,
                account_id=parent.account_id,
                student_id=student_id,
                values={"student": parent.student_name or student_name, **values, **extra},
            )
            sent += 1
        return sent

    def to_account(
        self,
        s: Session,
        env: envelope_pb2.Envelope,
        kind: str,
        account_id: str,
        values: dict,
        *,
        student_id: str = "",
    ) -> bool:
        """One mail to the parent ``account_id`` of the contact book, if they want this kind. An
        account the book does not know (or of another school) gets nothing: there is no address."""
        contact, prefs = db.contact_of(s, account_id) if account_id else (None, Preferences())
        if contact is None or contact["school_id"] != env.school_id:
            log.warning(
                "account not in the contact book, nothing queued",
                extra={"kind": kind, "account_id": account_id},
            )
            return False
        if not prefs.wants(kind):
            return False
        lang = language_or_default(prefs.language, contact["language"])
        self.to_address(
            s,
            env,
            kind,
            email=contact["email"],
            name=contact["display_name"],
            lang=lang,
            account_id=account_id,
            student_id=student_id,
            values=values,
        )
        return True

    def to_managers(self, s: Session, env: envelope_pb2.Envelope, kind: str, values: dict) -> int:
        """One mail to each active manager of the event's school (the managers' book), in their
        language; a disabled one gets nothing. Security notices: no preference turns them off."""
        sent = 0
        for m in db.active_managers(s, env.school_id):
            self.to_address(
                s,
                env,
                kind,
                email=m.email,
                name=m.display_name,
                lang=m.language,
                account_id=m.account_id,
                values=values,
            )
            sent += 1
        return sent


def bindings(rt: Runtime) -> dict[str, Binding]:
    mails = MailQueue(rt)

    def parent_created(s: Session, env, ev: auth_events.ParentCreated) -> None:
        if ev.disabled:  # the school disabled the account: out of the contact book, no more mails
            db.remove_contact(s, ev.account_id)
            return
        names = dict(ev.student_names)
        db.upsert_contact(
            s,
            account_id=ev.account_id,
            school_id=env.school_id,
            email=ev.email,
            display_name=ev.display_name,
            language=language_or_default(ev.language),
            students={sid: names.get(sid, "") for sid in ev.student_ids},
            now=rt.clock(),
        )

    def staff_updated(s: Session, env, ev: auth_events.StaffUpdated) -> None:
        # Unlike a disabled parent, a disabled manager stays in the book, marked: the security mails
        # skip them, and the actor's name of an IBAN change they made earlier is still known.
        db.upsert_manager(
            s,
            account_id=ev.account_id,
            school_id=env.school_id,
            email=ev.email,
            display_name=ev.display_name,
            language=language_or_default(ev.language),
            disabled=ev.disabled,
            now=rt.clock(),
        )

    def token_issued(s: Session, env, ev: auth_events.TokenIssued) -> None:
        contact, prefs = db.contact_of(s, ev.account_id) if ev.account_id else (None, None)
        lang = language_or_default(
            prefs.language if prefs else None, ev.language, contact["language"] if contact else None
        )
        valid_until = ""
        if ev.expires_at:
            valid_until = formatting.local_instant(datetime.fromtimestamp(ev.expires_at, UTC), lang)
        mails.to_address(
            s,
            env,
            TOKEN,
            email=ev.email,
            name=ev.display_name,
            lang=lang,
            account_id=ev.account_id,
            values={
                "username": ev.username,
                "token": ev.token,
                "reason": ev.reason if ev.reason in TOKEN_REASONS else "created",
                "valid_until": valid_until,
                "link": rt.settings.public_base_url + "/jeton",
            },
        )

    def iban_changed(s: Session, env, ev: finance_events.IbanChanged) -> None:
        # Whoever changed it is named when the book knows them; the template says "a member of the
        # staff" otherwise. The IBANs arrive masked and stay so.
        values = {
            "school_name": ev.school_name,
            "old_iban": ev.old_iban_masked,
            "new_iban": ev.new_iban_masked,
            "actor": db.manager_name(s, env.school_id, ev.account_id) if ev.account_id else "",
            "changed_at": ev.changed_at or env.occurred_at.ToDatetime(tzinfo=UTC).isoformat(),
            "link": rt.settings.public_base_url + "/mot-de-passe",
        }
        if not mails.to_managers(s, env, IBAN_CHANGED, values):
            log.warning(
                "the IBAN changed but the school has no manager to tell", extra={"kind": IBAN_CHANGED}
            )

    def document_deposited(s: Session, env, ev: documents_events.DocumentDeposited) -> None:
        mails.to_parents(s, env, DOCUMENT_DEPOSITED, ev.student_id, {"title": ev.title, "link": mails.portal})

    def invoice_issued(s: Session, env, ev: finance_events.InvoiceIssued) -> None:
        invoice_book.record_invoice(  # the reminders' book of invoices
            s,
            invoice_id=ev.invoice_id,
            now=rt.clock(),
            school_id=env.school_id,
            student_id=ev.student_id,
            number=ev.number,
            title=ev.title,
            student_name=ev.student_name,
            total_cents=ev.total_cents,
            open_cents=ev.total_cents,
            due_on=ev.due_on,
            communication=ev.structured_communication,
            school_name=ev.school_name,
            beneficiary=ev.beneficiary,
            iban=ev.iban,
            bic=ev.bic,
        )
        mails.to_parents(
            s,
            env,
            INVOICE_ISSUED,
            ev.student_id,
            {
                "number": ev.number,
                "title": ev.title,
                "total_cents": ev.total_cents,
                "credit_cents": ev.credit_cents,
                "due_on": ev.due_on,
                "communication": formatting.structured_communication(ev.structured_communication),
                "link": mails.portal,
            },
            student_name=ev.student_name,
        )

    def low_balance(s, env, student_id: str, wallet_name: str, before: int, after: int) -> None:
        def crossed(parent: db.Contact) -> dict | None:
            if not parent.preferences.balance_fell_below_threshold(before, after):
                return None
            return {"threshold_cents": parent.preferences.low_balance_threshold_cents}

        mails.to_parents(
            s,
            env,
            LOW_BALANCE,
            student_id,
            {"wallet_name": wallet_name, "balance_cents": after, "link": mails.portal},
            also=crossed,
        )

    def invoice_cancelled(s: Session, env, ev: finance_events.InvoiceCancelled) -> None:
        invoice_book.cancel_invoice(s, ev.invoice_id, rt.clock())  # no reminder after a cancellation

    def student_level(s: Session, env, ev) -> None:
        if ev.level:  # a secondary school's reminder says that the payment may be spread
            invoice_book.set_level(s, ev.student_id, ev.level, rt.clock())

    def payment_received(s: Session, env, ev: finance_events.PaymentReceived) -> None:
        if ev.invoice_id:
            invoice_book.record_payment(s, ev.invoice_id, ev.amount_cents, rt.clock())
        has_balance = ev.HasField("balance_after_cents")
        mails.to_parents(
            s,
            env,
            PAYMENT_RECEIVED,
            ev.student_id,
            {
                "amount_cents": ev.amount_cents,
                "method": ev.method,
                "purpose": ev.purpose,
                "wallet_name": ev.wallet_name,
                "invoice_number": ev.invoice_number,
                "balance_after_cents": ev.balance_after_cents if has_balance else None,
                "link": mails.portal,
            },
        )
        if ev.method == "wallet" and has_balance:  # paid from the wallet: its balance went down
            after = ev.balance_after_cents
            low_balance(s, env, ev.student_id, ev.wallet_name, after + ev.amount_cents, after)

    def order_placed(s: Session, env, ev: orders_events.OrderPlaced) -> None:
        mails.to_parents(
            s,
            env,
            ORDER_PLACED,
            ev.student_id,
            {
                "period_title": ev.period_title,
                "items": [
                    {"subject": i.subject, "title": i.title, "type": i.type, "price_cents": i.price_cents}
                    for i in ev.items
                ],
                "credit_cents": ev.credit_cents,
                "total_cents": ev.grand_total_cents,
                "link": mails.portal,
            },
        )

    def to_booking_parent(s: Session, env, kind: str, b: meetings_events.BookingDetails, **extra) -> None:
        # The mail goes to the parent who booked (two parents living apart book separately). Times stay
        # RFC 3339 here; the templates show them in the school's zone and the parent's language.
        values = {
            "student": b.child_name,
            "class_name": b.class_name,
            "teacher": b.teacher_name,
            "room": b.room,
            "evening_title": b.evening_title,
            "starts_at": b.starts_at,
            "ends_at": b.ends_at,
            "timezone": b.timezone,
            "closes_at": b.closes_at,
            "can_cancel": _still_before(b.closes_at, rt.clock()),
            "link": rt.settings.public_base_url + "/reunions",
            **extra,
        }
        mails.to_account(s, env, kind, b.parent_account_id, values, student_id=b.student_id)

    def booking_confirmed(s: Session, env, ev: meetings_events.BookingConfirmed) -> None:
        to_booking_parent(s, env, MEETING_BOOKED, ev.booking)

    def booking_cancelled(s: Session, env, ev: meetings_events.BookingCancelled) -> None:
        by_recipient = ev.cancelled_by_account_id in ("", ev.booking.parent_account_id)
        to_booking_parent(s, env, MEETING_CANCELLED, ev.booking, by_recipient=by_recipient)

    def booking_reminder_due(s: Session, env, ev: meetings_events.BookingReminderDue) -> None:
        to_booking_parent(s, env, MEETING_REMINDER, ev.booking)

    def sale_recorded(s: Session, env, ev: finance_events.SaleRecorded) -> None:
        # A purchase debits the wallet: the only mail it can cause is the low-balance alert.
        low_balance(
            s,
            env,
            ev.student_id,
            ev.wallet_name,
            ev.balance_after_cents + ev.amount_cents,
            ev.balance_after_cents,
        )

    return {
        "auth.parent.created.v1": Binding(auth_events.ParentCreated, parent_created),
        # the same parent as they are now (a child linked later, the account disabled or enabled):
        # the contact book follows
        "auth.parent.updated.v1": Binding(auth_events.ParentCreated, parent_created),
        # a staff account created, changed, disabled or enabled: the managers' contact book follows
        "auth.staff.updated.v1": Binding(auth_events.StaffUpdated, staff_updated),
        "auth.token.issued.v1": Binding(auth_events.TokenIssued, token_issued),
        "documents.document.deposited.v1": Binding(documents_events.DocumentDeposited, document_deposited),
        "finance.invoice.issued.v1": Binding(finance_events.InvoiceIssued, invoice_issued),
        "finance.invoice.cancelled.v1": Binding(finance_events.InvoiceCancelled, invoice_cancelled),
        "auth.student.created.v1": Binding(auth_events.StudentCreated, student_level),
        "auth.student.updated.v1": Binding(auth_events.StudentUpdated, student_level),
        "finance.settings.iban_changed.v1": Binding(finance_events.IbanChanged, iban_changed),
        "finance.payment.received.v1": Binding(finance_events.PaymentReceived, payment_received),
        "finance.sale.recorded.v1": Binding(finance_events.SaleRecorded, sale_recorded),
        "orders.order.placed.v1": Binding(orders_events.OrderPlaced, order_placed),
        "meetings.booking.confirmed.v1": Binding(meetings_events.BookingConfirmed, booking_confirmed),
        "meetings.booking.cancelled.v1": Binding(meetings_events.BookingCancelled, booking_cancelled),
        "meetings.booking.reminder_due.v1": Binding(meetings_events.BookingReminderDue, booking_reminder_due),
    }
