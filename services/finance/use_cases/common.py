"""Steps the finance use cases share: the clock, idempotent units of work, reporting periods, lines,
loading what the caller may see, invoice messages, and crediting an invoice with money received.

Money-moving use cases run through :func:`idempotent` so an Idempotency-Key replays its first
answer (idempotency scopes are short: the key table's scope column holds 80 characters, two UUIDs
take 73). Money rules come from ``domain``; rows are written through ``db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy.orm import Session

from cartable.finance.v1 import finance_pb2 as pb
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.idempotency import request_hash, run_idempotent
from kit.identity import STUDENT_LEFT, Identity
from kit.money import MAX_CENTS
from kit.ogm import format_ogm
from kit.service import Runtime
from services.finance import db, events, views
from services.finance.db import direct_debit_queries
from services.finance.domain import ledger
from services.finance.domain import lines as lines_domain
from services.finance.domain.invoices import CANCELLED, Settlement, invoice_status, open_amount, settle
from services.finance.domain.payments import invoice_purpose
from services.finance.domain.periods import resolve_period

M = TypeVar("M", bound=Message)

BRUSSELS = ZoneInfo("Europe/Brussels")
DEFAULT_PERIOD = "last_30_days"
MAX_LINES = 100
MAX_QUANTITY = 10_000
MAX_UNIT_CENTS = 10_000_000  # 100 000,00 € per unit is far above any school price


# --- clock, idempotency, periods ------------------------------------------------------------------


def now(rt: Runtime) -> datetime:
    return db.utc(rt.clock())


def today(rt: Runtime) -> date:
    """The school's calendar day (Brussels)."""
    return now(rt).astimezone(BRUSSELS).date()


def idempotent(
    rt: Runtime,
    scope: str,
    key: str,
    request: Message,
    response_type: type[M],
    work: Callable[[Session], M],
    exclude: tuple[str, ...] = (),
) -> M:
    """Run ``work`` in one unit of work, once per ``(scope, key)``; the same key replays its first
    answer (``exclude``: request fields that may differ between retries)."""
    req_hash = request_hash(request, exclude=("idempotency_key", *exclude))
    return run_idempotent(rt.db, db.idempotency_keys, scope, key, req_hash, response_type, work)


