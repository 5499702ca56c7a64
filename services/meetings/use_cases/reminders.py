"""The day-before reminders of standing bookings (``python -m services.meetings remind``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kit.service import Runtime
from services.meetings import db, events
from services.meetings.db import aware
from services.meetings.domain.evening import reminder_due
from services.meetings.use_cases.common import Config, now, utc

log = logging.getLogger("meetings")

# How far ahead to look for meetings: the reminder is due the day before, in any time zone.
HORIZON = timedelta(days=3)


class Reminders:
    def __init__(self, rt: Runtime, config: Config) -> None:
        self.rt = rt
        self.config = config

    def send_due_reminders(self, at: datetime | None = None) -> int:
        """Publish ``meetings.booking.reminder_due.v1`` once per standing booking whose meeting is
        tomorrow (from the reminder hour on). Safe with several runners: a booking is claimed by
        setting ``reminded_at`` only where it is still empty, in the transaction that records the event."""
        at = utc(at) if at else now(self.rt)
        with self.rt.db.unit_of_work() as s:
            candidates = db.reminder_candidates(s, at, at + HORIZON)
        due = [
            c.id
            for c in candidates
            if reminder_due(aware(c.starts_at), aware(c.booked_at), c.timezone, self.config.reminder_hour, at)
        ]
        sent = 0
        for booking_id in due:
            with self.rt.db.unit_of_work() as s:
                if not db.claim_reminder(s, booking_id, at):
                    continue  # another runner took it, or it was cancelled meanwhile
                r = db.booking_view(s, booking_id)
                self.rt.record(s, *events.booking_reminder_due(r), r.school_id)
                sent += 1
        if sent:
            log.info("meeting reminders due", extra={"count": sent})
        return sent
