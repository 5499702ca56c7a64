"""JSON API of the childcare tax certificates (API.md, "Tax certificates and legal cost rules
(Belgium)"): ``POST /api/v1/admin/tax-certificates {year}`` makes the year's attestations 281.86 (201
``{count, total_cents}``; 409 ``enterprise_number_missing``), ``GET /api/v1/admin/tax-certificates/{year}``
lists them, and ``GET /api/v1/admin/tax-certificates/{year}/belcotax.csv`` is the year's export for
Belcotax-on-web (a CSV: the XML schema of form 281.86 could not be obtained; not in API.md, added).
Finance owns every rule; the people come from auth (``calls/tax_certificates.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.api.finance_staff import IDEMPOTENCY
from gateway.calls import tax_certificates
from gateway.i18n import current_lang
from gateway.openapi import I, S, error_responses, list_of, obj, ok
from gateway.openapi import json_body as body_schema
from gateway.web import field_int, idempotency_key, json_body, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_tax_certificates", __name__)

MIN_YEAR, MAX_YEAR = 2000, 2100


def year_of(text: str) -> int:
    if not text.isdigit() or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise InvalidRequest("the year is four digits", fields={"year": "a year, e.g. 2024"})
    return int(text)


def item_json(c) -> dict[str, Any]:
    return {
        "student_id": c.student_id,
        "parent_id": c.parent_id,
        "days": c.days,
        "amount_cents": c.amount_cents,
        "capped_amount_cents": c.capped_amount_cents,
        "document_id": c.document_id,
    }


def csv_response(year: int) -> Response:
    return Response(
        tax_certificates.export_csv(year),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="belcotax-281-86-{year}.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/api/v1/admin/tax-certificates")
def generate():
    require_staff()
    year = field_int(json_body(), "year", minimum=MIN_YEAR, maximum=MAX_YEAR)
    made = tax_certificates.generate(year, idempotency_key(), current_lang())
    return jsonify(count=made.count, total_cents=made.total_cents), 201


@bp.get("/api/v1/admin/tax-certificates/<year>")
def list_certificates(year: str):
    require_staff()
    listing = tax_certificates.certificates(year_of(year))
    return jsonify(items=[item_json(c) for c in listing.certificates])


@bp.put("/api/v1/admin/tax-certificates/<year>/daily-cap")
def put_daily_cap(year: str):
    require_staff()
    cents = field_int(json_body(), "daily_cap_cents", minimum=0, maximum=1_000_000)
    got = tax_certificates.set_daily_cap(year_of(year), cents)
    return jsonify(daily_cap_cents=got.daily_cap_cents, source=got.daily_cap_source)


@bp.get("/api/v1/admin/tax-certificates/<year>/belcotax.csv")
def belcotax_csv(year: str):
    require_staff()
    return csv_response(year_of(year))


ITEM = obj(
    {
        "student_id": S,
        "parent_id": {**S, "description": "the paying parent"},
        "days": I,
        "amount_cents": {**I, "description": "the childcare received in the year for these days"},
        "capped_amount_cents": {**I, "description": "each day limited to the year's legal maximum"},
        "document_id": {**S, "description": "the PDF in the child's documents"},
    },
    ["student_id", "parent_id", "days", "amount_cents", "capped_amount_cents", "document_id"],
)
SCHEMAS = {"TaxCertificate": ITEM}
YEAR = {"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}}

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/tax-certificates": {
        "post": {
            "summary": "Make the year's childcare tax certificates (attestation 281.86): one per child "
            "and paying parent of the childcare paid that year, children under 14 on the day of care; "
            "each a PDF in the child's documents. Again for the same year: no duplicate; a certificate "
            "whose figures changed is replaced by a new version saying so",
            "parameters": [IDEMPOTENCY],
            "requestBody": body_schema(obj({"year": I}, ["year"])),
            "responses": {
                "201": ok(obj({"count": I, "total_cents": I}, ["count", "total_cents"])),
                **error_responses(400, 401, 403, 409),
            },
        }
    },
    "/api/v1/admin/tax-certificates/{year}": {
        "get": {
            "summary": "The year's current certificates",
            "parameters": [YEAR],
            "responses": {
                "200": ok(obj({"items": list_of(ITEM)}, ["items"])),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/api/v1/admin/tax-certificates/{year}/daily-cap": {
        "put": {
            "summary": "The legal maximum per day of a year Cartable's table does not know yet, as the "
            "school read it in the official source (SPF Finances): 100 to 5000 cents; certificates of "
            "that year use it and record that the school entered it. 409 `daily_cap_known` for a year "
            "the table knows (never overridden). Not in API.md, added",
            "parameters": [YEAR],
            "requestBody": body_schema(obj({"daily_cap_cents": I}, ["daily_cap_cents"])),
            "responses": {
                "200": ok(obj({"daily_cap_cents": I, "source": S}, ["daily_cap_cents", "source"])),
                **error_responses(400, 401, 403, 409),
            },
        }
    },
    "/api/v1/admin/tax-certificates/{year}/belcotax.csv": {
        "get": {
            "summary": "The year's certificates for the Belcotax-on-web upload, one row per certificate "
            "with every field of form 281.86 (a CSV: the XML schema could not be obtained)",
            "parameters": [YEAR],
            "responses": {
                "200": {"description": "the CSV", "content": {"text/csv": {"schema": S}}},
                **error_responses(400, 401, 403),
            },
        }
    },
}
