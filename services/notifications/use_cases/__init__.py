"""Use cases of the notifications service, one module per capability, one unit of work each.

- school_events: the school's calendar, published, listed, changed and deleted by staff and read by parents
- mails: a parent's choice of mails; the mails that could not be sent, for staff to retry
- reminders: reminders of overdue invoices (settings, the scheduled round, "send one now", counts)

The mails themselves are queued by handlers.py (reactions to other services' events) and sent by
mailer.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.notifications.use_cases.mails import Mails
from services.notifications.use_cases.reminders import Reminders
from services.notifications.use_cases.school_events import SchoolEvents


@dataclass(frozen=True)
class UseCases:
    """Every use case of the service, as app.py builds them."""

    school_events: SchoolEvents
    mails: Mails
    reminders: Reminders
