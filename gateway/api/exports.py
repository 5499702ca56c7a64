"""JSON API and CSV files for the school's accountant (issue #17): ``GET /api/v1/admin/exports/{name}.csv``
(API.md: invoices, payments, operations or sales of ``?from=&to=``, ``;``-separated, a header row,
dates ``YYYY-MM-DD``, euros with a point from the cents), streamed page by page as finance pages them;
each export's row count and total for a range; one statement import's reconciliation. The finance
service checks every value (calls in ``gateway.calls.exports``)."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from gateway.calls import exports
from gateway.openapi import B, I, S, error_responses, obj, ok
from gateway.web import keyset_params, require_staff
from kit.errors import InvalidRequest
from kit.money import cents_to_decimal_str

log = logging.getLogger("gateway.exports")

bp = Blueprint("api_exports", __name__)

MAX_DATE_CHARS = 32  # finance says what a date is; a longer value is refused before the call


def money(cents: int) -> str:
    """Euros with a point and two decimals, from the integer cents (``-1250`` → ``-12.50``)."""
    return cents_to_decimal_str(cents)


def text(value: str) -> str:
    """A text cell a spreadsheet never runs as a formula (amounts are written by :func:`money`)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


Column = tuple[str, Callable[[Any], str]]
# Every export's columns: the header's name, and the cell of a row (finance's typed row message).
COLUMNS: dict[str, list[Column]] = {
    "invoices": [
        ("number", lambda r: text(r.number)),
        ("issued_on", lambda r: r.issued_on),
        ("due_on", lambda r: r.due_on),
        ("student_id", lambda r: text(r.student_id)),
        ("student_name", lambda r: text(r.student_name)),
        ("class_name", lambda r: text(r.class_name)),
        ("title", lambda r: text(r.title)),
        ("status", lambda r: r.status),
        ("structured_communication", lambda r: text(r.structured_communication)),
        ("total", lambda r: money(r.total_cents)),
        ("paid", lambda r: money(r.paid_cents)),
        ("credited", lambda r: money(r.credited_cents)),
        ("open", lambda r: money(r.open_cents)),
        ("invoice_id", lambda r: text(r.invoice_id)),
    ],
    "payments": [
        ("date", lambda r: r.paid_on),
        ("paid_at", lambda r: r.paid_at),
        ("purpose", lambda r: r.purpose),
        ("method", lambda r: r.method),
        ("student_id", lambda r: text(r.student_id)),
        ("student_name", lambda r: text(r.student_name)),
        ("class_name", lambda r: text(r.class_name)),
        ("invoice_number", lambda r: text(r.invoice_number)),
        ("wallet_name", lambda r: text(r.wallet_name)),
        ("amount", lambda r: money(r.amount_cents)),
        ("refunded", lambda r: money(r.refunded_cents)),
        ("charged_back", lambda r: money(r.charged_back_cents)),
        ("payment_id", lambda r: text(r.payment_id)),
    ],
    "operations": [
        ("date", lambda r: r.booked_on),
        ("at", lambda r: r.at),
        ("type", lambda r: r.type),
        ("payment_method", lambda r: r.payment_method),
        ("student_id", lambda r: text(r.student_id)),
        ("student_name", lambda r: text(r.student_name)),
        ("class_name", lambda r: text(r.class_name)),
        ("wallet_name", lambda r: text(r.wallet_name)),
        ("label", lambda r: text(r.label)),
        ("amount", lambda r: money(r.amount_cents)),
        ("operation_id", lambda r: text(r.operation_id)),
    ],
    "sales": [
        ("date", lambda r: r.sold_on),
        ("at", lambda r: r.at),
        ("student_id", lambda r: text(r.student_id)),
        ("student_name", lambda r: text(r.student_name)),
        ("class_name", lambda r: text(r.class_name)),
        ("wallet_name", lambda r: text(r.wallet_name)),
        ("label", lambda r: text(r.label)),
        ("quantity", lambda r: str(r.quantity)),
        ("unit_price", lambda r: money(r.unit_price_cents)),
        ("amount", lambda r: money(r.amount_cents)),
        ("childcare", lambda r: "yes" if r.childcare else "no"),
        ("days", lambda r: str(r.days)),
        ("sale_id", lambda r: text(r.sale_id)),
        ("line_id", lambda r: text(r.line_id)),
    ],
}
# The column the export's total (GetExportTotals, the exports page) is the sum of.
AMOUNT_COLUMN = {"invoices": "total", "payments": "amount", "operations": "amount", "sales": "amount"}
FILE_NAMES = {"invoices": "factures", "payments": "paiements", "operations": "operations", "sales": "ventes"}


def header(name: str) -> list[str]:
    return [h for h, _cell in COLUMNS[name]]


