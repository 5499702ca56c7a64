"""Notifications: a parent's mail preferences, the mails that failed, and the school's events."""

from __future__ import annotations

from datetime import datetime

from cartable.notifications.v1 import notifications_pb2 as pb
from gateway.clients import rpc
from gateway.i18n import LANGUAGES
from gateway.shapes import mail_switches
from gateway.web import field_str
from kit.dates import BRUSSELS
from kit.errors import InvalidRequest


def get_preferences():
    return rpc("notifications", "GetMailPreferences", pb.GetMailPreferencesRequest()).preferences


def update_preferences(values: dict):
    fields = {}
    language = values.get("language")
    if language not in LANGUAGES:
        fields["language"] = "fr | nl | en"
    threshold = values.get("low_balance_threshold_cents", 0)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100_000_00:
        fields["low_balance_threshold_cents"] = "an integer from 0 (no alert) to 10000000"
    flags = {}
    for name in mail_switches():
        value = values.get(name, True)
        if not isinstance(value, bool):
            fields[name] = "true or false"
        flags[name] = value
    if fields:
        raise InvalidRequest("the preferences are not valid", fields=fields)
    prefs = pb.MailPreferences(language=language, low_balance_threshold_cents=threshold, **flags)
    return rpc(
        "notifications", "UpdateMailPreferences", pb.UpdateMailPreferencesRequest(preferences=prefs)
    ).preferences


def list_failed_mails(limit: int, cursor: str = "") -> pb.ListFailedMailsResponse:
    return rpc("notifications", "ListFailedMails", pb.ListFailedMailsRequest(limit=limit, cursor=cursor))


def retry_failed_mail(mail_id: str) -> None:
    rpc("notifications", "RetryFailedMail", pb.RetryFailedMailRequest(mail_id=mail_id))


# -- school events ----------------------------------------------------------------------------------


def list_events(child_id: str, limit: int) -> list[pb.SchoolEvent]:
    return list(
        rpc("notifications", "ListEvents", pb.ListEventsRequest(student_id=child_id, limit=limit)).events
    )


def create_event(title: str, description: str, starts_at: str, ends_at: str, class_names: list[str]) -> str:
    """An event for the whole school (no class names) or some classes; the service checks every field
    at once and names each one that is wrong."""
    req = pb.CreateEventRequest(
        title=title, description=description, starts_at=starts_at, ends_at=ends_at, class_names=class_names
    )
    return rpc("notifications", "CreateEvent", req).id


def school_today() -> str:
    """Today on the school's clock (Europe/Brussels), YYYY-MM-DD: where "upcoming" starts."""
    return datetime.now(BRUSSELS).date().isoformat()


def list_school_events(first: str, last: str) -> list[pb.SchoolEvent]:
    """Staff: the school's events starting on ``first`` .. ``last`` (YYYY-MM-DD, both included, the
    school's days; empty: no bound), soonest first. The service checks the dates."""
    req = pb.ListSchoolEventsRequest(from_date=first, to_date=last)
    return list(rpc("notifications", "ListSchoolEvents", req).events)


def get_event(event_id: str) -> pb.SchoolEvent:
    return rpc("notifications", "GetEvent", pb.GetEventRequest(event_id=event_id)).event


def update_event(event_id: str, data: dict) -> pb.SchoolEvent:
    """Change the fields of POST /api/v1/admin/events that ``data`` has (a JSON body, or the page's
    form as one); the others stay. The service checks the event as it then is."""
    req = pb.UpdateEventRequest(event_id=event_id)
    for name, max_len in (("title", 200), ("description", 5000), ("starts_at", 100), ("ends_at", 100)):
        if name in data:
            setattr(req, name, field_str(data, name, required=False, max_len=max_len))
    if "class_names" in data:
        req.class_names.CopyFrom(pb.EventClasses(names=class_names_of(data)))
    return rpc("notifications", "UpdateEvent", req).event


def delete_event(event_id: str) -> None:
    """Parents no longer see it, from their next read on."""
    rpc("notifications", "DeleteEvent", pb.DeleteEventRequest(event_id=event_id))


def class_names_of(data: dict) -> list[str]:
    """``class_names`` of a body: a list of strings (null or absent: none, the whole school)."""
    classes = data.get("class_names") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidRequest(
            "class_names must be a list of class names", fields={"class_names": "list of strings"}
        )
    return classes


# -- invoice reminders --------------------------------------------------------------------------------


def send_invoice_reminder(invoice_id: str) -> pb.SendInvoiceReminderResponse:
    """Staff: the parents get a reminder of the invoice now (409 already_paid / invoice_cancelled)."""
    return rpc("notifications", "SendInvoiceReminder", pb.SendInvoiceReminderRequest(invoice_id=invoice_id))


def reminders_sent(invoice_ids: list[str]) -> dict[str, int]:
    """Staff: invoice id -> reminders sent, for the admin invoices list."""
    if not invoice_ids:
        return {}
    resp = rpc(
        "notifications", "CountInvoiceReminders", pb.CountInvoiceRemindersRequest(invoice_ids=invoice_ids)
    )
    return dict(resp.reminders_sent)


def reminder_settings() -> pb.ReminderSettings:
    """Staff: the reminder settings notifications holds (whom to contact to spread a payment too)."""
    return rpc("notifications", "GetReminderSettings", pb.GetReminderSettingsRequest()).settings


def update_reminder_settings(reminders: dict) -> None:
    """Staff: the settings' ``reminders`` object (API.md), as finance saved it, kept by notifications
    for its scheduled reminders. Call after finance's UpdateSettings succeeded."""
    settings = pb.ReminderSettings(
        enabled=bool(reminders.get("enabled", False)),
        first_after_days=int(reminders.get("first_after_days", 7)),
        repeat_every_days=int(reminders.get("repeat_every_days", 14)),
        max_count=int(reminders.get("max_count", 3)),
        payment_plan_contact=str(reminders.get("payment_plan_contact", "") or ""),
    )
    rpc("notifications", "UpdateReminderSettings", pb.UpdateReminderSettingsRequest(settings=settings))
