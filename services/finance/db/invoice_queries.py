"""Queries of invoices, their lines and credit notes."""

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.orm import Session

from services.finance.db.booking import update_by_id
from services.finance.db.school import next_number
from services.finance.db.tables import credit_notes, invoice_lines, invoices, structured_communications
from services.finance.db.wallet_queries import in_sets


def find_invoice(s: Session, school_id: str, invoice_id: str, *, lock: bool = False):
    """The school's invoice, locked until commit with ``lock``; None when it has none of this id."""
    q = select(invoices).where(invoices.c.id == invoice_id, invoices.c.school_id == school_id)
    return s.execute(q.with_for_update() if lock else q).first()


def lock_invoice(s: Session, school_id: str, invoice_id: str):
    """The school's invoice (it must exist), locked until commit."""
    row = find_invoice(s, school_id, invoice_id, lock=True)
    if row is None:
        raise LookupError(f"no invoice {invoice_id}")
    return row


def invoice_row(s: Session, invoice_id: str):
    return s.execute(select(invoices).where(invoices.c.id == invoice_id)).one()


def student_invoices(s: Session, school_id: str, student_id: str, status: str = ""):
    """The student's invoices, newest first, optionally of one status."""
    q = select(invoices).where(invoices.c.student_id == student_id, invoices.c.school_id == school_id)
    if status:
        q = q.where(invoices.c.status == status)
    return s.execute(q.order_by(invoices.c.issued_on.desc(), invoices.c.number.desc())).all()


def invoice_number(s: Session, invoice_id: str) -> str | None:
    return s.execute(select(invoices.c.number).where(invoices.c.id == invoice_id)).scalar_one_or_none()


def invoice_number_and_title(s: Session, invoice_id: str):
    return s.execute(select(invoices.c.number, invoices.c.title).where(invoices.c.id == invoice_id)).one()


def invoice_digits(s: Session, invoice_id: str) -> str:
    """The invoice's structured communication (12 digits)."""
    sc = structured_communications
    return s.execute(select(sc.c.digits).where(sc.c.invoice_id == invoice_id)).scalar_one()


def invoices_digits(s: Session, ids: list[str]) -> dict[str, str]:
    sc = structured_communications
    return dict(s.execute(select(sc.c.invoice_id, sc.c.digits).where(sc.c.invoice_id.in_(ids))).all())


def lines_of(s: Session, ids: list[str]) -> dict[str, list]:
    """The invoices' lines in order, by invoice id."""
    out: dict[str, list] = {}
    for ln in s.execute(
        select(invoice_lines).where(invoice_lines.c.invoice_id.in_(ids)).order_by(invoice_lines.c.position)
    ):
        out.setdefault(ln.invoice_id, []).append(ln)
    return out


def insert_invoice(
    s: Session, lines: list[tuple[str, int, int, int]], attributes: Sequence = (), **values
) -> None:
    """An invoice row and its ``(label, quantity, unit price, amount)`` lines, each with its
    ``attributes`` (``domain.lines.LineAttributes``, in the lines' order; none: the defaults)."""
    s.execute(invoices.insert().values(**values))
    s.execute(
        invoice_lines.insert(),
        [
            {
                "invoice_id": values["id"],
                "position": i,
                "label": label,
                "quantity": qty,
                "unit_price_cents": unit,
                "amount_cents": amount,
                **_attribute_values(attributes[i] if i < len(attributes) else None),
            }
            for i, (label, qty, unit, amount) in enumerate(lines)
        ],
    )


def set_invoice_number(s: Session, invoice_id: str, number: str) -> None:
    """The invoice's number, replacing the provisional one it was written with (``issue_invoice``);
    LookupError when there is no such invoice."""
    done = s.execute(update(invoices).where(invoices.c.id == invoice_id).values(number=number))
    if cast(CursorResult, done).rowcount != 1:
        raise LookupError(f"no invoice {invoice_id} to number")


# The school's next invoice number of the year and the invoice's update to it, in one round trip: the
# counter row stays locked until commit, and every other invoice of the school waits for it. No row:
# the year's counter does not exist yet; a row without a number: no such invoice.
_NUMBER_INVOICE = text(
    "WITH c AS (UPDATE counters SET value = value + 1"
    " WHERE school_id = :school_id AND name = :counter RETURNING value),"
    " i AS (UPDATE invoices"
    " SET number = :prefix || lpad(c.value::text, greatest(5, length(c.value::text)), '0')"
    " FROM c WHERE invoices.id = :invoice_id RETURNING invoices.number)"
    " SELECT c.value, i.number FROM c LEFT JOIN i ON true"
)


def number_invoice(s: Session, school_id: str, invoice_id: str, year: int) -> str:
    """Give the invoice its school's next number of ``year`` (``2026-00042``), replacing the
    provisional one it was written with: take it last in the transaction. One statement on PostgreSQL
    once the year's counter exists (:func:`next_number` and an update elsewhere). LookupError (the
    transaction rolls back, the counter with it) when the invoice does not exist."""
    counter = f"invoice:{year}"
    if s.get_bind().dialect.name == "postgresql":
        params = {"school_id": school_id, "counter": counter, "prefix": f"{year}-", "invoice_id": invoice_id}
        row = s.execute(_NUMBER_INVOICE, params).first()
        if row is not None:
            if row.number is None:
                raise LookupError(f"no invoice {invoice_id} to number")
            return row.number
    number = f"{year}-{next_number(s, school_id, counter):05d}"
    set_invoice_number(s, invoice_id, number)
    return number


def _attribute_values(a) -> dict:
    if a is None:
        return {"childcare": False, "days": 0, "optional": False, "max_bill": ""}
    return {"childcare": a.childcare, "days": a.days, "optional": a.optional, "max_bill": a.max_bill}


def set_invoice_paid(s: Session, invoice_id: str, paid_cents: int, status: str) -> None:
    s.execute(
        update(invoices).where(invoices.c.id == invoice_id).values(paid_cents=paid_cents, status=status)
    )


def set_invoices_paid(s: Session, paid: dict[str, tuple[int, str]]) -> None:
    """Many invoices' ``(paid_cents, status)`` by id at once."""
    update_by_id(s, invoices, "paid_cents", {i: cents for i, (cents, _status) in paid.items()})
    update_by_id(s, invoices, "status", {i: status for i, (_cents, status) in paid.items()})


def cancel_invoice(
    s: Session,
    invoice_id: str,
    *,
    note_id: str,
    school_id: str,
    number: str,
    reason: str,
    credited: int,
    now: datetime,
) -> None:
    """The credit note ``number`` and the invoice it cancels, crediting what was still due."""
    s.execute(
        credit_notes.insert().values(
            id=note_id,
            school_id=school_id,
            invoice_id=invoice_id,
            number=number,
            reason=reason,
            credited_cents=credited,
            created_at=now,
        )
    )
    s.execute(
        update(invoices)
        .where(invoices.c.id == invoice_id)
        .values(status="cancelled", credited_cents=credited)
    )


def lock_invoices(s: Session, school_id: str, ids: set[str]) -> list:
    """The school's invoices among ``ids``, locked in id order (what a statement import pays)."""
    rows: list = []
    for among in in_sets(s, invoices.c.id, ids):
        rows += s.execute(
            select(
                invoices.c.id,
                invoices.c.student_id,
                invoices.c.number,
                invoices.c.title,
                invoices.c.total_cents,
                invoices.c.paid_cents,
                invoices.c.status,
                invoices.c.source,
            )
            .where(invoices.c.school_id == school_id, among)
            .order_by(invoices.c.id)
            .with_for_update()
        ).all()
    return rows