def csv_lines(name: str, rows: Iterable[Any]) -> str:
    """``rows`` as CSV lines (``;``, CRLF), cells in the export's column order."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    cells = [cell for _h, cell in COLUMNS[name]]
    writer.writerows([[cell(r) for cell in cells] for r in rows])
    return out.getvalue()


def date_range() -> tuple[str, str]:
    """``?from=&to=`` as given (finance refuses a missing, bad or reversed one, naming it)."""
    first, last = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    for field, value in (("from", first), ("to", last)):
        if len(value) > MAX_DATE_CHARS:
            raise InvalidRequest(f"{field} must be a date", fields={field: "YYYY-MM-DD"})
    return first, last


def check_name(name: str) -> str:
    if name not in COLUMNS:
        raise InvalidRequest("unknown export", fields={"name": " | ".join(COLUMNS)})
    return name


def file_name(name: str, first: str, last: str) -> str:
    """``factures_2026-03-01_2026-03-31.csv`` (the dates as finance accepted them, digits and dashes)."""
    days = "_".join(re.sub(r"[^0-9-]", "", d)[:10] for d in (first, last))
    return f"{FILE_NAMES[name]}_{days}.csv"


def csv_stream(name: str, first: str, last: str) -> Iterator[str]:
    """The whole file, page by page: the first page is read before the answer starts (a refusal is a
    400 then), each next page when the previous one is written. A service failing mid-way ends the
    stream without its last chunk, so the client sees a cut download rather than a short file."""
    rows, cursor = exports.export_page(name, first, last)

    def pages() -> Iterator[str]:
        # the BOM first: spreadsheets then read the accents right
        yield "\ufeff" + ";".join(header(name)) + "\r\n"
        yield csv_lines(name, rows)
        try:
            for page in exports.export_pages(name, first, last, cursor):
                yield csv_lines(name, page)
        except Exception:
            log.warning("export cut short", extra={"export": name}, exc_info=True)
            raise

    return pages()


# -- routes -----------------------------------------------------------------------------------------


@bp.get("/api/v1/admin/exports/<name>.csv")
def export_csv(name: str):
    require_staff()
    name = check_name(name)
    first, last = date_range()
    body = csv_stream(name, first, last)
    return Response(
        stream_with_context(body),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name(name, first, last)}"'},
    )


def totals_json(first: str, last: str) -> dict[str, Any]:
    got = exports.export_totals(first, last)
    return {
        "from": first,
        "to": last,
        "items": [
            {
                "name": t.name,
                "rows": t.rows,
                "total_cents": t.total_cents,
                "amount_column": AMOUNT_COLUMN[t.name],
                "url": f"/api/v1/admin/exports/{t.name}.csv?from={first}&to={last}",
            }
            for t in got.totals
        ],
    }


@bp.get("/api/v1/admin/exports")
def export_totals():
    require_staff()
    return jsonify(totals_json(*date_range()))


def movement_json(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "booked_on": m.booked_on,
        "direction": m.direction,
        "amount_cents": m.amount_cents,
        "communication": m.communication,
        "counterparty_name": m.counterparty_name,
        "counterparty_iban": m.counterparty_iban,
        "reversal": m.reversal,
        "outcome": m.outcome,
        "wallet_id": m.wallet_id or None,
        "wallet_name": m.wallet_name or None,
        "invoice_id": m.invoice_id or None,
        "invoice_number": m.invoice_number or None,
        "student_id": m.student_id or None,
        "student_name": m.student_name or None,
        "credited_cents": m.credited_cents,
        "unmatched_cents": m.unmatched_cents,
        "unmatched": [
            {
                "transfer_id": u.transfer_id,
                "amount_cents": u.amount_cents,
                "reason": u.reason,
                "status": u.status,
                "assigned_wallet_id": u.assigned_wallet_id or None,
                "assigned_invoice_id": u.assigned_invoice_id or None,
                "assigned_at": u.assigned_at or None,
            }
            for u in m.unmatched
        ],
    }


@bp.get("/api/v1/admin/bank-statements/<import_id>")
def statement_reconciliation(import_id: str):
    require_staff()
    limit, cursor = keyset_params(default=200, maximum=1000)
    got = exports.statement_import(import_id, cursor, limit)
    imp = got.statement_import
    return jsonify(
        id=imp.id,
        format=imp.format,
        filename=imp.filename,
        created_at=imp.created_at,
        movements=imp.movements,
        recorded=imp.recorded,
        credited=imp.credited,
        unmatched=imp.unmatched,
        duplicates=imp.duplicates,
        debits=imp.debits,
        returned_debits=imp.returned_debits,
        credited_cents=imp.credited_cents,
        unmatched_cents=imp.unmatched_cents,
        items=[movement_json(m) for m in got.movements],
        next_cursor=got.next_cursor or None,
    )


# -- OpenAPI ----------------------------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
RANGE = [
    {"name": "from", "in": "query", "required": True, "schema": DATE, "description": "included"},
    {"name": "to", "in": "query", "required": True, "schema": DATE, "description": "included"},
]
NULLABLE = {"type": ["string", "null"]}
MOVEMENT = obj(
    {
        "id": S,
        "booked_on": DATE,
        "direction": {"enum": ["credit", "debit"]},
        "amount_cents": I,
        "communication": S,
        "counterparty_name": S,
        "counterparty_iban": S,
        "reversal": B,
        "outcome": {
            "enum": ["wallet", "invoice", "unmatched", "debit", "direct_debit", "direct_debit_return"],
            "description": "direct_debit: a direct-debit batch's credit paying several of its items "
            "(one item's credit says wallet or invoice); direct_debit_return: a debit the family's bank "
            "returned, booked (what it paid is owed again)",
        },
        "wallet_id": NULLABLE,
        "wallet_name": NULLABLE,
        "invoice_id": NULLABLE,
        "invoice_number": NULLABLE,
        "student_id": NULLABLE,
        "student_name": NULLABLE,
        "credited_cents": I,
        "unmatched_cents": I,
        "unmatched": {
            "type": "array",
            "items": obj(
                {
                    "transfer_id": S,
                    "amount_cents": I,
                    "reason": S,
                    "status": {"enum": ["open", "assigned"]},
                    "assigned_wallet_id": NULLABLE,
                    "assigned_invoice_id": NULLABLE,
                    "assigned_at": NULLABLE,
                }
            ),
        },
    },
    ["id", "booked_on", "direction", "amount_cents", "outcome", "credited_cents", "unmatched_cents"],
)


def _csv_description() -> str:
    cols = "; ".join(f"{n}: " + ";".join(header(n)) for n in COLUMNS)
    return (
        "API.md: `text/csv; charset=utf-8` (with a BOM), `;`-separated, a header row, one row per record, "
        "dates `YYYY-MM-DD` (Europe/Brussels days; instants RFC 3339), amounts in euros with a point "
        "(`12.50`) written from the cents; `from` and `to` included, at most 366 days. Streamed as "
        "finance pages the records (1,000 a call). invoices: issued in the range; payments: received "
        "(paid) in the range; operations: every wallet posting, signed; sales: every sale line. "
        "Columns: " + cols + ". A missing or bad date, from after to, an unknown name: 400 naming it."
    )


OPENAPI: dict = {
    "/api/v1/admin/exports/{name}.csv": {
        "get": {
            "summary": "The accountant's export of a date range as CSV",
            "description": _csv_description(),
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"enum": list(COLUMNS)}},
                *RANGE,
            ],
            "responses": {
                "200": {"description": "the CSV", "content": {"text/csv": {"schema": S}}},
                **error_responses(400, 401, 403, 503),
            },
        }
    },
    "/api/v1/admin/exports": {
        "get": {
            "summary": "Each export's row count and total (cents) for a date range, with its CSV's URL",
            "parameters": RANGE,
            "responses": {
                **ok(
                    obj(
                        {
                            "from": DATE,
                            "to": DATE,
                            "items": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "name": {"enum": list(COLUMNS)},
                                        "rows": I,
                                        "total_cents": I,
                                        "amount_column": S,
                                        "url": S,
                                    }
                                ),
                            },
                        }
                    )
                ),
                **error_responses(400, 401, 403, 503),
            },
        }
    },
    "/api/v1/admin/bank-statements/{id}": {
        "get": {
            "summary": "One statement import's reconciliation: every movement it recorded and its outcome",
            "description": "Movements by booking day (`limit` 1-1000, default 200, `cursor`). Movements "
            "imported before (duplicates) booked nothing and are not kept per import: `duplicates` is "
            "their count.",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": S},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
                {"name": "cursor", "in": "query", "schema": S},
            ],
            "responses": {
                **ok(
                    obj(
                        {
                            "id": S,
                            "format": {"enum": ["coda", "camt053"]},
                            "filename": S,
                            "created_at": S,
                            "movements": I,
                            "recorded": I,
                            "credited": I,
                            "unmatched": I,
                            "duplicates": I,
                            "debits": I,
                            "returned_debits": I,
                            "credited_cents": I,
                            "unmatched_cents": I,
                            "items": {"type": "array", "items": MOVEMENT},
                            "next_cursor": NULLABLE,
                        }
                    )
                ),
                **error_responses(400, 401, 403, 404, 503),
            },
        }
    },
}