def parse_date(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date", fields={name: "YYYY-MM-DD"}) from None


def period(rt: Runtime, f: pb.PeriodFilter) -> tuple[datetime, datetime]:
    """The filter's period as a half-open UTC interval (last 30 days when it names none)."""
    first, last = parse_date(f.from_date, "from"), parse_date(f.to_date, "to")
    try:
        return resolve_period(f.period or DEFAULT_PERIOD, now(rt), first, last)
    except ValueError as e:
        raise InvalidRequest(str(e), fields={"period": str(e)}) from None


def parse_lines(lines: Sequence, field: str = "lines") -> list[tuple[str, int, int, int]]:
    """(label, quantity, unit price, amount) of each invoice or sale line, or InvalidRequest naming
    the bad field (also its childcare days and maximum bill: ``domain/lines.py``)."""
    if not lines:
        raise InvalidRequest("at least one line is required", fields={field: "at least one line"})
    if len(lines) > MAX_LINES:
        raise InvalidRequest("too many lines", fields={field: f"at most {MAX_LINES} lines"})
    out, errors = [], {}
    for i, line in enumerate(lines):
        label = (line.label or "").strip()
        if not label or len(label) > 300:
            errors[f"{field}[{i}].label"] = "required, at most 300 characters"
        if not 1 <= line.quantity <= MAX_QUANTITY:
            errors[f"{field}[{i}].quantity"] = f"1 to {MAX_QUANTITY}"
        if not 0 <= line.unit_price_cents <= MAX_UNIT_CENTS:
            errors[f"{field}[{i}].unit_price_cents"] = f"0 to {MAX_UNIT_CENTS}"
        attrs = lines_domain.attributes_of(line)
        for name, message in lines_domain.attribute_errors(
            attrs.childcare, attrs.days, attrs.max_bill
        ).items():
            errors[f"{field}[{i}].{name}"] = message
        out.append((label, line.quantity, line.unit_price_cents, line.quantity * line.unit_price_cents))
    if errors:
        raise InvalidRequest("some lines are not valid", fields=errors)
    if sum(a for *_, a in out) > MAX_CENTS:
        raise InvalidRequest("the total is too large", fields={field: "total too large"})
    return out


# --- what the caller may see ----------------------------------------------------------------------


def student(s: Session, who: Identity, student_id: str):
    row = db.find_student(s, who.school_id, student_id)
    if row is None:
        raise NotFound("this student is unknown to finance")
    return row


def require_student_here(s: Session, who: Identity, student_id: str) -> None:
    """Staff naming a student: one finance knows in the caller's school, else not_found. A staff token
    names no student, so finance's own record says whose a student is (``students``, written when the
    school opened the student's wallets): another school's student, or one finance never heard of,
    is not found rather than answered with an empty list. Parents: their token names the student
    (``Identity.require_student``), nothing more to check here."""
    if who.is_staff:
        student(s, who, student_id)


def refuse_left(s: Session, who: Identity, student_id: str, student=None) -> None:
    """Refuse something new for a student who left the school (a top-up, a top-up's transfer details,
    an invoice, a sale): 409 ``student_left``, whether the caller's token says so (a parent's) or
    finance's own record does (from auth.student.updated.v1: staff tokens name no student, and orders
    calls with the parent's token). What is already there stays: open invoices are still payable, the
    wallets and their history readable. ``student``: the row, when the caller has it already."""
    row = student if student is not None else db.find_student(s, who.school_id, student_id)
    refuse_left_status(who, student_id, row.status if row is not None else None)


def refuse_left_status(who: Identity, student_id: str, status: str | None) -> None:
    """:func:`refuse_left` with the student's ``status`` read already (None: finance does not know
    the student), e.g. by ``db.lock_wallet_for_movement``."""
    who.refuse_left(student_id)
    if status == "left":
        raise Conflict("this student has left the school", code=STUDENT_LEFT)


def student_name(row) -> str:
    return " ".join(p for p in (row.first_name, row.last_name) if p)


def load_invoice(s: Session, who: Identity, invoice_id: str, *, lock: bool = False):
    """The invoice if the caller may see it (staff of its school, its student's parents)."""
    row = db.find_invoice(s, who.school_id, invoice_id, lock=lock)
    if row is None:
        raise NotFound("no such invoice")
    who.require_owner(row.student_id)
    return row


def wallet_of(who: Identity, wallet, student_id: str = ""):
    """``wallet`` (a row, or None when the school has none of its id) if the caller may use it (staff,
    its student's parents) and it is the student's the request names, if it names one."""
    if wallet is None:
        raise NotFound("no such wallet")
    who.require_owner(wallet.student_id)
    if student_id and wallet.student_id != student_id:
        raise NotFound("no such wallet")
    return wallet


def balance_after_debit(balance_cents: int, amount_cents: int, what: str) -> int:
    """The wallet's balance once ``amount_cents`` is taken from it; 409 insufficient_balance when it
    does not hold them (``what`` says what needs them: "the sale costs")."""
    try:
        return ledger.check_can_debit(balance_cents, amount_cents)
    except ledger.InsufficientBalance as e:
        raise Conflict(
            f"the wallet holds {e.balance_cents} cents, {what} {e.amount_cents}", code="insufficient_balance"
        ) from None


def require_payable(inv) -> int:
    """What a payment of the invoice may pay: its open amount; 409 invoice_cancelled or already_paid
    when nothing is open."""
    if inv.status == CANCELLED:
        raise Conflict("this invoice was cancelled by a credit note", code="invoice_cancelled")
    open_cents = open_amount(inv.total_cents, inv.paid_cents, inv.status)
    if open_cents <= 0:
        raise Conflict("this invoice is already paid", code="already_paid")
    return open_cents


def settings(s: Session, school_id: str) -> pb.Settings:
    return views.settings(db.settings_row(s, school_id))


def invoice_messages(s: Session, rows: Iterable, *, with_lines: bool) -> list[pb.Invoice]:
    """Invoice messages for ``rows`` with their communications (and lines) and whether a direct-debit
    batch is collecting them, in three queries."""
    rows = list(rows)
    ids = [r.id for r in rows]
    if not ids:
        return []
    digits = db.invoices_digits(s, ids)
    lines = db.lines_of(s, ids) if with_lines else {}
    collecting = direct_debit_queries.invoices_collecting(s, ids)
    return [views.invoice(r, digits[r.id], lines.get(r.id, ()), r.id in collecting) for r in rows]


def invoice_message(s: Session, invoice_id: str) -> pb.Invoice:
    """One invoice as it is now, with its lines."""
    return invoice_messages(s, [db.invoice_row(s, invoice_id)], with_lines=True)[0]


# --- money received for an invoice ------------------------------------------------------------------


@dataclass(frozen=True)
class Credited:
    """What crediting an invoice did: the settlement, the transaction and payment it booked (""
    when it took nothing) and the invoice's communication (for what is left over)."""

    settlement: Settlement
    transaction_id: str
    payment_id: str
    communication: str


def credit_invoice(
    rt: Runtime,
    s: Session,
    school_id: str,
    invoice_id: str,
    amount: int,
    method: str,
    at: datetime,
    *,
    counter_account: str,
    payment_id: str | None = None,
    created_by: str | None = None,
    label: str = "",
) -> Credited:
    """Pay an invoice with money that arrived (online, or assigned by the manager): the invoice row is
    locked, what it ``settle``s of ``amount`` is booked from ``counter_account`` and the payment
    recorded (``payment_id`` given: our online payment row, updated by the caller; else a new paid
    payment). What is left over, with its reason, is for the caller to list as an unmatched transfer
    (``db.record_unmatched``)."""
    inv = db.lock_invoice(s, school_id, invoice_id)
    communication = format_ogm(db.invoice_digits(s, inv.id))
    settlement = settle(
        open_amount(inv.total_cents, inv.paid_cents, inv.status), amount, cancelled=inv.status == CANCELLED
    )
    applied = settlement.applied_cents
    if not applied:
        return Credited(settlement, "", "", communication)
    if counter_account == ledger.unallocated_account(school_id):
        tx = ledger.allocate_invoice_payment(inv.id, school_id, applied, method)
    else:
        tx = ledger.pay_invoice_external(inv.id, school_id, applied, method)
    tx_id = db.book(
        s,
        school_id,
        tx,
        at=at,
        label=label or f"Facture {inv.number} – {inv.title}",
        student_id=inv.student_id,
    )
    paid = inv.paid_cents + applied
    db.set_invoice_paid(s, inv.id, paid, invoice_status(inv.total_cents, paid, False))
    purpose = invoice_purpose(inv.source)
    payment_id = payment_id or db.insert_paid_payment(
        s,
        school_id,
        inv.student_id,
        purpose,
        method,
        applied,
        at,
        tx_id,
        invoice_id=inv.id,
        created_by=created_by,
    )
    events.record(
        rt,
        s,
        school_id,
        events.payment_received(
            payment_id, inv.student_id, applied, method, purpose, invoice_id=inv.id, invoice_number=inv.number
        ),
    )
    return Credited(settlement, tx_id, payment_id, communication)
