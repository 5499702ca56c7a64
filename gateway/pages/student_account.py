"""A student's statement of account, for the school's staff (/gestion/eleves/<id>/releve-de-compte):
for a period of the school's days (by default the school year so far), each wallet's opening balance,
every movement with the balance after it, the closing balance; the invoices issued in the period and
those still open from before, with what was paid and what remains. Printable as is.

Balances are computed from finance's own figures: a wallet's balance today, less the movements after
the period, is its closing balance; less the period's movements, its opening one. Only finance's
integer cents are added up, never parsed text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from gateway.calls.notifications import school_today
from gateway.calls.students import StudentMoney, student_money
from gateway.i18n import current_lang
from gateway.pages.account import login_required
from gateway.pages.max_bill import CAP_LABELS as MAX_BILL_CAP_LABELS
from gateway.pages.max_bill import counters_of as max_bill_counters_of
from gateway.pages.students import INVOICE_STATUS_LABELS, _student_or_404, long_date
from gateway.web import require_staff
from kit.dates import BRUSSELS, format_instant
from kit.errors import Unavailable

bp = Blueprint("student_account", __name__)

# finance answers at most this many days of movements in one period (domain/periods.MAX_CUSTOM_DAYS)
MAX_DAYS_BACK = 365
OPEN = ("unpaid", "partially_paid")


def school_year_start(today: date) -> date:
    """1 September of the school year ``today`` is in (Belgian school years start in September)."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


@dataclass
class Line:
    at: datetime
    label: str
    amount_cents: int
    balance_after_cents: int
    payment_method: str


@dataclass
class WalletAccount:
    id: str
    name: str
    opening_cents: int
    closing_cents: int
    lines: list[Line] = field(default_factory=list)

    @property
    def credits_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines if line.amount_cents > 0)

    @property
    def debits_cents(self) -> int:
        return -sum(line.amount_cents for line in self.lines if line.amount_cents < 0)


@dataclass
class InvoiceLine:
    number: str
    title: str
    issued_on: str
    due_on: str
    status: str
    total_cents: int
    paid_cents: int

    @property
    def remaining_cents(self) -> int:
        return max(0, self.total_cents - self.paid_cents) if self.status in OPEN else 0


def _day(at: str) -> tuple[datetime, date]:
    instant = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return instant, instant.astimezone(BRUSSELS).date()


def wallet_accounts(money: StudentMoney, first: date, last: date) -> list[WalletAccount]:
    """Each wallet's account from ``first`` to ``last`` (included), from its balance today and the
    movements finance listed since ``first``."""
    accounts = {w.id: WalletAccount(w.id, w.name, w.balance_cents, w.balance_cents) for w in money.wallets}
    moves = sorted(
        (
            m
            for m in ((*_day(op.at), op) for op in money.operations)
            if m[2].wallet_id in accounts and m[1] >= first
        ),
        key=lambda m: m[0],
    )
    for _instant, day, op in moves:  # the movements after the period: back from today's balance
        if day > last:
            accounts[op.wallet_id].closing_cents -= op.amount_cents
    for account in accounts.values():
        account.opening_cents = account.closing_cents
    for _instant, day, op in moves:
        if day <= last:
            accounts[op.wallet_id].opening_cents -= op.amount_cents
    for instant, day, op in moves:
        if day <= last:
            account = accounts[op.wallet_id]
            before = account.lines[-1].balance_after_cents if account.lines else account.opening_cents
            account.lines.append(
                Line(instant, op.label, op.amount_cents, before + op.amount_cents, op.payment_method)
            )
    return list(accounts.values())


def statement_invoices(money: StudentMoney, first: date, last: date) -> list[InvoiceLine]:
    """The invoices issued in the period, and the ones issued before it that are still open, by
    issue date."""
    out = []
    for i in money.invoices:
        issued = date.fromisoformat(i.issued_on) if i.issued_on else None
        if issued is None or issued > last:
            continue
        if issued >= first or i.status in OPEN:
            out.append(
                InvoiceLine(i.number, i.title, i.issued_on, i.due_on, i.status, i.total_cents, i.paid_cents)
            )
    return sorted(out, key=lambda i: (i.issued_on, i.number))


def _parse(value: str, default: date) -> date | None:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _period(today: date) -> tuple[dict[str, str], dict[str, str], date, date]:
    """The form as sent, its errors by field, and the period (first and last day, both included)."""
    form = {
        "from": (request.args.get("from") or "").strip()[:10],
        "to": (request.args.get("to") or "").strip()[:10],
    }
    first = _parse(form["from"], school_year_start(today))
    last = _parse(form["to"], today)
    errors: dict[str, str] = {}
    if first is None:
        errors["from"] = _("Indiquez une date valable (jj/mm/aaaa).")
    elif first < today - timedelta(days=MAX_DAYS_BACK):
        errors["from"] = _("Le relevé remonte au plus à un an avant aujourd'hui.")
    if last is None:
        errors["to"] = _("Indiquez une date valable (jj/mm/aaaa).")
    elif last > today:
        errors["to"] = _("La fin du relevé ne peut pas être après aujourd'hui.")
    if first and last and not errors and first > last:
        errors["to"] = _("La fin du relevé doit suivre son début.")
    first, last = first or school_year_start(today), last or today
    return (
        {"from": form["from"] or first.isoformat(), "to": form["to"] or last.isoformat()},
        errors,
        first,
        last,
    )


@bp.get("/gestion/eleves/<student_id>/releve-de-compte")
@login_required
def statement(student_id: str):
    require_staff()
    found = _student_or_404(student_id)
    today = date.fromisoformat(school_today())
    form, errors, first, last = _period(today)
    context = {
        "student": found.student,
        "form": form,
        "errors": errors,
        "first": first,
        "last": last,
        "today": today,
        "long_date": long_date,
        "invoice_status_labels": INVOICE_STATUS_LABELS,
        "when": lambda dt: format_instant(dt, current_lang()),
        "finance_ok": True,
        "accounts": [],
        "invoices": [],
    }
    if errors:
        return render_template("students/statement.html", **context), 400
    try:
        money = student_money(found.student.id, first.isoformat(), today.isoformat())
    except Unavailable:
        context["finance_ok"] = False
        return render_template("students/statement.html", **context), 503
    invoices = statement_invoices(money, first, last)
    context.update(
        accounts=wallet_accounts(money, first, last),
        invoices=invoices,
        invoiced_cents=sum(
            i.total_cents for i in invoices if first.isoformat() <= i.issued_on and i.status != "cancelled"
        ),
        remaining_cents=sum(i.remaining_cents for i in invoices),
        # the Flemish maximum bill's counters of this school year (issue #19; None: not said now)
        max_bill_counters=max_bill_counters_of(found.student.id),
        max_bill_cap_labels=MAX_BILL_CAP_LABELS,
    )
    return render_template("students/statement.html", **context)
