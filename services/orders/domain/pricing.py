"""The order's summary: lines, subtotal, the credit earned by returning books, the grand total.

The credit is a discount on rentals (the guide: "une remise sur le montant de la location"): it
applies to the loan lines only, never makes the total negative, and what is not used stays for a
later order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

ITEM_TYPES = ("purchase", "loan")
MAX_PRICE_CENTS = 10_000_000  # 100 000,00 €: an item's price, a book return's credit, at most
_NUMBERS = re.compile(r"(\d+)")


class Titled(Protocol):
    """What a catalog sorts by (an item, or a row of one)."""

    @property
    def subject(self) -> str: ...

    @property
    def title(self) -> str: ...


def _natural(text: str) -> tuple[int | str, ...]:
    """Text as people sort it: "Photo 2" before "Photo 10", case ignored."""
    return tuple(int(part) if part.isdigit() else part for part in _NUMBERS.split(text.casefold()))


def catalog_order(item: Titled) -> tuple[tuple[int | str, ...], tuple[int | str, ...]]:
    """The order of a catalog and of an order's lines: by subject, then title, numbers as numbers."""
    return _natural(item.subject), _natural(item.title)


@dataclass(frozen=True)
class Item:
    id: str
    subject: str
    title: str
    type: str
    price_cents: int


@dataclass(frozen=True)
class Summary:
    lines: tuple[Item, ...]
    subtotal_cents: int
    credit_cents: int
    grand_total_cents: int


def invoice_label(subject: str, title: str, type_: str) -> str:
    """How an order line reads on its invoice: a rented book says so."""
    return f"{subject} – {title}" + (" (location)" if type_ == "loan" else "")


class EmptyOrder(ValueError):
    pass


class UnknownItems(ValueError):
    def __init__(self, ids: list[str]) -> None:
        super().__init__("unknown items: " + ", ".join(ids))
        self.ids = ids


def summarize(catalog: Iterable[Item], item_ids: list[str], credit_available_cents: int) -> Summary:
    by_id = {i.id: i for i in catalog}
    chosen = list(dict.fromkeys(item_ids))  # a double-ticked box counts once
    if not chosen:
        raise EmptyOrder("choose at least one item")
    unknown = [i for i in chosen if i not in by_id]
    if unknown:
        raise UnknownItems(unknown)
    lines = tuple(sorted((by_id[i] for i in chosen), key=catalog_order))
    subtotal = sum(i.price_cents for i in lines)
    loans = sum(i.price_cents for i in lines if i.type == "loan")
    credit = max(0, min(credit_available_cents, loans))
    return Summary(lines, subtotal, credit, subtotal - credit)
