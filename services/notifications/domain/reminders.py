"""Pure rules of overdue-invoice reminders: the school's settings, and whether one is due today.

The wait is counted from the due date for the first reminder, then from the previous reminder
(automatic or manual: a manager who just sent one by hand does not see a second one go the next
morning). A day is a day of the school's calendar (Europe/Brussels); at most one reminder a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class ReminderSettings:
    """A school's choice; no choice saved means reminders off."""

    enabled: bool = False
    first_after_days: int = 7
    repeat_every_days: int = 14
    max_count: int = 3
    payment_plan_contact: str = ""


def validate_settings(s: ReminderSettings) -> dict[str, str]:
    """Field errors (empty when valid)."""
    errors = {}
    for name, low, high in (
        ("first_after_days", 1, 365),
        ("repeat_every_days", 1, 365),
        ("max_count", 1, 20),
    ):
        value = getattr(s, name)
        if not low <= value <= high:
            errors[name] = f"an integer from {low} to {high}"
    if len(s.payment_plan_contact) > 300:
        errors["payment_plan_contact"] = "at most 300 characters"
    return errors


def reminder_due(
    settings: ReminderSettings, due_on: date, today: date, sent_count: int, last_sent_on: date | None
) -> bool:
    """Whether an open invoice due on ``due_on`` gets its automatic reminder ``today``."""
    if not settings.enabled or sent_count >= settings.max_count:
        return False
    if today < due_on + timedelta(days=settings.first_after_days):
        return False
    if last_sent_on is not None:
        if last_sent_on >= today:  # never twice the same day
            return False
        if today < last_sent_on + timedelta(days=settings.repeat_every_days):
            return False
    return True
