"""Every JSON shape of API.md, written once: a service's protobuf message in, the API's dict out.

Pure functions (no Flask, no service call), used by the API routes, by the dashboard's fan-out and by
the order pages (which render the catalog shape); outside ``gateway.api`` so that those import it
without loading every API area. The OpenAPI schema of each shape sits with the routes that answer it
(``OPENAPI`` / ``SCHEMAS`` of each ``gateway.api`` module).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from cartable.notifications.v1 import notifications_pb2

# -- accounts ---------------------------------------------------------------------------------------


def child_json(c) -> dict[str, str]:
    return {
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "class_name": c.class_name,
        "school_name": c.school_name,
    }


def session_json(sess) -> dict[str, Any]:
    """The session object of API.md."""
    return {
        "session_token": sess.session_token,
        "csrf_token": sess.csrf_token,
        "account": {
            "id": sess.account.id,
            "display_name": sess.account.display_name,
            "role": sess.account.role,
        },
        "children": [child_json(c) for c in sess.children],
        "active_child_id": sess.active_child_id or None,
    }


def parent_json(p) -> dict[str, Any]:
    """API.md's parent (auth's ParentContact); status invited | active | disabled."""
    names = ("id", "first_name", "last_name", "email", "username", "status")
    return {**{n: getattr(p, n) for n in names}, "student_ids": list(p.student_ids)}


def staff_json(m) -> dict[str, Any]:
    """An item of GET /api/v1/admin/staff (auth's StaffMember)."""
    return {n: getattr(m, n) for n in ("id", "first_name", "last_name", "email", "username", "status")}


# -- finance: wallets, invoices, operations, sales ------------------------------------------------


def wallet_json(w) -> dict[str, Any]:
    return {
        "id": w.id,
        "name": w.name,
        "balance_cents": w.balance_cents,
        "structured_communication": w.structured_communication,
    }


def invoice_json(i, *, with_lines: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": i.id,
        "number": i.number,
        "title": i.title,
        "issued_on": i.issued_on,
        "due_on": i.due_on,
        "total_cents": i.total_cents,
        "paid_cents": i.paid_cents,
        "status": i.status,
        "structured_communication": i.structured_communication,
    }
    if with_lines:
        out["student_id"] = i.student_id
        out["credit_cents"] = i.credit_cents
        out["lines"] = [
            {
                "label": ln.label,
                "quantity": ln.quantity,
                "unit_price_cents": ln.unit_price_cents,
                "amount_cents": ln.amount_cents,
            }
            for ln in i.lines
        ]
    return out


def credit_note_json(note, invoice) -> dict[str, Any]:
    return {
        "id": note.id,
        "number": note.number,
        "invoice_id": note.invoice_id,
        "reason": note.reason,
        "credited_cents": note.credited_cents,
        "created_at": note.created_at,
        "invoice": invoice_json(invoice),
    }


def settings_json(st) -> dict[str, Any]:
    return {
        "iban": st.iban,
        "bic": st.bic,
        "beneficiary": st.beneficiary,
        "top_up_methods": list(st.top_up_methods),
        "internal_wallet_payments": st.internal_wallet_payments,
        "online_payment_for_orders": st.online_payment_for_orders,
        "school_name": st.school_name,
    }


def wallet_type_json(t) -> dict[str, str]:
    return {"id": t.id, "name": t.name}


def operation_json(o) -> dict[str, Any]:
    return {
        "id": o.id,
        "at": o.at,
        "type": o.type,
        "label": o.label,
        "amount_cents": o.amount_cents,
        "payment_method": o.payment_method or None,
        "wallet_id": o.wallet_id,
        "wallet_name": o.wallet_name,
    }


def sale_line_json(ln) -> dict[str, Any]:
    return {
        "id": ln.id,
        "at": ln.at,
        "label": ln.label,
        "quantity": ln.quantity,
        "unit_price_cents": ln.unit_price_cents,
        "amount_cents": ln.amount_cents,
        "wallet_id": ln.wallet_id,
        "wallet_name": ln.wallet_name,
        "sale_id": ln.sale_id,
        "student_id": ln.student_id,
    }


# -- finance: paying for real -----------------------------------------------------------------------


def payment_json(p) -> dict[str, Any]:
    return {
        "id": p.id,
        "status": p.status,
        "amount_cents": p.amount_cents,
        "purpose": p.purpose,
        "method": p.method,
        "wallet_id": p.wallet_id or None,
        "invoice_id": p.invoice_id or None,
        "created_at": p.created_at,
        "paid_at": p.paid_at or None,
    }


def started_payment_json(resp) -> dict[str, Any]:
    """An online payment just started (``StartPaymentResponse``): where to send the payer."""
    return {
        "payment_id": resp.payment.id,
        "checkout_url": resp.checkout_url or None,
        "status": resp.payment.status,
        "amount_cents": resp.payment.amount_cents,
        "purpose": resp.payment.purpose,
    }


def transfer_json(t, *, with_amount: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iban": t.iban,
        "bic": t.bic,
        "beneficiary": t.beneficiary,
        "structured_communication": t.structured_communication,
        "epc_qr_svg": t.epc_qr_svg or None,
        "epc_payload": t.epc_payload or None,
    }
    if with_amount:
        out["amount_cents"] = t.amount_cents
        out["open_amount_cents"] = t.amount_cents
    return out


def statement_json(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "format": r.format,
        "filename": r.filename,
        "statements": r.statements,
        "accounts": list(r.accounts),
        "movements": r.movements,
        "credited": r.credited,
        "unmatched": r.unmatched,
        "duplicates": r.duplicates,
        "debits": r.debits,
        "credited_cents": r.credited_cents,
        "unmatched_cents": r.unmatched_cents,
        "created_at": r.created_at,
    }


def unmatched_json(t) -> dict[str, Any]:
    return {
        "id": t.id,
        "amount_cents": t.amount_cents,
        "communication": t.communication,
        "counterparty_name": t.counterparty_name,
        "counterparty_iban": t.counterparty_iban,
        "booked_on": t.booked_on,
        "reason": t.reason,
        "status": t.status,
        "source": t.source,
        "assigned_wallet_id": t.assigned_wallet_id or None,
        "assigned_invoice_id": t.assigned_invoice_id or None,
        "assigned_at": t.assigned_at or None,
        "payment_id": t.payment_id or None,
    }


# -- dashboard and school events --------------------------------------------------------------------


def event_json(e) -> dict[str, Any]:
    return {
        "id": e.id,
        "title": e.title,
        "description": e.description,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "class_names": list(e.class_names),
    }


def latest_documents_json(r) -> dict[str, Any]:
    """The dashboard's documents panel (a ``ListDocumentsResponse``)."""
    return {
        "unread_count": r.unread_count,
        "latest": [{"id": d.id, "title": d.title, "deposited_at": d.deposited_at} for d in r.documents],
    }


def unpaid_invoices_json(r) -> dict[str, int]:
    """The dashboard's invoices panel (a ``ListInvoicesResponse``): what is still to pay."""
    unpaid = [i for i in r.invoices if i.status in ("unpaid", "partially_paid")]
    return {
        "unpaid_count": len(unpaid),
        "unpaid_total_cents": sum(i.total_cents - i.paid_cents for i in unpaid),
    }


def upcoming_booking_json(b) -> dict[str, Any]:
    """The dashboard's meetings panel: one booking, briefly (see ``booking_json`` for the full one)."""
    return {
        "id": b.id,
        "evening_title": b.evening_title,
        "teacher_name": b.teacher_name,
        "room": b.room,
        "starts_at": b.slot.starts_at,
        "ends_at": b.slot.ends_at,
    }


# -- documents and photos ---------------------------------------------------------------------------


def document_json(d) -> dict[str, Any]:
    return {
        "id": d.id,
        "title": d.title,
        "deposited_at": d.deposited_at,
        "read_at": d.read_at or None,
        "content_type": d.content_type,
        "size_bytes": d.size_bytes,
        "filename": d.filename,
    }


def photo_json(p) -> dict[str, Any]:
    base = f"/api/v1/photos/{p.id}"
    return {
        "id": p.id,
        "album_id": p.album_id,
        "number": p.number,
        "title": p.title or None,
        "filename": p.filename,
        "width": p.width,
        "height": p.height,
        "size_bytes": p.size_bytes,
        "uploaded_at": p.uploaded_at,
        "thumbnail": {"url": f"{base}/thumbnail", "width": p.thumb_width, "height": p.thumb_height},
        "display_url": f"{base}/display",
        "download_url": f"{base}/download",
    }


def album_json(a, staff: bool = False) -> dict[str, Any]:
    out = {
        "id": a.id,
        "title": a.title,
        "event": a.event or None,
        "taken_on": a.taken_on or None,
        "class_names": list(a.class_names),
        "published_at": a.published_at or None,
        "photo_count": a.photo_count,
        "cover": photo_json(a.cover) if a.HasField("cover") else None,
    }
    if staff:
        out["offered_period_ids"] = list(a.offered_period_ids)
    return out


# -- orders -----------------------------------------------------------------------------------------


def period_json(p) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "opens_at": p.opens_at, "closes_at": p.closes_at, "notes": p.notes}


