"""The school's textbook orders in the browser (issue #17), on a phone: the manager reaches a period
from the staff navigation, reads its orders (who, class, which books, paid or not) and the totals per
book, and downloads the distribution CSV from its link; axe-core finds no serious or critical
violation on any page visited, and nothing scrolls sideways."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.axe import axe_audit
from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser


def staff_sign_in(page, suite, staff) -> None:
    page.goto(suite.base_url + "/connexion")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("form[action='/connexion'] button[type=submit]").click()


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_manager_reads_a_periods_orders_and_totals_and_downloads_the_csv(suite, page):
    staff = new_school(suite)
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels de rentrée",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=7)).isoformat(),
                "class_names": ["1A"],
            },
        ),
        201,
    ).json()["id"]
    items = [
        expect(
            staff.post(
                f"/admin/order-periods/{period}/items",
                json={"subject": subject, "title": title, "type": kind, "price_cents": cents},
            ),
            201,
        ).json()["id"]
        for subject, title, kind, cents in (
            ("Mathématiques", "Actimath 1", "loan", 1250),
            ("Français", "Grammaire", "purchase", 2005),
        )
    ]
    parent = new_family(suite, staff, [{"first_name": "Lina", "last_name": "Maes", "class_name": "1A"}])
    expect(
        parent.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": items, "confirm": True},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )

    page.set_viewport_size({"width": 390, "height": 844})
    staff_sign_in(page, suite, staff)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Gestion").get_by_role("link", name="Commandes de livres").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Commandes de livres"
    assert "Manuels de rentrée" in page.inner_text("main")
    assert fits_the_screen(page)
    axe_audit(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Manuels de rentrée").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Manuels de rentrée"
    orders = page.locator("table.orders tbody tr")
    assert orders.count() == 1
    row = orders.first.inner_text()
    assert "Lina Maes" in row and "1A" in row and "Actimath 1" in row and "Non payée" in row
    totals = page.locator("table.totals tbody tr")
    assert totals.count() == 2
    assert [t.split("\n")[0].strip() for t in totals.all_inner_texts()] == ["Grammaire", "Actimath 1"]
    assert fits_the_screen(page)
    axe_audit(page)

    link = page.get_by_role("link", name="Télécharger la liste de distribution (CSV)")
    resp = page.request.get(suite.base_url + link.get_attribute("href"))
    assert resp.ok and resp.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(resp.body().decode("utf-8-sig")), delimiter=";"))
    assert [(r[1], r[4], r[6]) for r in rows[1:]] == [
        ("Lina Maes", "Grammaire", "20.05"),
        ("Lina Maes", "Actimath 1", "12.50"),
    ]
