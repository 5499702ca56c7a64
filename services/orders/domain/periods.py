"""An ordering period: the window in which parents order, and the classes it is for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Period:
    id: str
    title: str
    notes: str
    opens_at: datetime
    closes_at: datetime
    class_names: tuple[str, ...]  # empty: every class

    def is_open(self, now: datetime) -> bool:
        """Open from ``opens_at`` included to ``closes_at`` excluded."""
        return self.opens_at <= now < self.closes_at

    def serves(self, class_name: str | None) -> bool:
        """For every class, or for this one (a student whose class is unknown is served)."""
        return not self.class_names or class_name is None or class_name in self.class_names
