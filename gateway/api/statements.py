"""JSON API of the periodic statements (API.md, "Tax certificates and legal cost rules (Belgium)"):
``GET /api/v1/admin/students/{id}/statement?from=&to=`` answers the student's décompte périodique as a
PDF (every fee of the period, mandatory or optional, paid and open). Finance owns every rule (the
period of one to four months: 400 naming ``from`` / ``to``; the school's scope: 404); documents
renders the PDF, in the parents' language unless ``lang`` asks for another (``calls/statements.py``)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from gateway.calls import statements
from gateway.openapi import S, error_responses
from gateway.web import require_staff

bp = Blueprint("api_statements", __name__)


def pdf_response(pdf, fallback: str, *, inline: bool = False) -> Response:
    """The PDF under its name (letters, digits, dots, dashes: a safe header)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "", pdf.filename)[:100] or fallback
    disposition = "inline" if inline else "attachment"
    return Response(
        bytes(pdf.content),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/api/v1/admin/students/<student_id>/statement")
def student_statement(student_id: str):
    require_staff()
    first = (request.args.get("from") or "").strip()[:10]
    last = (request.args.get("to") or "").strip()[:10]
    lang = (request.args.get("lang") or "").strip()[:5]
    pdf = statements.statement_pdf(student_id, first, last, lang)
    return pdf_response(pdf, f"decompte-{first}-{last}.pdf")


DATE_Q = {"type": "string", "format": "date"}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/students/{id}/statement": {
        "get": {
            "summary": "The student's periodic statement (décompte périodique, Fédération Wallonie-Bruxelles) "
            "as a PDF: every line of the invoices issued from `from` to `to` (one to four months), each "
            "marked obligatoire or facultatif, what was paid and what remains per invoice, the totals and "
            "the FWB's mentions; in the parents' language (fr by default) unless `lang` says",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": S},
                {"name": "from", "in": "query", "required": True, "schema": DATE_Q},
                {"name": "to", "in": "query", "required": True, "schema": DATE_Q},
                {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["fr", "nl", "en"]}},
            ],
            "responses": {
                "200": {
                    "description": "the PDF (Content-Disposition: attachment; filename=...)",
                    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                },
                **error_responses(400, 401, 403, 404, 503),
            },
        }
    }
}
