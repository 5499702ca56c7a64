"""What the orders service publishes: each event's routing key written once, beside its message.
Recorded in the outbox of the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.orders.v1 import events_pb2
from kit.service import Runtime


def order_placed(rt: Runtime, s: Session, order, lines, period_title: str, invoice_id: str) -> None:
    """The order is invoiced (what the confirmation mail lists); ``order`` and ``lines`` are its rows."""
    rt.record(
        s,
        "orders.order.placed.v1",
        events_pb2.OrderPlaced(
            order_id=order.id,
            student_id=order.student_id,
            period_id=order.period_id,
            invoice_id=invoice_id,
            grand_total_cents=order.grand_total_cents,
            period_title=period_title,
            credit_cents=order.credit_cents,
            items=[
                events_pb2.OrderedItem(
                    subject=ln.subject, title=ln.title, type=ln.type, price_cents=ln.price_cents
                )
                for ln in lines
            ],
        ),
        order.school_id,
    )