def catalog_json(resp) -> dict[str, Any]:
    """A ``GetCatalogResponse`` as the order form reads it: the items grouped by subject."""
    subjects = [
        {
            "subject": subject,
            "items": [
                {
                    "id": i.id,
                    "title": i.title,
                    "comment": i.comment,
                    "type": i.type,
                    "price_cents": i.price_cents,
                }
                for i in group
            ],
        }
        for subject, group in groupby(resp.items, key=lambda i: i.subject)
    ]
    return {
        "id": resp.period.id,
        "title": resp.period.title,
        "notes": resp.period.notes,
        "closes_at": resp.period.closes_at,
        "subjects": subjects,
    }


def summary_json(s) -> dict[str, Any]:
    return {
        "lines": [
            {
                "item_id": ln.item_id,
                "subject": ln.subject,
                "title": ln.title,
                "type": ln.type,
                "price_cents": ln.price_cents,
            }
            for ln in s.lines
        ],
        "subtotal_cents": s.subtotal_cents,
        "credit_cents": s.credit_cents,
        "grand_total_cents": s.grand_total_cents,
    }


# -- meetings ---------------------------------------------------------------------------------------


def evening_json(e) -> dict[str, Any]:
    return {
        "id": e.id,
        "title": e.title,
        "date": e.date,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "slot_minutes": e.slot_minutes,
        "opens_at": e.opens_at,
        "closes_at": e.closes_at,
        "timezone": e.timezone,
    }


