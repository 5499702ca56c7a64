"""Orders' part of a family's data (issue #21): the export of what orders holds on a parent and their
children, and the erasure when auth erases the family.

Orders holds no names in its columns: an order is the student's and the ordering parent's ids, the
period, the lines and the amounts. Finance invoiced those orders, so an erased family's orders stay
with their amounts and dates (the invoices' counterpart); what goes is what may name someone or is
only personal: the free-text note staff wrote on a book return (replaced by the student's pseudonym),
the order's checkout link, the stored answers to the parent's order requests, and the outbox rows
already published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.privacy.v1 import privacy_pb2 as privacy_pb
from kit.db import Database
from kit.family_data import Export, json_file, purge_published, rows
from kit.identity import Identity
from kit.privacy import ERASED_STUDENT, pseudonym
from services.orders import db
from services.orders.use_cases.ordering import idempotency_scope

# The note the service itself writes on the credit an order used (db.take_credit): names no one.
_ORDER_NOTE = "order"


def _orders(s: Session, school_id: str, parent_id: str, student_ids: list[str]) -> list[dict[str, Any]]:
    """The school's orders for these children or placed by this parent, oldest first, each with its
    period's title and its lines."""
    found = rows(
        s.execute(
            select(
                db.orders.c.id,
                db.orders.c.student_id,
                db.orders.c.account_id.label("placed_by_account_id"),
                db.orders.c.period_id,
                db.order_periods.c.title.label("period_title"),
                db.orders.c.status,
                db.orders.c.subtotal_cents,
                db.orders.c.credit_cents,
                db.orders.c.grand_total_cents,
                db.orders.c.invoice_id,
                db.orders.c.checkout_url,
                db.orders.c.created_at,
            )
            .join(db.order_periods, db.order_periods.c.id == db.orders.c.period_id)
            .where(
                db.orders.c.school_id == school_id,
                or_(db.orders.c.student_id.in_(student_ids), db.orders.c.account_id == parent_id),
            )
            .order_by(db.orders.c.created_at, db.orders.c.id)
        )
    )
    lines: dict[str, list[dict[str, Any]]] = {o["id"]: [] for o in found}
    if lines:
        for line in s.execute(
            select(
                db.order_lines.c.order_id,
                db.order_lines.c.subject,
                db.order_lines.c.title,
                db.order_lines.c.type,
                db.order_lines.c.price_cents,
            )
            .where(db.order_lines.c.order_id.in_(list(lines)))
            .order_by(db.order_lines.c.id)
        ):
            lines[line.order_id].append(
                {
                    "subject": line.subject,
                    "title": line.title,
                    "type": line.type,
                    "price_cents": line.price_cents,
                }
            )
    return [{**o, "lines": lines[o["id"]]} for o in found]


def _book_credits(s: Session, school_id: str, student_ids: list[str]) -> list[dict[str, Any]]:
    """Each child's book-return credit in the school: the balance and every movement, oldest first."""
    if not student_ids:
        return []
    accounts = s.execute(
        select(db.credit_accounts.c.student_id, db.credit_accounts.c.balance_cents)
        .where(
            db.credit_accounts.c.school_id == school_id,
            db.credit_accounts.c.student_id.in_(student_ids),
        )
        .order_by(db.credit_accounts.c.student_id)
    ).all()
    entries: dict[str, list[dict[str, Any]]] = {a.student_id: [] for a in accounts}
    for e in s.execute(
        select(
            db.credit_entries.c.id,
            db.credit_entries.c.student_id,
            db.credit_entries.c.amount_cents,
            db.credit_entries.c.note,
            db.credit_entries.c.order_id,
            db.credit_entries.c.created_at,
        )
        .where(
            db.credit_entries.c.school_id == school_id,
            db.credit_entries.c.student_id.in_(student_ids),
        )
        .order_by(db.credit_entries.c.created_at, db.credit_entries.c.id)
    ):
        entries.setdefault(e.student_id, []).append(
            {
                "id": e.id,
                "amount_cents": e.amount_cents,
                "note": e.note,
                "order_id": e.order_id,
                "created_at": e.created_at,
            }
        )
    balances = {a.student_id: a.balance_cents for a in accounts}
    return [
        {"student_id": sid, "balance_cents": balances.get(sid, 0), "entries": entries[sid]}
        for sid in sorted(entries)
    ]


def exporter(database: Database) -> Export:
    """The service's ``export(identity, parent_id, student_ids)`` (the caller already checked by
    ``kit.family_data``): ``orders/orders.json`` and ``orders/book_credits.json``, of the caller's
    school only."""

    def export(ident: Identity, parent_id: str, student_ids: list[str]) -> list[privacy_pb.ExportFile]:
        with database.unit_of_work() as s:
            orders = _orders(s, ident.school_id, parent_id, student_ids)
            credits = _book_credits(s, ident.school_id, student_ids)
        return [json_file("orders/orders.json", orders), json_file("orders/book_credits.json", credits)]

    return export


def erase(s: Session, event: auth_events.FamilyErased) -> None:
    """The family erased by auth, in its school: the orders stay (finance invoiced them: amounts,
    dates, lines and ids kept) without their checkout link; the erased children's book-return notes
    (free text that may name them) become their pseudonym, amounts kept; the parents' stored order
    answers go; published outbox rows are purged. Running it again changes nothing."""
    parent_ids, student_ids = list(event.parent_ids), list(event.student_ids)
    family = or_(db.orders.c.student_id.in_(student_ids), db.orders.c.account_id.in_(parent_ids))
    s.execute(
        update(db.orders)
        .where(db.orders.c.school_id == event.school_id, family, db.orders.c.checkout_url.is_not(None))
        .values(checkout_url=None)
    )
    for student_id in student_ids:
        s.execute(
            update(db.credit_entries)
            .where(
                db.credit_entries.c.school_id == event.school_id,
                db.credit_entries.c.student_id == student_id,
                db.credit_entries.c.note.not_in(["", _ORDER_NOTE]),
            )
            .values(note=pseudonym(ERASED_STUDENT, student_id))
        )
    if parent_ids:
        scopes = [idempotency_scope(p) for p in parent_ids]
        s.execute(delete(db.idempotency_keys).where(db.idempotency_keys.c.scope.in_(scopes)))
    purge_published(s, db.outbox)
