"""The Flemish maximum bill (basisonderwijs), pure rules (issue #19).

A Flemish primary school may charge per school year at most the strict maximum bill (scherpe
maximumfactuur) for what counts towards it, separately for kleuter (nursery) and lager (primary),
and at most the less strict maximum bill (minder scherpe maximumfactuur) for multi-day trips
(onderwijs.vlaanderen.be; GO! "de maximumfactuur"). The amounts are indexed every year by circular:
the school sets them (no default here: the references this was written from give no current figure).

Simplification: the less strict cap runs over the whole of primary school; here it is kept and checked
per school year, like the strict one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.finance.domain.lines import LESS_STRICT, STRICT

KLEUTER = "kleuter"
LAGER = "lager"
LEVELS = (KLEUTER, LAGER)
# auth's (and finance's) student levels -> the maximum bill's; secondary: none.
_BY_STUDENT_LEVEL = {"nursery": KLEUTER, "primary": LAGER}
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


def level_of(student_level: str) -> str:
    """``kleuter``, ``lager``, or "" (no maximum bill: secondary)."""
    return _BY_STUDENT_LEVEL.get(student_level, "")


def school_year_of(day: date) -> str:
    """The school year of a day: 1 September to 31 August, e.g. "2026-2027"."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def parse_school_year(text: str) -> tuple[date, date] | None:
    """``[1 September, next 1 September)`` of "YYYY-YYYY+1", None when it is not one."""
    m = _YEAR.match(text or "")
    if not m or int(m.group(2)) != int(m.group(1)) + 1 or not 2000 <= int(m.group(1)) <= 2100:
        return None
    start = int(m.group(1))
    return date(start, 9, 1), date(start + 1, 9, 1)


@dataclass(frozen=True)
class Counter:
    cap: str  # strict | less_strict
    cap_cents: int
    used_cents: int

    @property
    def left_cents(self) -> int:
        return max(0, self.cap_cents - self.used_cents)


def counters(strict_cents: int, less_strict_cents: int, used: dict[str, int]) -> list[Counter]:
    return [
        Counter(STRICT, strict_cents, used.get(STRICT, 0)),
        Counter(LESS_STRICT, less_strict_cents, used.get(LESS_STRICT, 0)),
    ]


def exceeded(now: list[Counter], adding: dict[str, int]) -> list[Counter]:
    """The counters that ``adding`` (cents per cap) would take past their cap."""
    return [c for c in now if adding.get(c.cap, 0) > 0 and c.used_cents + adding[c.cap] > c.cap_cents]
