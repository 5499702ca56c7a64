"""What an invoice or sale line says beyond its label and price (issue #19, Belgian legal cost rules):

- ``childcare``: out-of-school care (morning and evening care, lunch supervision, Wednesday
  afternoons, holidays), counted by the childcare tax certificate 281.86;
- ``days``: the days of care the line pays for, 0..366, and only on a childcare line;
- ``optional`` (invoice lines): a fee the family may refuse; false is mandatory, the default
  (Fédération Wallonie-Bruxelles periodic statements say which is which);
- ``max_bill`` (invoice lines): ``""``, ``strict`` or ``less_strict``, the Flemish maximum bill
  (scherpe / minder scherpe maximumfactuur) the line counts towards.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DAYS = 366
STRICT = "strict"
LESS_STRICT = "less_strict"
MAX_BILLS = (STRICT, LESS_STRICT)


@dataclass(frozen=True)
class LineAttributes:
    childcare: bool = False
    days: int = 0
    optional: bool = False
    max_bill: str = ""


def attribute_errors(childcare: bool, days: int, max_bill: str = "") -> dict[str, str]:
    """The bad attributes of one line, by field name (empty when all are good)."""
    errors: dict[str, str] = {}
    if not 0 <= days <= MAX_DAYS:
        errors["days"] = f"0 to {MAX_DAYS}"
    elif days and not childcare:
        errors["days"] = "only on a childcare line (childcare: true)"
    if max_bill not in ("", *MAX_BILLS):
        errors["max_bill"] = "empty, strict or less_strict"
    return errors


def attributes_of(line: object) -> LineAttributes:
    """The attributes an invoice or sale line message carries (a sale line has no optional nor
    max_bill: their defaults)."""
    return LineAttributes(
        childcare=bool(getattr(line, "childcare", False)),
        days=int(getattr(line, "days", 0)),
        optional=bool(getattr(line, "optional", False)),
        max_bill=str(getattr(line, "max_bill", "")),
    )
