"""Reminders of overdue invoices: the school's settings, the scheduled round
(``python -m services.notifications remind``), a manager's "send a reminder now", and the counts the
admin invoices list shows.

Where the facts come from. Notifications keeps its own book of invoices from finance's events
(issued: number, total, due date, structured communication, the school's account; payment received:
what is left; cancelled), and the students' levels from auth's. The reminder settings are finance's
(PUT /admin/settings), but finance publishes no settings event and services have no identity of their
own to call finance's staff-only GetSettings from a scheduled job (orders forwards the caller's token;
there is none at schedule time). So the gateway, which has the settings when a manager saves them, also
hands them to notifications (UpdateReminderSettings) and notifications keeps its copy; no copy means
reminders off.

Once per invoice and school day, whatever asks: a reminder is claimed by inserting
(invoice_id, day) into ``invoice_reminders`` in the transaction that queues its mails, so two rounds
at once, a rerun, or a round after a manual send the same day mail once. A manual reminder counts like
an automatic one (towards ``max_count`` and ``reminders_sent``) and restarts the wait.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime

from sqlalchemy.orm import Session

from cartable.events.v1 import envelope_pb2
from cartable.notifications.v1 import notifications_pb2 as pb
from kit.dates import BRUSSELS
from kit.epc import epc_payload
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.notifications import db
from services.notifications import db_reminders as book
from services.notifications.domain.formatting import structured_communication
from services.notifications.domain.mail import INVOICE_REMINDER, language_or_default
from services.notifications.domain.reminders import ReminderSettings, reminder_due, validate_settings
from services.notifications.handlers import MailQueue

log = logging.getLogger("notifications.reminders")

ALREADY_PAID = "already_paid"
INVOICE_CANCELLED = "invoice_cancelled"
_MAIL_IDS = uuid.UUID("5b0c4a52-6f43-4b8e-9c1e-7d1f3f0a2b61")  # namespace of reminder "event" ids


def school_day(at: datetime) -> date:
    return at.astimezone(BRUSSELS).date()


def _settings_message(s: ReminderSettings) -> pb.ReminderSettings:
    return pb.ReminderSettings(
        enabled=s.enabled,
        first_after_days=s.first_after_days,
        repeat_every_days=s.repeat_every_days,
        max_count=s.max_count,
        payment_plan_contact=s.payment_plan_contact,
    )


def _epc_args(inv) -> str | None:
    """kit.epc's arguments for the transfer of what is left, as JSON; None without a usable account."""
    args = {
        "name": inv.beneficiary or inv.school_name,
        "iban": inv.iban,
        "bic": inv.bic or None,
        "amount_cents": inv.open_cents,
        "structured_communication": inv.communication,
    }
    try:
        epc_payload(**args)
    except (ValueError, TypeError):
        return None
    return json.dumps(args)


