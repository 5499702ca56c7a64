"""The accountant's exports (issue #17): the school's invoices, payments, wallet operations and sale
lines of a date range, one typed row per record, a page at a time (a keyset computed here, so a
year's export never sits in one message: the gateway streams the CSV page by page), and each export's
row count and total for the exports page.

What each export holds, for ``from``..``to`` (both included, Europe/Brussels days):

- ``invoices``: the invoices issued on those days (``issued_on``), whatever their status now; their
  ``total_cents`` add up to the school's invoice list (``ListSchoolInvoices``) issued on those days;
- ``payments``: the payments received on those days (``paid_at``; status paid): top-ups, invoices and
  orders paid by any method, each once (refunds and chargebacks booked since are shown beside);
- ``operations``: every movement of the school's wallets (each wallet posting, signed: + in, − out),
  the same rows as every student's ``ListOperations`` for the same period;
- ``sales``: every sale line, the same rows as the school's ``ListSales`` for the same period.

Rows come oldest first. Totals are SQL sums of the same rows, never floats.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cartable.finance.v1 import exports_pb2 as pb
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance.db import export_queries as q
from services.finance.db import utc
from services.finance.domain.invoices import open_amount
from services.finance.domain.periods import MAX_CUSTOM_DAYS, resolve_period
from services.finance.use_cases import common
from services.finance.use_cases.operations import OPERATION_TYPE_OF_KIND

EXPORTS = ("invoices", "payments", "operations", "sales")
DEFAULT_LIMIT = MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 500


@dataclass(frozen=True)
class Range:
    """An export's days (both included) and the same as a half-open UTC interval [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime


def export_range(rt: Runtime, from_date: str, to_date: str) -> Range:
    """``from``..``to`` as given (YYYY-MM-DD, both required, from <= to, at most 366 days), or
    InvalidRequest naming the field (``from`` / ``to``, as the HTTP query names them)."""
    first = common.parse_date(from_date, "from")
    last = common.parse_date(to_date, "to")
    if first is None or last is None:
        missing = {name: "required, YYYY-MM-DD" for name, d in (("from", first), ("to", last)) if d is None}
        raise InvalidRequest("an export needs a from date and a to date", fields=missing)
    if first > last:
        raise InvalidRequest(
            f"the from date ({first.isoformat()}) is after the to date ({last.isoformat()})",
            fields={"from": "on or before to"},
        )
    days = (last - first).days + 1
    if days > MAX_CUSTOM_DAYS:
        raise InvalidRequest(
            f"an export covers at most {MAX_CUSTOM_DAYS} days, got {days}",
            fields={"to": f"at most {MAX_CUSTOM_DAYS} days after from"},
        )
    start, end = resolve_period("custom", common.now(rt), first, last)
    return Range(first, last, start, end)


