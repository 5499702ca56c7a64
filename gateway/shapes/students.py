"""JSON shapes: the school's students as its staff see them (API.md "School back office").

A parent's shape (``parent_json``), a wallet's and an invoice's are those of ``gateway.shapes``:
written once, reused here.
"""

from __future__ import annotations

from typing import Any

from gateway.shapes.accounts import parent_json
from gateway.shapes.finance import invoice_json, wallet_json


def student_json(s) -> dict[str, Any]:
    """API.md's student (auth's Student): ``{id, first_name, last_name, class_name, level, status,
    external_id, birth_date, parent_ids}``, null for an unknown external id or birth date; with
    ``left_on`` (null while active) and ``national_number`` (masked, null when none)."""
    return {
        "id": s.id,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "class_name": s.class_name,
        "level": s.level,
        "status": s.status or "active",
        "external_id": s.external_id or None,
        "birth_date": s.birth_date or None,
        "parent_ids": list(s.parent_ids),
        "left_on": s.left_on or None,
        "national_number": s.national_number or None,
    }


def student_detail_json(found, wallets, invoices) -> dict[str, Any]:
    """GET /api/v1/admin/students/{id}: the student (``found``: auth's GetStudentResponse, the
    national number in full) with ``wallets``, ``parents`` and ``invoices``."""
    return {
        **student_json(found.student),
        "wallets": [wallet_json(w) for w in wallets],
        "parents": [parent_json(p) for p in found.parents],
        "invoices": [invoice_json(i) for i in invoices],
    }
