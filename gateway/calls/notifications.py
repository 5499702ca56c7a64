"""Notifications: a parent's mail preferences, the mails that failed, and the school's events."""

from __future__ import annotations

from cartable.notifications.v1 import notifications_pb2 as pb
from gateway.clients import rpc
from gateway.i18n import LANGUAGES
from gateway.shapes import mail_switches
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
