"""Orders: the ordering periods, their catalogs, summaries and orders; what staff add to a catalog,
change, withdraw and read (a period's orders, with the students' names from auth and the invoices'
statuses from finance)."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from flask import current_app

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2
from cartable.orders.v1 import orders_pb2
from gateway.clients import rpc, rpc_future

PLACE_TIMEOUT = 15  # placing an order also invoices it (finance) and may start its online payment


def list_open_periods(child_id: str, timeout: float | None = None) -> list[orders_pb2.OrderPeriod]:
    """The periods open now for the child (the menu's order tabs ask with a short ``timeout``)."""
    req = orders_pb2.ListOpenPeriodsRequest(student_id=child_id)
    return list(rpc("orders", "ListOpenPeriods", req, timeout=timeout).periods)


def list_periods() -> list[orders_pb2.OrderPeriod]:
    """Every ordering period of the school (staff)."""
    return list(rpc("orders", "ListPeriods", orders_pb2.ListPeriodsRequest()).periods)


def catalog(period_id: str, child_id: str):
    return rpc("orders", "GetCatalog", orders_pb2.GetCatalogRequest(period_id=period_id, student_id=child_id))


def summarize(period_id: str, child_id: str, ids: list[str]):
    return rpc(
        "orders",
        "SummarizeOrder",
        orders_pb2.SummarizeOrderRequest(period_id=period_id, student_id=child_id, item_ids=ids),
    )


def place(period_id: str, child_id: str, ids: list[str], key: str):
    return_url = f"{current_app.config['PUBLIC_BASE_URL']}/paiements/retour"
    return rpc(
        "orders",
        "PlaceOrder",
        orders_pb2.PlaceOrderRequest(
            period_id=period_id, student_id=child_id, item_ids=ids, idempotency_key=key, return_url=return_url
        ),
        timeout=PLACE_TIMEOUT,
    )


def create_period(title: str, notes: str, opens_at: str, closes_at: str, class_names: list[str]) -> str:
    req = orders_pb2.CreatePeriodRequest(
        title=title, notes=notes, opens_at=opens_at, closes_at=closes_at, class_names=class_names
    )
    return rpc("orders", "CreatePeriod", req).id


def add_item(
    period_id: str,
    *,
    subject: str,
    title: str,
    comment: str,
    type: str,
    price_cents: int,
    key: str,
    reference: str,
) -> str:
    """One item in a period's catalog (once per ``key`` when given); ``reference`` names what it sells
    (``photo:<id>``), so withdrawing that thing takes the item off sale."""
    req = orders_pb2.AddItemRequest(
        period_id=period_id,
        subject=subject,
        title=title,
        comment=comment,
        type=type,
        price_cents=price_cents,
        idempotency_key=key,
        reference=reference,
    )
    return rpc("orders", "AddItem", req).id


def withdraw_items(references: list[str]) -> None:
    """Take the items selling these things off every period's catalog (placed orders keep them)."""
    rpc("orders", "WithdrawItems", orders_pb2.WithdrawItemsRequest(references=references))


def record_book_return(student_id: str, credit_cents: int, note: str) -> orders_pb2.RecordBookReturnResponse:
    req = orders_pb2.RecordBookReturnRequest(student_id=student_id, credit_cents=credit_cents, note=note)
    return rpc("orders", "RecordBookReturn", req)


# -- the school's back office: a period's orders, totals, changes -----------------------------------

ORDERS_PAGE_MAX = 200
INVOICE_DEADLINE = 5.0  # the invoices' statuses are read in parallel; a late finance gives "unknown"
log = logging.getLogger("gateway.orders")


def update_period(period_id: str, changes: dict) -> orders_pb2.OrderPeriod:
    """The period's fields in ``changes`` (title, notes, opens_at, closes_at: str; class_names: list)
    changed; orders checks the result as a new period."""
    req = orders_pb2.UpdatePeriodRequest(period_id=period_id)
    for name in ("title", "notes", "opens_at", "closes_at"):
        if name in changes:
            setattr(req, name, changes[name])
    if "class_names" in changes:
        req.set_class_names = True
        req.class_names.extend(changes["class_names"])
    return rpc("orders", "UpdatePeriod", req).period


def withdraw_item(period_id: str, item_id: str) -> None:
    """One item off the period's catalog (placed orders keep it); not_found when not the period's."""
    rpc("orders", "WithdrawItem", orders_pb2.WithdrawItemRequest(period_id=period_id, item_id=item_id))


def period_totals(period_id: str) -> list[orders_pb2.ItemTotal]:
    """Every item of the period (withdrawn ones flagged) with how many were ordered."""
    return list(
        rpc("orders", "GetPeriodTotals", orders_pb2.GetPeriodTotalsRequest(period_id=period_id)).items
    )


def find_period(period_id: str) -> orders_pb2.OrderPeriod | None:
    """One period of the school, with its order count (None when not the school's)."""
    return next((p for p in list_periods() if p.id == period_id), None)


def _students(ids: list[str]) -> dict[str, Any]:
    """The school's students with these ids, those who left included: auth's lookup by ids answers
    the active ones; the others are asked again among the leavers (pages of 200)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = {
        s.id: s
        for s in rpc("auth", "ListStudents", auth_pb2.ListStudentsRequest(student_ids=wanted)).students
    }
    missing = [i for i in wanted if i not in found]
    cursor = ""
    while missing:
        page = rpc(
            "auth",
            "ListStudents",
            auth_pb2.ListStudentsRequest(student_ids=missing, status="left", limit=200, cursor=cursor),
        )
        found.update({s.id: s for s in page.students})
        cursor = page.next_cursor
        if not cursor:
            break
    return found


def _invoice_statuses(ids: list[str]) -> dict[str, str]:
    """Each invoice's status as finance says it (GetInvoice, in parallel: finance offers no read of
    several invoices by id); "unknown" for one finance does not answer in time."""
    futures = {}
    for invoice_id in sorted(set(i for i in ids if i)):
        try:
            futures[invoice_id] = rpc_future(
                "finance",
                "GetInvoice",
                finance_pb2.GetInvoiceRequest(invoice_id=invoice_id),
                timeout=INVOICE_DEADLINE,
            )
        except Exception:  # noqa: BLE001 - a call that cannot start leaves that status unknown
            log.warning("invoice status not asked", extra={"invoice_id": invoice_id})
    out = {}
    for invoice_id, fut in futures.items():
        try:
            out[invoice_id] = fut.result().invoice.status or "unknown"
        except grpc.RpcError as exc:
            log.warning("invoice status unknown", extra={"invoice_id": invoice_id, "code": str(exc.code())})
            out[invoice_id] = "unknown"
    return out


def _order_json(o: orders_pb2.PeriodOrder, students: dict, statuses: dict) -> dict[str, Any]:
    st = students.get(o.student_id)
    return {
        "id": o.id,
        "student_id": o.student_id,
        "student_name": f"{st.first_name} {st.last_name}" if st else "",
        "class_name": st.class_name if st else "",
        "placed_at": o.placed_at,
        "grand_total_cents": o.grand_total_cents,
        "invoice_id": o.invoice_id or None,
        "invoice_status": statuses.get(o.invoice_id, "unknown"),
        "lines": [
            {
                "item_id": li.item_id,
                "subject": li.subject,
                "title": li.title,
                "type": li.type,
                "price_cents": li.price_cents,
            }
            for li in o.lines
        ],
    }


def period_orders(period_id: str, limit: int, cursor: str) -> tuple[list[dict[str, Any]], str]:
    """A page of the period's orders as the API answers them (who from auth, paid or not from
    finance: orders keeps neither a name nor a class); and the next cursor ("" on the last page)."""
    page = rpc(
        "orders",
        "ListPeriodOrders",
        orders_pb2.ListPeriodOrdersRequest(period_id=period_id, limit=limit, cursor=cursor),
    )
    students = _students([o.student_id for o in page.orders])
    statuses = _invoice_statuses([o.invoice_id for o in page.orders])
    return [_order_json(o, students, statuses) for o in page.orders], page.next_cursor


def all_period_orders(period_id: str) -> list[dict[str, Any]]:
    """Every order of the period (for the distribution list), page after page."""
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        items, cursor = period_orders(period_id, ORDERS_PAGE_MAX, cursor)
        out += items
        if not cursor:
            return out
