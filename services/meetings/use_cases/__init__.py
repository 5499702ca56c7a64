"""Use cases of the meetings service, one module per capability, one unit of work each.

- evenings: staff set up an evening and read its schedule
- booking: parents see the open evenings, book, cancel and list their bookings
- reminders: the day-before reminders
"""

from __future__ import annotations

from dataclasses import dataclass

from services.meetings.use_cases.booking import Booking
from services.meetings.use_cases.evenings import Evenings
from services.meetings.use_cases.reminders import Reminders


@dataclass(frozen=True)
class UseCases:
    """Every use case of the service, as app.py builds them."""

    evenings: Evenings
    booking: Booking
    reminders: Reminders
