"""The childcare tax certificate (attestation 281.86 / kinderopvangattest): who may have one, what was
paid for which days of care, and the legal maximum per day. Pure rules: no database, no protobuf.

Rules, as written here (sources in /work/shared/reference/belgian-school-rules.md):
- Only childcare actually paid counts, in the calendar year the money was received (KOV: "bedragen
  die niet in <jaar> ontvangen zijn" may not be on the certificate). A payment covers every line of
  its invoice (or sale) pro rata of the invoice's total, as ``settle`` does not earmark lines: a line
  of 10 days and 100.00 EUR on an invoice half paid counts 5 days and 50.00 EUR. Fractions are kept
  exact until the end, then days and cents are rounded down (never certify more than was paid). The
  payments cover a bill in the order received and never beyond its total: money paid twice for the
  same care is certified once.
- The child must be under 14 on the day of care (under 21 with a severe disability): care on the 14th
  birthday or later does not count. A line's day of care is the day its invoice was issued or its sale
  made (lines carry a number of days, not dates). A child without a known birth date gets nothing:
  the age condition cannot be certified.
- The payer: the parent a payment names (an online payment records the account that started it).
  A payment that names nobody of the child's parents (a bank transfer, a statement line, a manager's
  assignment, a wallet payment or a till sale: who filled the wallet is not recorded) is split equally between the child's parents (each share rounded
  down); a child with no parent gets no certificate.
- The capped amount limits each line's daily rate to the year's legal maximum: per line
  min(paid, days x cap), summed (with one daily rate this is min(paid, days x cap) of the whole).
- At most four periods per certificate: the care is grouped by calendar quarter of its day of care;
  while more than four groups remain (care paid this year for an earlier year), the two earliest merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import floor

__all__ = [
    "MAX_PERIODS",
    "Bill",
    "CareLine",
    "Certificate",
    "Child",
    "Payment",
    "Period",
    "UnknownYear",
    "age_limit",
    "certificates",
    "daily_cap_cents",
    "is_eligible",
]

MAX_PERIODS = 4

# The legal maximum amount per day of care, by income year (the year the money was paid), in cents.
# - 2022: 14.40 EUR, Katholiek Onderwijs Vlaanderen, "Fiscaal attest voor kinderopvang – voor
#   iedereen" (pro.katholiekonderwijs.vlaanderen): "De geindexeerde maximum dagprijs voor
#   opvangkosten betaald in kalenderjaar 2022 bedraagt 14,40 euro".
# - 2023: 15.70 EUR, Informat helpdesk on kinderopvangattesten (as cited in the reference notes), and
#   the same KOV page's examples for income year 2023.
# - 2024: 16.40 EUR, "maximumbedrag van 16,40 per dag en per kind voor kosten betaald in 2024"
#   (kinderopvanglappelein.nl, a secondary source: not checked against the FOD Financien's own page,
#   which was not reachable here; check it before relying on it).
# - 2025 and later: not found in any source available here. Deliberately absent: asking for them is
#   an error (UnknownYear), never a guess. Add the indexed figure with its source when it is published;
#   until then a school enters the published figure for its own certificates (SetDailyCap, stored in
#   tax_daily_caps; ``certificates(cap_cents=...)``), and each certificate records which one it used.
DAILY_CAP_CENTS: dict[int, int] = {2022: 1440, 2023: 1570, 2024: 1640}

AGE_LIMIT = 14
AGE_LIMIT_DISABILITY = 21


class UnknownYear(Exception):
    """No legal maximum per day is known for this income year."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no legal maximum daily amount known for income year {year}")
        self.year = year


def daily_cap_cents(year: int) -> int:
    """The legal maximum amount per day of care for ``year``, in cents; UnknownYear when not known."""
    try:
        return DAILY_CAP_CENTS[year]
    except KeyError:
        raise UnknownYear(year) from None


def _birthday(birth: date, age: int) -> date:
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:  # born on 29 February: the birthday is 1 March in a common year
        return date(birth.year + age, 3, 1)


def age_limit(severe_disability: bool) -> int:
    return AGE_LIMIT_DISABILITY if severe_disability else AGE_LIMIT


def is_eligible(birth_date: date | None, care_on: date, severe_disability: bool = False) -> bool:
    """Whether care on ``care_on`` counts: the child had not yet reached 14 (21 with a severe
    disability) that day; never when the birth date is unknown."""
    if birth_date is None:
        return False
    return care_on < _birthday(birth_date, age_limit(severe_disability))


@dataclass(frozen=True)
class CareLine:
    """One childcare line of an invoice or a sale: the days of care it pays for and its amount."""

    care_on: date
    days: int
    amount_cents: int


