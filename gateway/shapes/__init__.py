"""Every JSON shape of API.md, written once: a service's protobuf message in, the API's dict out.

Pure functions (no Flask, no service call), used by the API routes, by the dashboard's fan-out and by
the order pages (which render the catalog shape); outside ``gateway.api`` so that those import it
without loading every API area. The OpenAPI schema of each shape sits with the routes that answer it
(``OPENAPI`` / ``SCHEMAS`` of each ``gateway.api`` module).
"""

from __future__ import annotations

from gateway.shapes.accounts import (
    child_json as child_json,
)
from gateway.shapes.accounts import (
    failed_mail_json as failed_mail_json,
)
from gateway.shapes.accounts import (
    mail_switches as mail_switches,
)
from gateway.shapes.accounts import (
    parent_json as parent_json,
)
from gateway.shapes.accounts import (
    prefs_json as prefs_json,
)
from gateway.shapes.accounts import (
    security_settings_json as security_settings_json,
)
from gateway.shapes.accounts import (
    session_json as session_json,
)
from gateway.shapes.accounts import (
    staff_json as staff_json,
)
from gateway.shapes.finance import (
    auto_top_up_json as auto_top_up_json,
)
from gateway.shapes.finance import (
    credit_note_json as credit_note_json,
)
from gateway.shapes.finance import (
    invoice_json as invoice_json,
)
from gateway.shapes.finance import (
    operation_json as operation_json,
)
from gateway.shapes.finance import (
    payment_json as payment_json,
)
from gateway.shapes.finance import (
    sale_line_json as sale_line_json,
)
from gateway.shapes.finance import (
    settings_json as settings_json,
)
from gateway.shapes.finance import (
    started_payment_json as started_payment_json,
)
from gateway.shapes.finance import (
    statement_json as statement_json,
)
from gateway.shapes.finance import (
    transfer_json as transfer_json,
)
from gateway.shapes.finance import (
    unmatched_json as unmatched_json,
)
from gateway.shapes.finance import (
    wallet_json as wallet_json,
)
from gateway.shapes.finance import (
    wallet_type_json as wallet_type_json,
)
from gateway.shapes.meetings import (
    booking_json as booking_json,
)
from gateway.shapes.meetings import (
    evening_json as evening_json,
)
from gateway.shapes.meetings import (
    evening_summary_json as evening_summary_json,
)
from gateway.shapes.meetings import (
    open_evening_json as open_evening_json,
)
from gateway.shapes.meetings import (
    schedule_json as schedule_json,
)
from gateway.shapes.meetings import (
    slot_json as slot_json,
)
from gateway.shapes.meetings import (
    teacher_json as teacher_json,
)
from gateway.shapes.school import (
    album_json as album_json,
)
from gateway.shapes.school import (
    catalog_json as catalog_json,
)
from gateway.shapes.school import (
    document_json as document_json,
)
from gateway.shapes.school import (
    event_json as event_json,
)
from gateway.shapes.school import (
    latest_documents_json as latest_documents_json,
)
from gateway.shapes.school import (
    period_json as period_json,
)
from gateway.shapes.school import (
    photo_json as photo_json,
)
from gateway.shapes.school import (
    summary_json as summary_json,
)
from gateway.shapes.school import (
    unpaid_invoices_json as unpaid_invoices_json,
)
from gateway.shapes.school import (
    upcoming_booking_json as upcoming_booking_json,
)
