"""Orders: the ordering periods, their catalogs, summaries and orders; what staff add to a catalog."""

from __future__ import annotations

from flask import current_app

from cartable.orders.v1 import orders_pb2
from gateway.clients import rpc

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