@dataclass(frozen=True)
class Payment:
    """Money applied to a bill: when it was received, how much, and the parent it names (or None)."""

    paid_on: date
    amount_cents: int
    payer_id: str | None = None


@dataclass(frozen=True)
class Bill:
    """An invoice (or a sale) of the child: its total, its childcare lines, the payments applied to it."""

    total_cents: int
    lines: Sequence[CareLine]
    payments: Sequence[Payment]


@dataclass(frozen=True)
class Child:
    student_id: str
    birth_date: date | None
    parent_ids: Sequence[str]
    severe_disability: bool = False


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    days: int
    amount_cents: int

    @property
    def daily_rate_cents(self) -> int:
        """The amount received per day in the period (rounded half up); 0 without days."""
        return int(Fraction(self.amount_cents, self.days) + Fraction(1, 2)) if self.days else 0


@dataclass(frozen=True)
class Certificate:
    student_id: str
    parent_id: str
    year: int
    periods: tuple[Period, ...]
    capped_amount_cents: int

    @property
    def days(self) -> int:
        return sum(p.days for p in self.periods)

    @property
    def amount_cents(self) -> int:
        return sum(p.amount_cents for p in self.periods)


@dataclass
class _Acc:
    start: date
    end: date
    days: Fraction = field(default_factory=Fraction)
    amount: Fraction = field(default_factory=Fraction)
    capped: Fraction = field(default_factory=Fraction)

    def add(self, care_on: date, days: Fraction, amount: Fraction, capped: Fraction) -> None:
        self.start, self.end = min(self.start, care_on), max(self.end, care_on)
        self.days += days
        self.amount += amount
        self.capped += capped

    def merge(self, other: _Acc) -> _Acc:
        return _Acc(
            min(self.start, other.start),
            max(self.end, other.end),
            self.days + other.days,
            self.amount + other.amount,
            self.capped + other.capped,
        )


def _shares(payer_id: str | None, parent_ids: Sequence[str]) -> list[tuple[str, Fraction]]:
    if payer_id and payer_id in parent_ids:
        return [(payer_id, Fraction(1))]
    parents = list(dict.fromkeys(p for p in parent_ids if p))
    return [(p, Fraction(1, len(parents))) for p in parents]


def _quarter(d: date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3


def _periods(groups: dict[tuple[int, int], _Acc]) -> list[_Acc]:
    accs = [groups[k] for k in sorted(groups)]
    while len(accs) > MAX_PERIODS:
        accs = [accs[0].merge(accs[1]), *accs[2:]]
    return accs


def certificates(
    year: int, child: Child, bills: Iterable[Bill], cap_cents: int | None = None
) -> list[Certificate]:
    """The child's certificates for ``year``, one per paying parent with paid eligible care (by parent
    id), capped at ``cap_cents`` per day (the figure a school entered for a year the table does not
    know); without it, the table's figure, UnknownYear when the year's daily maximum is not known."""
    cap = daily_cap_cents(year) if cap_cents is None else cap_cents
    per_parent: dict[str, dict[tuple[int, int], _Acc]] = {}
    for bill in bills:
        if bill.total_cents <= 0:
            continue
        lines = [
            ln
            for ln in bill.lines
            if ln.amount_cents > 0 and is_eligible(child.birth_date, ln.care_on, child.severe_disability)
        ]
        if not lines:
            continue
        # Payments cover the bill in the order they were received, never more than all of it: an
        # invoice paid twice (the excess waits for the manager, or is refunded) certifies its care once.
        remaining = Fraction(1)
        for pay in sorted(bill.payments, key=lambda p: p.paid_on):
            if pay.amount_cents <= 0 or remaining <= 0:
                continue
            covered = min(Fraction(pay.amount_cents, bill.total_cents), remaining)
            remaining -= covered
            if pay.paid_on.year != year:
                continue
            for parent_id, share in _shares(pay.payer_id, child.parent_ids):
                part = covered * share
                groups = per_parent.setdefault(parent_id, {})
                for ln in lines:
                    days = ln.days * part
                    amount = ln.amount_cents * part
                    capped = min(amount, days * cap) if ln.days > 0 else Fraction(0)
                    key = _quarter(ln.care_on)
                    acc = groups.setdefault(key, _Acc(ln.care_on, ln.care_on))
                    acc.add(ln.care_on, days, amount, capped)
    out = []
    for parent_id in sorted(per_parent):
        accs = _periods(per_parent[parent_id])
        periods = tuple(Period(a.start, a.end, floor(a.days), floor(a.amount)) for a in accs)
        if not any(p.amount_cents for p in periods):
            continue
        total_days = sum(p.days for p in periods)
        capped_cents = min(floor(sum((a.capped for a in accs), Fraction())), total_days * cap)
        out.append(Certificate(child.student_id, parent_id, year, periods, capped_cents))
    return out