class Reminders:
    def __init__(self, rt: Runtime, mails: MailQueue | None = None) -> None:
        self.rt = rt
        self.mails = mails or MailQueue(rt)

    # -- settings ---------------------------------------------------------------------------------

    def update_reminder_settings(
        self, who: Identity, req: pb.UpdateReminderSettingsRequest
    ) -> pb.UpdateReminderSettingsResponse:
        """Staff: the school's reminder settings, as saved with finance's settings."""
        who.require_staff()
        r = req.settings
        value = ReminderSettings(
            enabled=r.enabled,
            first_after_days=r.first_after_days,
            repeat_every_days=r.repeat_every_days,
            max_count=r.max_count,
            payment_plan_contact=r.payment_plan_contact.strip(),
        )
        errors = validate_settings(value)
        if errors:
            raise InvalidRequest("the reminder settings are not valid", fields=errors)
        with self.rt.db.unit_of_work() as s:
            book.save_settings(s, who.school_id, value, self.rt.clock())
        return pb.UpdateReminderSettingsResponse(settings=_settings_message(value))

    def get_reminder_settings(self, who: Identity) -> pb.GetReminderSettingsResponse:
        """Staff: the school's reminder settings (off until saved)."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            value = book.school_settings(s, who.school_id)
        return pb.GetReminderSettingsResponse(settings=_settings_message(value))

    # -- sending ----------------------------------------------------------------------------------

    def _remind(self, s: Session, inv, day: date, *, manual: bool) -> int | None:
        """Claim the invoice's reminder of ``day`` and queue one mail per parent; None when that day's
        reminder was already claimed."""
        claimed = book.claim_reminder(
            s,
            invoice_id=inv.invoice_id,
            school_id=inv.school_id,
            day=day.isoformat(),
            manual=manual,
            now=self.rt.clock(),
        )
        if not claimed:
            return None
        settings = book.school_settings(s, inv.school_id)
        count, _last = book.reminders_of(s, [inv.invoice_id]).get(inv.invoice_id, (1, ""))
        contact = settings.payment_plan_contact
        if not contact:
            managers = db.active_managers(s, inv.school_id)
            contact = f"{managers[0].display_name} ({managers[0].email})" if managers else ""
        base = self.rt.settings.public_base_url
        env = envelope_pb2.Envelope(
            event_id=str(uuid.uuid5(_MAIL_IDS, f"{inv.invoice_id}:{day.isoformat()}")),
            school_id=inv.school_id,
        )
        values = {
            "number": inv.number,
            "title": inv.title,
            "total_cents": inv.total_cents,
            "open_cents": inv.open_cents,
            "due_on": inv.due_on,
            "communication": structured_communication(inv.communication),
            "beneficiary": inv.beneficiary or inv.school_name,
            "iban": inv.iban,
            "bic": inv.bic,
            "school_name": inv.school_name,
            "link": f"{base}/soldes/factures/{inv.invoice_id}/payer",
            "secondary": book.level_of(s, inv.student_id) == "secondary",
            "contact": contact,
            "count": count,
        }
        epc = _epc_args(inv)
        values["epc"] = epc is not None
        queued = 0
        for parent in db.parents_of_student(s, inv.school_id, inv.student_id):
            if not parent.preferences.wants(INVOICE_REMINDER):
                continue
            queued += self.mails.to_address(
                s,
                env,
                INVOICE_REMINDER,
                email=parent.email,
                name=parent.display_name,
                lang=language_or_default(parent.preferences.language, parent.language),
                account_id=parent.account_id,
                student_id=inv.student_id,
                values={"student": parent.student_name or inv.student_name, **values},
                epc_qr=epc,
            )
        log.info(
            "invoice reminder queued",
            extra={"invoice_id": inv.invoice_id, "manual": manual, "mails": queued, "reminder": count},
        )
        return queued

    def send_invoice_reminder(self, who: Identity, invoice_id: str) -> pb.SendInvoiceReminderResponse:
        """Staff: remind the parents of one of the school's invoices now (once a day at most)."""
        who.require_staff()
        day = school_day(self.rt.clock())
        with self.rt.db.unit_of_work() as s:
            inv = book.invoice(s, invoice_id) if invoice_id else None
            if inv is None or inv.school_id != who.school_id:
                raise NotFound("no such invoice")
            if inv.status == book.PAID:
                raise Conflict("this invoice is paid", code=ALREADY_PAID)
            if inv.status == book.CANCELLED:
                raise Conflict("this invoice was cancelled", code=INVOICE_CANCELLED)
            queued = self._remind(s, inv, day, manual=True)
            count, _last = book.reminders_of(s, [invoice_id]).get(invoice_id, (0, ""))
        return pb.SendInvoiceReminderResponse(
            sent=queued is not None, reminders_sent=count, mails_queued=queued or 0
        )

    def count_invoice_reminders(
        self, who: Identity, invoice_ids: list[str]
    ) -> pb.CountInvoiceRemindersResponse:
        """Staff: reminders sent per invoice (0 for an invoice not yet in the book)."""
        who.require_staff()
        ids = list(dict.fromkeys(i for i in invoice_ids if i))
        if len(ids) > 1000:
            raise InvalidRequest("at most 1000 invoices", fields={"invoice_ids": "at most 1000"})
        with self.rt.db.unit_of_work() as s:
            for i in ids:
                inv = book.invoice(s, i)
                if inv is not None and inv.school_id != who.school_id:
                    raise NotFound("no such invoice")
            counts = book.reminders_of(s, ids)
        return pb.CountInvoiceRemindersResponse(reminders_sent={i: counts.get(i, (0, ""))[0] for i in ids})

    @staticmethod
    def _due(settings: ReminderSettings, inv, day: date, history: dict) -> bool:
        count, last = history.get(inv.invoice_id, (0, ""))
        last_on = date.fromisoformat(last) if last else None
        return reminder_due(settings, date.fromisoformat(inv.due_on), day, count, last_on)

    def send_due_reminders(self, at: datetime | None = None) -> int:
        """The scheduled round: each open invoice of a school with reminders on gets its reminder when
        due today (domain.reminders.reminder_due); one transaction per invoice. Answers how many
        reminders were sent."""
        day = school_day(at or self.rt.clock())
        with self.rt.db.unit_of_work() as s:
            candidates = book.open_overdue(s, day.isoformat())
            history = book.reminders_of(s, [c.invoice_id for c in candidates])
            settings = {c.school_id: book.school_settings(s, c.school_id) for c in candidates}
        sent = 0
        for c in candidates:
            if not self._due(settings[c.school_id], c, day, history):
                continue
            with self.rt.db.unit_of_work() as s:
                inv = book.invoice(s, c.invoice_id)  # paid or cancelled meanwhile: nothing
                if inv is None or inv.status != book.OPEN:
                    continue
                # read again in this transaction: a manual reminder may have gone meanwhile
                if not self._due(settings[c.school_id], inv, day, book.reminders_of(s, [inv.invoice_id])):
                    continue
                if self._remind(s, inv, day, manual=False) is not None:
                    sent += 1
        if sent:
            log.info("invoice reminders sent", extra={"count": sent})
        return sent
