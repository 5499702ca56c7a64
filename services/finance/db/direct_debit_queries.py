"""Queries of automatic top-ups, their triggers, collection batches and their items (issue #18).

"Live" means still to be collected: a trigger ``pending`` (waiting for a batch) or ``batched``, an item
``pending`` (in a batch the bank has not credited). Partial unique indexes keep one live trigger per
wallet and one live item per invoice and per trigger; the inserts here use ``ON CONFLICT DO NOTHING``
on them, so two batches built at once each get what the other did not take (PostgreSQL waits for
the other transaction's rows before deciding), never the same item.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.finance.db.tables import (
    auto_top_up_triggers,
    auto_top_ups,
    direct_debit_batches,
    direct_debit_items,
    invoices,
    mandates,
    structured_communications,
    wallet_types,
    wallets,
)
from services.finance.db.wallet_queries import chunks

LIVE_TRIGGER = ("pending", "batched")
_LIVE_TRIGGER_WHERE = text("status IN ('pending', 'batched')")
_LIVE_INVOICE_WHERE = text("status = 'pending' AND invoice_id IS NOT NULL")
_LIVE_TRIGGER_ITEM_WHERE = text("status = 'pending' AND trigger_id IS NOT NULL")
t, it, b = auto_top_up_triggers, direct_debit_items, direct_debit_batches


def _insert(s: Session, table):
    return (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert(table)


# --- automatic top-ups and their triggers ----------------------------------------------------------


def auto_top_up(s: Session, wallet_id: str) -> Row[Any] | None:
    return s.execute(select(auto_top_ups).where(auto_top_ups.c.wallet_id == wallet_id)).first()


def save_auto_top_up(s: Session, wallet_id: str, **values: Any) -> None:
    """Insert or replace the wallet's automatic top-up."""
    stmt = _insert(s, auto_top_ups).values(wallet_id=wallet_id, **values)
    s.execute(stmt.on_conflict_do_update(index_elements=["wallet_id"], set_=values))


def disable_auto_top_ups(s: Session, school_id: str, student_ids: Iterable[str], at: datetime) -> list[str]:
    """Turn off the automatic top-ups of the students' wallets; the wallets' ids."""
    ids = sorted(set(student_ids))
    if not ids:
        return []
    wallet_ids = list(
        s.execute(
            select(auto_top_ups.c.wallet_id)
            .join(wallets, wallets.c.id == auto_top_ups.c.wallet_id)
            .where(wallets.c.student_id.in_(ids), wallets.c.school_id == school_id, auto_top_ups.c.enabled)
        ).scalars()
    )
    if wallet_ids:
        s.execute(
            update(auto_top_ups)
            .where(auto_top_ups.c.wallet_id.in_(wallet_ids))
            .values(enabled=False, updated_at=at)
        )
    return wallet_ids


