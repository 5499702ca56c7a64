"""What staff read of a period's orders: the placed orders page by page (a keyset cursor on the
instant placed and the id), and how many of each item to hand out.

Orders keeps no student's name nor class (auth owns them, and a class changes): the gateway adds them
from auth in one lookup per page."""

from __future__ import annotations

from datetime import datetime

from cartable.orders.v1 import orders_pb2 as pb
from kit import paging
from kit.errors import InvalidRequest
from kit.identity import Identity
from kit.service import Runtime
from services.orders import db_staff, views
from services.orders.domain.pricing import catalog_order
from services.orders.use_cases.common import load_period

DEFAULT_LIMIT, MAX_LIMIT = paging.DEFAULT_LIMIT, paging.MAX_LIMIT


def encode_cursor(at: datetime, order_id: str) -> str:
    return paging.encode_cursor([at.isoformat(), order_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The key a next_cursor holds; InvalidRequest (fields.cursor) for anything else."""
    try:
        at, order_id = paging.decode_cursor(cursor, 2)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(cursor)
        return when, order_id
    except ValueError:
        raise InvalidRequest("unknown cursor", fields={"cursor": "a next_cursor given before"}) from None


class StaffOrders:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def list_period_orders(
        self, who: Identity, period_id: str, limit: int, cursor: str
    ) -> pb.ListPeriodOrdersResponse:
        """Staff: the period's placed orders with their lines, the first placed first, ``limit`` a page
        (1-200, 0: 50) from ``cursor``; another school's period is not found."""
        who.require_staff()
        if limit < 0 or limit > MAX_LIMIT:
            raise InvalidRequest("limit out of range", fields={"limit": f"1 to {MAX_LIMIT}"})
        size = limit or DEFAULT_LIMIT
        after = decode_cursor(cursor) if cursor else None
        with self.rt.db.unit_of_work() as s:
            load_period(s, who, period_id)
            rows = list(db_staff.period_orders_page(s, who.school_id, period_id, after, size + 1))
            more = len(rows) > size
            rows = rows[:size]
            lines = db_staff.lines_of(s, [r.id for r in rows])
        return pb.ListPeriodOrdersResponse(
            orders=[views.period_order_pb(r, lines[r.id]) for r in rows],
            next_cursor=encode_cursor(db_staff.created_at(rows[-1]), rows[-1].id) if more else "",
        )

    def get_period_totals(self, who: Identity, period_id: str) -> pb.GetPeriodTotalsResponse:
        """Staff: every item of the period's catalog (withdrawn ones too) with how many placed orders
        hold it, by subject then title: what to hand out."""
        who.require_staff()
        with self.rt.db.unit_of_work() as s:
            load_period(s, who, period_id)
            counts = db_staff.ordered_per_item(s, who.school_id, period_id)
            items = sorted(db_staff.all_items(s, period_id), key=catalog_order)
        return pb.GetPeriodTotalsResponse(items=[views.item_total_pb(r, counts.get(r.id, 0)) for r in items])
