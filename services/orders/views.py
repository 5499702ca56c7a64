"""The orders service's values as the messages its API answers (instants in RFC 3339)."""

from __future__ import annotations

from cartable.orders.v1 import orders_pb2 as pb
from kit.db import aware
from services.orders.domain.periods import Period
from services.orders.domain.pricing import Summary


def period_pb(p: Period, orders_count: int = 0) -> pb.OrderPeriod:
    return pb.OrderPeriod(
        orders_count=orders_count,
        id=p.id,
        title=p.title,
        notes=p.notes,
        opens_at=p.opens_at.isoformat(),
        closes_at=p.closes_at.isoformat(),
        class_names=list(p.class_names),
    )


def catalog_item_pb(row) -> pb.CatalogItem:
    return pb.CatalogItem(
        id=row.id,
        subject=row.subject,
        title=row.title,
        comment=row.comment,
        type=row.type,
        price_cents=row.price_cents,
    )


def summary_pb(s: Summary) -> pb.SummarizeOrderResponse:
    """The "récapitulatif": the chosen lines, the subtotal, the credit taken off, the grand total."""
    return pb.SummarizeOrderResponse(
        lines=[
            pb.SummaryLine(
                item_id=i.id, subject=i.subject, title=i.title, type=i.type, price_cents=i.price_cents
            )
            for i in s.lines
        ],
        subtotal_cents=s.subtotal_cents,
        credit_cents=s.credit_cents,
        grand_total_cents=s.grand_total_cents,
    )


def period_order_pb(row, lines) -> pb.PeriodOrder:
    """A placed order for the staff's list, with its lines as they were ordered."""
    return pb.PeriodOrder(
        id=row.id,
        student_id=row.student_id,
        placed_at=aware(row.created_at).isoformat(),
        grand_total_cents=row.grand_total_cents,
        subtotal_cents=row.subtotal_cents,
        credit_cents=row.credit_cents,
        invoice_id=row.invoice_id or "",
        lines=[
            pb.PeriodOrderLine(
                item_id=li.item_id,
                subject=li.subject,
                title=li.title,
                type=li.type,
                price_cents=li.price_cents,
            )
            for li in lines
        ],
    )


def item_total_pb(row, ordered: int) -> pb.ItemTotal:
    return pb.ItemTotal(
        item_id=row.id,
        subject=row.subject,
        title=row.title,
        comment=row.comment,
        type=row.type,
        price_cents=row.price_cents,
        ordered=ordered,
        withdrawn=row.withdrawn_at is not None,
    )
