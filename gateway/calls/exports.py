"""The accountant's exports and the bank reconciliation (issue #17): finance's ExportsService, served by
the finance server beside FinanceService. The CSV route (``gateway.api.exports``) and the pages
(``gateway.pages.exports``) call these."""

from __future__ import annotations

from collections.abc import Iterator

from cartable.finance.v1 import exports_pb2 as pb
from gateway.clients import rpc

NAMES = ("invoices", "payments", "operations", "sales")
PAGE_ROWS = 1000  # rows per ListExportRows call: one page of the CSV stream
# A page of 1,000 rows joined across five tables takes longer than a page's read on a busy server.
EXPORT_TIMEOUT = 20.0


def _exports(method: str, request, timeout: float | None = None):
    """``ExportsService.method`` on the finance server's channel, with the caller's identity token."""
    return rpc("exports", method, request, timeout=timeout)


def export_page(name: str, first: str, last: str, cursor: str = "", limit: int = PAGE_ROWS):
    """One page of the export ``name`` for ``first``..``last`` (finance checks every value: 400 naming
    ``name``, ``from``, ``to``, ``cursor`` or ``limit``): (its rows, the next cursor or "")."""
    resp = _exports(
        "ListExportRows",
        pb.ListExportRowsRequest(name=name, from_date=first, to_date=last, cursor=cursor, limit=limit),
        timeout=EXPORT_TIMEOUT,
    )
    return list(getattr(resp, name)), resp.next_cursor


def export_pages(name: str, first: str, last: str, cursor: str) -> Iterator[list]:
    """The pages after ``cursor`` (the first page's next cursor), one call each, until the last."""
    while cursor:
        rows, cursor = export_page(name, first, last, cursor)
        yield rows


def export_totals(first: str, last: str) -> pb.GetExportTotalsResponse:
    """Each export's row count and amount total for the range."""
    return _exports("GetExportTotals", pb.GetExportTotalsRequest(from_date=first, to_date=last))


def statement_import(import_id: str, cursor: str = "", limit: int = 0) -> pb.GetStatementImportResponse:
    """One of the school's statement imports and a page of its movements (NotFound for another's)."""
    return _exports(
        "GetStatementImport",
        pb.GetStatementImportRequest(import_id=import_id[:36], cursor=cursor, limit=limit),
        timeout=EXPORT_TIMEOUT,
    )
