"""JSON API: a manager sends a reminder of one of the school's invoices now (API.md, "School back
office"). The scheduled reminders need no route: notifications sends them from the settings."""

from __future__ import annotations

from flask import Blueprint

from gateway.calls import notifications
from gateway.openapi import error_responses
from gateway.web import require_staff

bp = Blueprint("api_reminders", __name__)


@bp.post("/api/v1/admin/invoices/<invoice_id>/reminders")
def send_reminder(invoice_id: str):
    require_staff()
    notifications.send_invoice_reminder(invoice_id)
    return "", 202


OPENAPI = {
    "/api/v1/admin/invoices/{id}/reminders": {
        "post": {
            "summary": "Mail the parents a reminder of one of the school's invoices now (at most one a day: "
            "a second call the same day sends nothing more); it counts in the invoice's reminders_sent. "
            "409 already_paid / invoice_cancelled",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "202": {"description": "the reminder is on its way"},
                **error_responses(401, 403, 404, 409, 503),
            },
        },
    },
}
