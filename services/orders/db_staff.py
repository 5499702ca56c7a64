"""The queries of the staff's side of textbook orders (periods' order counts, a period's orders page,
totals per item, one item withdrawn, a period changed); the tables are in ``db``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.orm import Session

from services.orders.db import aware, catalog_items, order_lines, order_periods, orders

PLACED = "placed"


def orders_counts(s: Session, school_id: str) -> dict[str, int]:
    """The number of placed orders of each period of the school (periods without any are left out)."""
    rows = s.execute(
        select(orders.c.period_id, func.count())
        .where(orders.c.school_id == school_id, orders.c.status == PLACED)
        .group_by(orders.c.period_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def update_period(s: Session, school_id: str, period_id: str, values: dict) -> None:
    """The period's columns in ``values`` changed (class_names given as a list)."""
    if "class_names" in values:
        values = {**values, "class_names": "\n".join(values["class_names"])}
    s.execute(
        update(order_periods)
        .where(order_periods.c.id == period_id, order_periods.c.school_id == school_id)
        .values(**values)
    )


def find_item(s: Session, period_id: str, item_id: str) -> Row | None:
    """The catalog item of that period (withdrawn or not); None when the period has no such item."""
    return s.execute(
        select(catalog_items).where(catalog_items.c.id == item_id, catalog_items.c.period_id == period_id)
    ).first()


def withdraw_item(s: Session, item_id: str, at: datetime) -> bool:
    """The item taken off sale; False when it already was."""
    done = s.execute(
        update(catalog_items)
        .where(catalog_items.c.id == item_id, catalog_items.c.withdrawn_at.is_(None))
        .values(withdrawn_at=at)
    )
    return bool(cast(CursorResult, done).rowcount)


def period_orders_page(
    s: Session, school_id: str, period_id: str, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Row]:
    """Up to ``limit`` placed orders of the period, by (created_at, id), after the key ``after``."""
    q = select(orders).where(
        orders.c.school_id == school_id, orders.c.period_id == period_id, orders.c.status == PLACED
    )
    if after is not None:
        at, last_id = after
        q = q.where(or_(orders.c.created_at > at, and_(orders.c.created_at == at, orders.c.id > last_id)))
    return s.execute(q.order_by(orders.c.created_at, orders.c.id).limit(limit)).all()


def lines_of(s: Session, order_ids: list[str]) -> dict[str, list[Row]]:
    """The lines of each order, in the order they were recorded."""
    out: dict[str, list[Row]] = {i: [] for i in order_ids}
    if not order_ids:
        return out
    rows = s.execute(
        select(order_lines).where(order_lines.c.order_id.in_(order_ids)).order_by(order_lines.c.id)
    ).all()
    for r in rows:
        out[r.order_id].append(r)
    return out


def ordered_per_item(s: Session, school_id: str, period_id: str) -> dict[str, int]:
    """How many times each item was ordered in the period's placed orders."""
    rows = s.execute(
        select(order_lines.c.item_id, func.count())
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(orders.c.school_id == school_id, orders.c.period_id == period_id, orders.c.status == PLACED)
        .group_by(order_lines.c.item_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def all_items(s: Session, period_id: str) -> Sequence[Row]:
    """Every catalog row of the period, withdrawn ones included."""
    return s.execute(select(catalog_items).where(catalog_items.c.period_id == period_id)).all()


def created_at(row: Row) -> datetime:
    return aware(row.created_at)