def slot_json(s) -> dict[str, Any]:
    return {"id": s.id, "starts_at": s.starts_at, "ends_at": s.ends_at}


def teacher_json(t) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "room": t.room, "class_names": list(t.class_names)}


def booking_json(b) -> dict[str, Any]:
    return {
        "id": b.id,
        "evening_id": b.evening_id,
        "evening_title": b.evening_title,
        "teacher_id": b.teacher_id,
        "teacher_name": b.teacher_name,
        "room": b.room,
        "slot_id": b.slot.id,
        "starts_at": b.slot.starts_at,
        "ends_at": b.slot.ends_at,
        "child_id": b.student_id,
        "child_name": b.child_name,
        "cancellable": b.cancellable,
        "closes_at": b.closes_at,
        "booked_at": b.booked_at,
    }


def open_evening_json(oe) -> dict[str, Any]:
    return {
        **evening_json(oe.evening),
        "teachers": [
            {
                "id": t.teacher.id,
                "name": t.teacher.name,
                "room": t.teacher.room,
                "free_slots": [slot_json(s) for s in t.free_slots],
                "booking": booking_json(t.my_booking) if t.HasField("my_booking") else None,
            }
            for t in oe.teachers
        ],
    }


def evening_summary_json(e) -> dict[str, Any]:
    """One of the school's evenings with how full it is (``ListEveningsResponse`` items)."""
    return {
        **evening_json(e.evening),
        "teacher_count": e.teacher_count,
        "slot_count": e.slot_count,
        "booked_count": e.booked_count,
    }


def schedule_json(resp) -> dict[str, Any]:
    def booked(s):
        if not s.HasField("booking"):
            return None
        b = s.booking
        return {
            "id": b.id,
            "child_id": b.student_id,
            "child_name": b.child_name,
            "class_name": b.class_name,
            "parent_account_id": b.parent_account_id,
            "parent_name": b.parent_name,
            "booked_at": b.booked_at,
        }

    return {
        "evening": evening_json(resp.evening),
        "teachers": [
            {
                **teacher_json(t.teacher),
                "slots": [{**slot_json(s.slot), "booking": booked(s)} for s in t.slots],
            }
            for t in resp.teachers
        ],
    }


# -- notifications ----------------------------------------------------------------------------------


def mail_switches() -> list[str]:
    """The on/off mail kinds the notifications service knows (every bool field of MailPreferences)."""
    return [f.name for f in notifications_pb2.MailPreferences.DESCRIPTOR.fields if f.type == f.TYPE_BOOL]


def prefs_json(p) -> dict[str, Any]:
    out = {
        "language": p.language,
        "email": p.email,
        "low_balance_threshold_cents": p.low_balance_threshold_cents,
    }
    out.update({name: getattr(p, name) for name in mail_switches()})
    return out


def failed_mail_json(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "recipient": m.recipient,
        "subject": m.subject,
        "attempts": m.attempts,
        "last_error": m.last_error,
        "created_at": m.created_at,
        "failed_at": m.failed_at,
    }
