"""The till's price list (``till_items``): the school's items with their wallet type's name, one item,
the next position, an item written or changed. Every query names the school: an item or a wallet type
of another school is not found here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from services.finance.db.tables import till_items, wallet_types

_COLUMNS = (*till_items.c, wallet_types.c.name.label("wallet_type_name"))


def _items_query(school_id: str):
    t = till_items
    return (
        select(*_COLUMNS)
        .select_from(t.outerjoin(wallet_types, wallet_types.c.id == t.c.wallet_type_id))
        .where(t.c.school_id == school_id)
    )


def items_of(s: Session, school_id: str, *, include_archived: bool = False) -> list[Row[Any]]:
    """The school's items by position then label (archived ones, when asked, after the others)."""
    t = till_items
    q = _items_query(school_id)
    if not include_archived:
        q = q.where(t.c.archived_at.is_(None))
    q = q.order_by(t.c.archived_at.is_not(None), t.c.position, t.c.label, t.c.id)
    return list(s.execute(q).all())


def item_of(s: Session, school_id: str, item_id: str, *, lock: bool = False) -> Row[Any] | None:
    """One item of the school (archived or not), with its wallet type's name; None for another
    school's or none. ``lock``: its row is locked until the transaction ends (PostgreSQL)."""
    q = _items_query(school_id).where(till_items.c.id == item_id)
    if lock and s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=till_items)  # not the outer-joined wallet type
    return s.execute(q).first()


def wallet_type_of_school(s: Session, school_id: str, type_id: str) -> bool:
    """Whether ``type_id`` is one of the school's wallet types."""
    q = select(wallet_types.c.id).where(wallet_types.c.id == type_id, wallet_types.c.school_id == school_id)
    return s.execute(q).first() is not None


def next_position(s: Session, school_id: str) -> int:
    """After the school's last item (0 for the first)."""
    q = select(func.max(till_items.c.position)).where(till_items.c.school_id == school_id)
    last = s.execute(q).scalar_one_or_none()
    return 0 if last is None else last + 1


def insert_item(
    s: Session,
    school_id: str,
    *,
    label: str,
    price_cents: int,
    wallet_type_id: str | None,
    childcare: bool,
    days: int,
    position: int,
    active: bool,
    now: datetime,
) -> str:
    item_id = str(uuid.uuid4())
    s.execute(
        till_items.insert().values(
            id=item_id,
            school_id=school_id,
            label=label,
            price_cents=price_cents,
            wallet_type_id=wallet_type_id,
            childcare=childcare,
            days=days,
            position=position,
            active=active,
            created_at=now,
            updated_at=now,
        )
    )
    return item_id


def update_item(s: Session, school_id: str, item_id: str, **values: Any) -> None:
    """Set ``values`` (column -> value) on the school's item."""
    s.execute(
        till_items.update()
        .where(till_items.c.id == item_id, till_items.c.school_id == school_id)
        .values(**values)
    )