def live_triggers(s: Session, wallet_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """The live trigger of each wallet that has one."""
    ids = list(wallet_ids)
    if not ids:
        return {}
    rows = s.execute(select(t).where(t.c.wallet_id.in_(ids), t.c.status.in_(LIVE_TRIGGER))).all()
    return {r.wallet_id: r for r in rows}


def insert_trigger(s: Session, **values: Any) -> bool:
    """A pending trigger for the wallet, unless it has a live one already (then nothing: False)."""
    stmt = (
        _insert(s, t)
        .values(status="pending", **values)
        .on_conflict_do_nothing(index_elements=["wallet_id"], index_where=_LIVE_TRIGGER_WHERE)
        .returning(t.c.id)
    )
    return s.execute(stmt).first() is not None


def withdraw_pending_triggers(
    s: Session,
    school_id: str,
    *,
    wallet_ids: Iterable[str] = (),
    student_ids: Iterable[str] = (),
    at: datetime,
) -> int:
    """Withdraw the triggers still waiting for a batch (not those in one) of the wallets or students."""
    conds = []
    if wallet_ids := list(wallet_ids):
        conds.append(t.c.wallet_id.in_(wallet_ids))
    if student_ids := list(student_ids):
        conds.append(t.c.student_id.in_(student_ids))
    if not conds:
        return 0
    result = s.execute(
        update(t)
        .where(t.c.school_id == school_id, t.c.status == "pending", or_(*conds))
        .values(status="withdrawn", updated_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def withdraw_orphan_triggers(s: Session, school_id: str, covered: Iterable[str], at: datetime) -> None:
    """Withdraw the school's pending triggers of students no active mandate covers (``covered``: those
    one does): a revocation that raced a sale's trigger leaves nothing to collect behind."""
    q = update(t).where(t.c.school_id == school_id, t.c.status == "pending")
    if covered := sorted(set(covered)):
        q = q.where(t.c.student_id.not_in(covered))
    s.execute(q.values(status="withdrawn", updated_at=at))


def set_trigger_status(s: Session, ids: Iterable[str], status: str, at: datetime) -> None:
    ids = sorted(set(ids))
    if ids:
        s.execute(update(t).where(t.c.id.in_(ids)).values(status=status, updated_at=at))


def wallets_to_trigger(s: Session, school_id: str, student_ids: Iterable[str]) -> list[Any]:
    """Wallets of the students whose automatic top-up is on and whose balance is under its threshold,
    with no live trigger: id, student_id, balance_cents, threshold_cents, amount_cents, name."""
    ids = sorted(set(student_ids))
    if not ids:
        return []
    a = auto_top_ups
    live = exists().where(t.c.wallet_id == wallets.c.id, t.c.status.in_(LIVE_TRIGGER))
    return list(
        s.execute(
            select(
                wallets.c.id,
                wallets.c.student_id,
                wallets.c.balance_cents,
                a.c.threshold_cents,
                a.c.amount_cents,
                wallet_types.c.name,
            )
            .join(a, a.c.wallet_id == wallets.c.id)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .where(
                wallets.c.school_id == school_id,
                wallets.c.student_id.in_(ids),
                a.c.enabled,
                wallets.c.balance_cents < a.c.threshold_cents,
                ~live,
            )
            .order_by(wallets.c.id)
        ).all()
    )


def claim_pending_triggers(
    s: Session, school_id: str, student_ids: Iterable[str], at: datetime
) -> list[Row[Any]]:
    """Mark the students' pending triggers batched and return them (with the wallet's name and its
    current communication's digits). A trigger a concurrent batch claimed first is not returned: its
    UPDATE waits for that batch, then no longer finds it pending."""
    ids = sorted(set(student_ids))
    if not ids:
        return []
    claimed = s.execute(
        update(t)
        .where(t.c.school_id == school_id, t.c.status == "pending", t.c.student_id.in_(ids))
        .values(status="batched", updated_at=at)
        .returning(t.c.id)
    ).scalars()
    claimed_ids = sorted(claimed)
    if not claimed_ids:
        return []
    sc = structured_communications
    return list(
        s.execute(
            select(t, wallet_types.c.name, sc.c.digits)
            .join(wallets, wallets.c.id == t.c.wallet_id)
            .join(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
            .outerjoin(sc, and_(sc.c.wallet_id == wallets.c.id, sc.c.valid_until.is_(None)))
            .where(t.c.id.in_(claimed_ids))
            .order_by(t.c.id)
        ).all()
    )


# --- batches and items -----------------------------------------------------------------------------


def invoices_to_collect(
    s: Session, school_id: str, due_by: date, student_ids: Iterable[str]
) -> list[Row[Any]]:
    """The students' open invoices due by ``due_by`` and in no live item, locked (in id order), with
    their communication's digits."""
    ids = sorted(set(student_ids))
    if not ids:
        return []
    live = exists().where(it.c.invoice_id == invoices.c.id, it.c.status == "pending")
    sc = structured_communications
    found = list(
        s.execute(
            select(invoices.c.id)
            .where(
                invoices.c.school_id == school_id,
                invoices.c.student_id.in_(ids),
                invoices.c.status.in_(("unpaid", "partially_paid")),
                invoices.c.due_on <= due_by,
                ~live,
            )
            .order_by(invoices.c.id)
            .with_for_update()
        ).scalars()
    )
    if not found:
        return []
    return list(
        s.execute(
            select(invoices, sc.c.digits)
            .join(sc, sc.c.invoice_id == invoices.c.id)
            .where(invoices.c.id.in_(found))
            .order_by(invoices.c.id)
        ).all()
    )


def insert_batch(s: Session, **values: Any) -> None:
    s.execute(b.insert().values(**values))


def insert_items(s: Session, rows: list[dict]) -> set[str]:
    """Insert the items; an invoice or trigger already in a live item (a concurrent batch took it)
    is skipped. The ids inserted."""
    done: set[str] = set()
    for row in rows:
        where = _LIVE_INVOICE_WHERE if row.get("invoice_id") else _LIVE_TRIGGER_ITEM_WHERE
        column = "invoice_id" if row.get("invoice_id") else "trigger_id"
        stmt = (
            _insert(s, it)
            .values(**row)
            .on_conflict_do_nothing(index_elements=[column], index_where=where)
            .returning(it.c.id)
        )
        if s.execute(stmt).first() is not None:
            done.add(row["id"])
    return done


def batch_row(s: Session, school_id: str, batch_id: str, *, lock: bool = False) -> Row[Any] | None:
    q = select(b).where(b.c.id == batch_id, b.c.school_id == school_id)
    return s.execute(q.with_for_update() if lock else q).first()


def batches_by_message_id(
    s: Session, school_id: str, message_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Row[Any]]:
    """The school's batches by message id (locked, in id order, with ``lock``)."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    q = select(b).where(b.c.school_id == school_id, b.c.message_id.in_(ids)).order_by(b.c.id)
    rows = s.execute(q.with_for_update() if lock else q).all()
    return {r.message_id: r for r in rows}


def batches_page(
    s: Session, school_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[Row[Any]]:
    """The school's batches, newest first, ``limit`` after the batch ``after`` (created_at, id)."""
    q = select(b).where(b.c.school_id == school_id)
    if after is not None:
        at, batch_id = after
        q = q.where(or_(b.c.created_at < at, and_(b.c.created_at == at, b.c.id < batch_id)))
    return list(s.execute(q.order_by(b.c.created_at.desc(), b.c.id.desc()).limit(limit)).all())


def _items_query():
    return (
        select(
            it,
            mandates.c.reference.label("mandate_reference"),
            mandates.c.holder_name,
            mandates.c.iban.label("debtor_iban"),
            mandates.c.bic.label("debtor_bic"),
            mandates.c.signed_at.label("mandate_signed_at"),
            invoices.c.number.label("invoice_number"),
            wallet_types.c.name.label("wallet_name"),
        )
        .join(mandates, mandates.c.id == it.c.mandate_id)
        .outerjoin(invoices, invoices.c.id == it.c.invoice_id)
        .outerjoin(wallets, wallets.c.id == it.c.wallet_id)
        .outerjoin(wallet_types, wallet_types.c.id == wallets.c.wallet_type_id)
    )


def items_of(s: Session, batch_ids: Iterable[str]) -> list[Row[Any]]:
    """The batches' items (with their mandate's reference, holder and account, the invoice's number,
    the wallet's name), in the order they were made."""
    ids = list(batch_ids)
    if not ids:
        return []
    return list(
        s.execute(_items_query().where(it.c.batch_id.in_(ids)).order_by(it.c.created_at, it.c.id)).all()
    )


def items_by_end_to_end_id(
    s: Session, school_id: str, e2e_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Row[Any]]:
    """The school's items by end-to-end id (locked, in id order, with ``lock``)."""
    out: dict[str, Row[Any]] = {}
    for chunk in chunks(sorted(set(e2e_ids))):
        q = select(it).where(it.c.school_id == school_id, it.c.end_to_end_id.in_(chunk)).order_by(it.c.id)
        out.update((r.end_to_end_id, r) for r in s.execute(q.with_for_update() if lock else q).all())
    return out


def pending_items_of(s: Session, batch_ids: Iterable[str], *, lock: bool = False) -> list[Row[Any]]:
    """The batches' pending items (locked, in id order, with ``lock``)."""
    ids = sorted(set(batch_ids))
    if not ids:
        return []
    q = select(it).where(it.c.batch_id.in_(ids), it.c.status == "pending").order_by(it.c.id)
    return list(s.execute(q.with_for_update() if lock else q).all())


def item_row(s: Session, item_id: str) -> Row[Any]:
    return s.execute(select(it).where(it.c.id == item_id)).one()


def batch_totals(s: Session, batch_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per batch: count and total_cents of its items not withdrawn, collected_cents (collected or
    returned since), returned_cents, pending (how many the bank has not credited yet)."""
    ids = list(batch_ids)
    out = {
        i: {"count": 0, "total_cents": 0, "collected_cents": 0, "returned_cents": 0, "pending": 0}
        for i in ids
    }
    if not ids:
        return out
    for batch_id, status, n, cents in s.execute(
        select(it.c.batch_id, it.c.status, func.count(), func.coalesce(func.sum(it.c.amount_cents), 0))
        .where(it.c.batch_id.in_(ids))
        .group_by(it.c.batch_id, it.c.status)
    ):
        cents = int(cents)
        if status == "withdrawn":
            continue
        out[batch_id]["count"] += int(n)
        out[batch_id]["total_cents"] += cents
        if status in ("collected", "returned"):
            out[batch_id]["collected_cents"] += cents
        if status == "returned":
            out[batch_id]["returned_cents"] += cents
        if status == "pending":
            out[batch_id]["pending"] += int(n)
    return out


def update_item(s: Session, item_id: str, **values: Any) -> None:
    s.execute(update(it).where(it.c.id == item_id).values(**values))


def update_batch(s: Session, batch_id: str, **values: Any) -> None:
    s.execute(update(b).where(b.c.id == batch_id).values(**values))


def withdraw_unsent_items(s: Session, mandate_id: str) -> list[Row[Any]]:
    """Withdraw the mandate's pending items of batches whose file was never fetched (not sent to the
    bank); the items withdrawn."""
    unsent = select(b.c.id).where(b.c.file_fetched_at.is_(None))
    rows = list(
        s.execute(
            select(it)
            .where(it.c.mandate_id == mandate_id, it.c.status == "pending", it.c.batch_id.in_(unsent))
            .with_for_update()
        ).all()
    )
    if rows:
        s.execute(update(it).where(it.c.id.in_([r.id for r in rows])).values(status="withdrawn"))
    return rows


# --- what views show -------------------------------------------------------------------------------


def invoices_collecting(s: Session, invoice_ids: Iterable[str]) -> set[str]:
    """Which of the invoices are in a batch the bank has not credited yet."""
    ids = list(invoice_ids)
    if not ids:
        return set()
    return set(
        s.execute(select(it.c.invoice_id).where(it.c.invoice_id.in_(ids), it.c.status == "pending")).scalars()
    )


def wallet_collection_states(s: Session, wallet_ids: Iterable[str]) -> dict[str, tuple[Any | None, int, int]]:
    """Per wallet: its automatic top-up (``enabled``, ``threshold_cents``, ``amount_cents``; None when
    never set), the amount of its live trigger (0 when none) and what batches not credited yet collect
    for it. One statement (the wallets page reads it on every dashboard load, issue #20)."""
    ids = list(wallet_ids)
    if not ids:
        return {}
    a = auto_top_ups
    live = (
        select(t.c.amount_cents)
        .where(t.c.wallet_id == wallets.c.id, t.c.status.in_(LIVE_TRIGGER))
        .limit(1)
        .scalar_subquery()
    )
    collecting = (
        select(func.sum(it.c.amount_cents))
        .where(it.c.wallet_id == wallets.c.id, it.c.status == "pending")
        .scalar_subquery()
    )
    rows = s.execute(
        select(
            wallets.c.id,
            a.c.wallet_id.label("auto_wallet_id"),
            a.c.enabled,
            a.c.threshold_cents,
            a.c.amount_cents,
            live.label("live_cents"),
            collecting.label("collecting_cents"),
        )
        .outerjoin(a, a.c.wallet_id == wallets.c.id)
        .where(wallets.c.id.in_(ids))
    ).all()
    found = {
        r.id: (
            r if r.auto_wallet_id is not None else None,
            int(r.live_cents or 0),
            int(r.collecting_cents or 0),
        )
        for r in rows
    }
    return {w: found.get(w, (None, 0, 0)) for w in ids}
