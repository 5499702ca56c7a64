"""Catalog items sort as people read them: by subject, then title, with numbers as numbers."""

from __future__ import annotations

from services.orders.domain.pricing import Item, catalog_order, summarize


def item(subject: str, title: str, i: int = 0) -> Item:
    return Item(id=f"{subject}-{title}-{i}", subject=subject, title=title, type="purchase", price_cents=100)


def test_photo_numbers_sort_as_numbers_and_case_is_ignored():
    items = [item("Photos – Bal", f"Photo {n}") for n in (10, 2, 1, 21, 3)] + [
        item("français", "Grammaire"),
        item("Français", "atlas"),
    ]
    ordered = sorted(items, key=catalog_order)
    assert [(i.subject, i.title) for i in ordered] == [
        ("Français", "atlas"),
        ("français", "Grammaire"),
        ("Photos – Bal", "Photo 1"),
        ("Photos – Bal", "Photo 2"),
        ("Photos – Bal", "Photo 3"),
        ("Photos – Bal", "Photo 10"),
        ("Photos – Bal", "Photo 21"),
    ]


def test_an_orders_lines_follow_the_same_order():
    items = [item("Photos", f"Photo {n}") for n in (12, 9)]
    summary = summarize(items, [i.id for i in items], 0)
    assert [line.title for line in summary.lines] == ["Photo 9", "Photo 12"]