def encode_cursor(name: str, values: list) -> str:
    raw = json.dumps({"k": name, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(name: str, cursor: str, parse: Callable[[list], tuple]) -> tuple | None:
    """The keyset a cursor of this export carries (None: the first page); InvalidRequest for
    anything else (another export's cursor too)."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("k") != name or not isinstance(data.get("v"), list):
            raise ValueError
        return parse(data["v"])
    except (ValueError, TypeError, IndexError, UnicodeDecodeError):
        raise InvalidRequest("bad cursor", fields={"cursor": "the next_cursor of a previous page"}) from None


def cursor_instant(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError
    return utc(datetime.fromisoformat(text))


def cursor_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def cursor_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def _day(dt: datetime) -> str:
    """The Brussels calendar day of an instant."""
    return utc(dt).astimezone(common.BRUSSELS).date().isoformat()


def _name(r) -> str:
    return " ".join(p for p in (r.first_name, r.last_name) if p)


# --- rows as messages --------------------------------------------------------------------------------


def invoice_row(r) -> pb.InvoiceExportRow:
    return pb.InvoiceExportRow(
        invoice_id=r.id,
        number=r.number,
        issued_on=r.issued_on.isoformat(),
        due_on=r.due_on.isoformat(),
        student_id=r.student_id,
        student_name=_name(r),
        class_name=r.class_name or "",
        title=r.title,
        status=r.status,
        structured_communication=format_ogm(r.digits) if r.digits else "",
        total_cents=r.total_cents,
        paid_cents=r.paid_cents,
        credited_cents=r.credited_cents,
        open_cents=open_amount(r.total_cents, r.paid_cents, r.status),
    )


def payment_row(r, reversed_cents: dict[str, int]) -> pb.PaymentExportRow:
    return pb.PaymentExportRow(
        payment_id=r.id,
        paid_on=_day(r.paid_at),
        paid_at=utc(r.paid_at).isoformat(),
        purpose=r.purpose,
        method=r.method,
        student_id=r.student_id,
        student_name=_name(r),
        class_name=r.class_name or "",
        invoice_id=r.invoice_id or "",
        invoice_number=r.invoice_number or "",
        wallet_id=r.wallet_id or "",
        wallet_name=r.wallet_name or "",
        amount_cents=r.amount_cents,
        refunded_cents=reversed_cents.get("refund", 0),
        charged_back_cents=reversed_cents.get("chargeback", 0),
    )


def operation_row(r) -> pb.OperationExportRow:
    return pb.OperationExportRow(
        operation_id=str(r.id),
        booked_on=_day(r.created_at),
        at=utc(r.created_at).isoformat(),
        type=OPERATION_TYPE_OF_KIND.get(r.kind, "adjustment"),
        payment_method=r.method or "",
        student_id=r.student_id,
        student_name=_name(r),
        class_name=r.class_name or "",
        wallet_id=r.wallet_id,
        wallet_name=r.wallet_name,
        label=r.label,
        amount_cents=r.amount_cents,
    )


def sale_row(r) -> pb.SaleExportRow:
    return pb.SaleExportRow(
        line_id=r.id,
        sale_id=r.sale_id,
        sold_on=_day(r.created_at),
        at=utc(r.created_at).isoformat(),
        student_id=r.student_id,
        student_name=_name(r),
        class_name=r.class_name or "",
        wallet_id=r.wallet_id,
        wallet_name=r.wallet_name,
        label=r.label,
        quantity=r.quantity,
        unit_price_cents=r.unit_price_cents,
        amount_cents=r.amount_cents,
        childcare=bool(r.childcare),
        days=r.days,
    )


# --- one page of each export -------------------------------------------------------------------------
# Each: (session, school, range, cursor, limit) -> (rows for the response, next cursor or "").


def _invoices(s: Session, school: str, rng: Range, cursor: str, limit: int) -> tuple[dict, str]:
    after = decode_cursor(
        "invoices", cursor, lambda v: (date.fromisoformat(cursor_text(v[0])), cursor_text(v[1]))
    )
    rows = q.invoices_page(s, school, rng.first, rng.last, after, limit + 1)
    page, nxt = rows[:limit], ""
    if len(rows) > limit:
        nxt = encode_cursor("invoices", [page[-1].issued_on.isoformat(), page[-1].number])
    return {"invoices": [invoice_row(r) for r in page]}, nxt


def _payments(s: Session, school: str, rng: Range, cursor: str, limit: int) -> tuple[dict, str]:
    after = decode_cursor("payments", cursor, lambda v: (cursor_instant(v[0]), cursor_text(v[1])))
    rows = q.payments_page(s, school, rng.start, rng.end, after, limit + 1)
    page, nxt = rows[:limit], ""
    if len(rows) > limit:
        nxt = encode_cursor("payments", [utc(page[-1].paid_at).isoformat(), page[-1].id])
    reversals = q.reversals_by_payment(s, [r.id for r in page if r.method == "online"])
    return {"payments": [payment_row(r, reversals.get(r.id, {})) for r in page]}, nxt


def _operations(s: Session, school: str, rng: Range, cursor: str, limit: int) -> tuple[dict, str]:
    after = decode_cursor("operations", cursor, lambda v: (cursor_instant(v[0]), cursor_int(v[1])))
    rows = q.operations_page(s, school, rng.start, rng.end, after, limit + 1)
    page, nxt = rows[:limit], ""
    if len(rows) > limit:
        nxt = encode_cursor("operations", [utc(page[-1].created_at).isoformat(), page[-1].id])
    return {"operations": [operation_row(r) for r in page]}, nxt


def _sales(s: Session, school: str, rng: Range, cursor: str, limit: int) -> tuple[dict, str]:
    after = decode_cursor(
        "sales", cursor, lambda v: (cursor_instant(v[0]), cursor_text(v[1]), cursor_int(v[2]))
    )
    rows = q.sale_lines_page(s, school, rng.start, rng.end, after, limit + 1)
    page, nxt = rows[:limit], ""
    if len(rows) > limit:
        last = page[-1]
        nxt = encode_cursor("sales", [utc(last.created_at).isoformat(), last.sale_id, last.position])
    return {"sales": [sale_row(r) for r in page]}, nxt


PAGES: dict[str, Callable[[Session, str, Range, str, int], tuple[dict[str, Any], str]]] = {
    "invoices": _invoices,
    "payments": _payments,
    "operations": _operations,
    "sales": _sales,
}


class Exports:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_export_rows(self, who: Identity, req: pb.ListExportRowsRequest) -> pb.ListExportRowsResponse:
        """Staff: one page (``limit``, at most 1000) of the export ``name`` of the caller's school for
        ``from``..``to``, oldest first, after ``cursor``; ``next_cursor`` empty on the last page."""
        who.require_staff()
        if req.name not in PAGES:
            raise InvalidRequest("unknown export", fields={"name": " | ".join(EXPORTS)})
        if not 0 <= req.limit <= MAX_LIMIT:
            raise InvalidRequest("bad limit", fields={"limit": f"1 to {MAX_LIMIT}"})
        rng = export_range(self.rt, req.from_date, req.to_date)
        with self.rt.db.unit_of_work() as s:
            rows, nxt = PAGES[req.name](s, who.school_id, rng, req.cursor, req.limit or DEFAULT_LIMIT)
        return pb.ListExportRowsResponse(next_cursor=nxt, **rows)

    def get_export_totals(self, who: Identity, req: pb.GetExportTotalsRequest) -> pb.GetExportTotalsResponse:
        """Staff: each export's row count and the sum of its amount column (invoices: their totals;
        operations: signed) for ``from``..``to``, as SQL sums over the rows the export lists."""
        who.require_staff()
        rng = export_range(self.rt, req.from_date, req.to_date)
        school = who.school_id
        with self.rt.db.unit_of_work() as s:
            totals = {
                "invoices": q.invoices_total(s, school, rng.first, rng.last),
                "payments": q.payments_total(s, school, rng.start, rng.end),
                "operations": q.operations_total(s, school, rng.start, rng.end),
                "sales": q.sale_lines_total(s, school, rng.start, rng.end),
            }
        return pb.GetExportTotalsResponse(
            totals=[pb.ExportTotal(name=n, rows=totals[n][0], total_cents=totals[n][1]) for n in EXPORTS],
            starts_at=utc(rng.start).isoformat(),
            ends_at=utc(rng.end).isoformat(),
        )
