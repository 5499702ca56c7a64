"""The till (issue #17): finance's price list (TillService, served by the finance server beside
FinanceService), finding a child by name or class (auth's student list), and a sale booked from a
cart of items (FinanceService.RecordSale, its lines taken from the items). The JSON API
(``gateway.api.till``) and the pages (``gateway.pages.till``) call these."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, till_pb2
from gateway.calls import finance
from gateway.clients import rpc, rpc_future
from kit.errors import NotFound, from_rpc_error

SEARCH_LIMIT = 20
SEARCH_TIMEOUT = 3.0
# The fields SaveTillItem may set (its optional fields).
ITEM_FIELDS = ("label", "price_cents", "wallet_type_id", "childcare", "days", "position", "active")
# A sale line's days of care: at most a year's (finance's rule for every line, domain/lines.py).
MAX_DAYS = 366


def _till(method: str, request, timeout: float | None = None):
    """``TillService.method`` on the finance server's channel, with the caller's identity token."""
    return rpc("till", method, request, timeout=timeout)


# -- the price list ---------------------------------------------------------------------------------


def list_items(include_archived: bool = False) -> list[till_pb2.TillItem]:
    req = till_pb2.ListTillItemsRequest(include_archived=include_archived)
    return list(_till("ListTillItems", req).items)


def find_item(item_id: str) -> till_pb2.TillItem:
    """One item of the price list (archived ones too); NotFound otherwise."""
    for item in list_items(include_archived=True):
        if item.id == item_id:
            return item
    raise NotFound("no such till item")


def save_item(item_id: str = "", key: str = "", **fields) -> till_pb2.SaveTillItemResponse:
    """Create an item (no ``item_id``) or set ``fields`` (of ITEM_FIELDS) on one; finance checks
    them (InvalidRequest naming each bad field) and that ids are the school's (NotFound)."""
    req = till_pb2.SaveTillItemRequest(item_id=item_id, idempotency_key=key)
    for name, value in fields.items():
        if name not in ITEM_FIELDS:
            raise ValueError(name)
        setattr(req, name, value)
    return _till("SaveTillItem", req)


def remove_item(item_id: str) -> till_pb2.RemoveTillItemResponse:
    return _till("RemoveTillItem", till_pb2.RemoveTillItemRequest(item_id=item_id))


# -- finding the child ------------------------------------------------------------------------------


def search_students(text: str, limit: int = SEARCH_LIMIT) -> list[auth_pb2.Student]:
    """The school's active students whose class is ``text`` (as typed, or in capitals: "3a" finds
    3A) first, then those with ``text`` in a name (any part, accents and case ignored): auth asked
    once per reading, all at once."""
    text = " ".join((text or "").split())[:100]
    if not text:
        return []
    asks = [
        auth_pb2.ListStudentsRequest(class_name=c, status="active", limit=limit)
        for c in dict.fromkeys([text, text.upper()])
    ]
    asks.append(auth_pb2.ListStudentsRequest(q=text, status="active", limit=limit))
    futures = [rpc_future("auth", "ListStudents", req, timeout=SEARCH_TIMEOUT) for req in asks]
    found: dict[str, auth_pb2.Student] = {}
    try:
        for fut in futures:
            for s in fut.result().students:
                found.setdefault(s.id, s)
    except grpc.RpcError as exc:
        for fut in futures:
            fut.cancel()
        raise from_rpc_error(exc) from None
    return list(found.values())[: limit * 2]


# -- a sale -----------------------------------------------------------------------------------------


def sale_lines(cart: Iterable[tuple[str, int]], items: dict[str, till_pb2.TillItem]) -> list:
    """The sale's lines from ``(item id, quantity)`` pairs: each item's label, price and childcare
    flag as the price list says them now. A childcare item's line pays for the item's days of care
    per unit times the quantity, capped at 366 (a year's: finance's limit for a line); any other
    line has 0 days. An item no longer offered: NotFound."""
    lines = []
    for item_id, quantity in cart:
        item = items.get(item_id)
        if item is None or item.archived or not item.active:
            raise NotFound("an item of the cart is no longer sold")
        lines.append(
            finance_pb2.SaleLineInput(
                label=item.label,
                quantity=quantity,
                unit_price_cents=item.price_cents,
                childcare=item.childcare,
                days=min(item.days * quantity, MAX_DAYS) if item.childcare else 0,
            )
        )
    return lines


def sell(
    student_id: str,
    wallet_id: str,
    cart: list[tuple[str, int]],
    items: dict[str, till_pb2.TillItem],
    key: str,
) -> finance_pb2.RecordSaleResponse:
    """Book the cart from the child's wallet, once per ``key`` (409 insufficient_balance when the
    wallet does not cover it: nothing is booked)."""
    return finance.record_sale(student_id, wallet_id, sale_lines(cart, items), key)


def counter(student_id: str) -> tuple[auth_pb2.Student, list[finance_pb2.Wallet], list[till_pb2.TillItem]]:
    """What the till shows for one child, asked at once: the student (one of the school's active
    students, else NotFound), their wallets with balances (finance) and the price list."""
    student = rpc_future(
        "auth", "ListStudents", auth_pb2.ListStudentsRequest(student_ids=[student_id]), timeout=5.0
    )
    wallets = rpc_future(
        "finance", "ListWallets", finance_pb2.ListWalletsRequest(student_id=student_id), timeout=5.0
    )
    items = rpc_future("till", "ListTillItems", till_pb2.ListTillItemsRequest(), timeout=5.0)
    futures = (student, wallets, items)
    try:
        found = list(student.result().students)
        answer = found, list(wallets.result().wallets), list(items.result().items)
    except grpc.RpcError as exc:
        for fut in futures:
            fut.cancel()
        raise from_rpc_error(exc) from None
    if not found or found[0].id != student_id:
        raise NotFound("no such student")
    return found[0], answer[1], answer[2]
