"""JSON shapes: The dashboard, school events, documents, photos and orders."""

from __future__ import annotations

from itertools import groupby
from typing import Any

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
