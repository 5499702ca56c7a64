"""Notifications' part of the record of processing (GDPR art. 30, issue #21): what personal data each of
its tables holds, why, on what basis and for how long (``kit.privacy``; ``docs/privacy.md`` is generated
from it). Retention says what the code does today: the mail log is purged only when auth erases a family
(``auth.family.erased.v1``, ``family_data.py``), and the bodies of sensitive mails (sign-in links) are
emptied once sent or given up.

Not personal: ``school_events`` (the school's calendar: titles, descriptions, dates, classes) and
``inbox`` (only the ids and names of the events handled)."""

from __future__ import annotations

from kit.privacy import Processing, Record

RECORD = Record(
    service="notifications",
    processing=(
        Processing(
            data=(
                "The contact book as auth announces it: each parent's account id, e-mail address, display "
                "name and language, and their children's student ids and names; each parent's mail "
                "choices (language, kinds of mail, low-balance threshold); each staff account's e-mail "
                "address, display name, language and whether it is disabled."
            ),
            tables=("contacts", "contact_students", "mail_preferences", "managers"),
            purpose=(
                "Address the school's mails about a student to that student's parents in their language "
                "and as they chose, and the security notices to the school's managers."
            ),
            legal_basis=(
                "Public task (art. 6.1.e): the school informing families; legitimate interest "
                "(art. 6.1.f) for the managers' security notices."
            ),
            retention=(
                "Each auth event overwrites the contact; a parent the school disables leaves contacts and "
                "contact_students at once, but their mail preferences stay, and a disabled staff account "
                "stays, marked disabled. When auth erases a family (auth.family.erased.v1: on a manager's request "
                "or by the school's retention policy), the parents' contacts and mail preferences and the "
                "erased children's entries are deleted at once; staff accounts are not part of it."
            ),
        ),
        Processing(
            data=(
                "Every mail queued, sent or given up: the recipient's e-mail address and name, account "
                "and student ids, language, kind, subject, the text and HTML bodies (which may name the "
                "child and hold amounts, invoice details, a payment QR code's IBAN and communication), "
                "the SMTP error, attempts and dates."
            ),
            tables=("outgoing_mails",),
            purpose=(
                "Send the school's mails reliably (retries, one mail per event and address), and show "
                "staff the mails that failed so they can send them again."
            ),
            legal_basis=(
                "Those of the mail's subject: public task (art. 6.1.e) for school information, contract "
                "(art. 6.1.b) for orders, bookings and payments."
            ),
            retention=(
                "Sensitive mails (sign-in links) have their bodies emptied once sent or given up; every "
                "other row, bodies included, is kept until the family is erased: auth.family.erased.v1 deletes every "
                "mail to the erased parents (one not yet sent is dropped, never sent) and every mail about "
                "the erased children. Nothing else purges the mail log."
            ),
            recipients=(
                "The addressee; the school's staff for failed mails; the SMTP relay (SMTP_URL) that "
                "delivers every mail."
            ),
        ),
        Processing(
            data=(
                "Invoices issued by finance, for reminders: the student id and name, number, title, "
                "total and open amount, due date, structured communication, the school's beneficiary, "
                "IBAN and BIC, status; each reminder sent (day, manual or not); each student's level "
                "(primary or secondary); the payment-plan contact text the school sets."
            ),
            tables=("reminder_invoices", "invoice_reminders", "student_levels", "reminder_settings"),
            purpose=(
                "Remind parents of unpaid invoices on the school's schedule, and tell a secondary "
                "school's families that spreading the payment is possible."
            ),
            legal_basis="Public task (art. 6.1.e): the school collecting the school costs it must charge.",
            retention=(
                "An invoice stays after it is paid or cancelled (its status changes); a student's level "
                "is overwritten by auth's events. A family's erasure (auth.family.erased.v1) deletes the erased "
                "children's invoices, their reminders and their levels (finance keeps the accounting "
                "records)."
            ),
        ),
        Processing(
            data=(
                "Event payloads waiting to be published or recently published (a mail given up: its id, "
                "kind, the recipient's account id and the error)."
            ),
            tables=("outbox",),
            purpose="Publish notifications' events to the other services reliably.",
            legal_basis="Those of the mail the event is about (above).",
            retention=(
                "Published events are deleted 7 days after publication (kit.bus.OUTBOX_RETENTION; pending "
                "ones stay until published) by the daily purge job (kit.service.purge); a family's erasure deletes "
                "every published event at once (kit.family_data.purge_published)."
            ),
            recipients="The services subscribed to notifications' events.",
        ),
    ),
    not_personal=("school_events", "inbox"),
)
