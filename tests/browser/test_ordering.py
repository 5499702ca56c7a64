"""Ordering textbooks in a real browser: the form, the summary, the confirmation."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser


def test_parent_orders_books_from_form_to_confirmation(suite, page):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Emma", "class_name": "1A"}])
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels scolaires 2027",
                "notes": "Liste de la 1re commune",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=3)).isoformat(),
                "class_names": ["1A"],
            },
        ),
        201,
    ).json()["id"]
    for subject, title, kind, price in (
        ("Mathématiques", "Actimath 1", "loan", 1250),
        ("Français", "Grammaire", "purchase", 2000),
    ):
        expect(
            staff.post(
                f"/admin/order-periods/{period}/items",
                json={
                    "subject": subject,
                    "title": title,
                    "comment": "obligatoire",
                    "type": kind,
                    "price_cents": price,
                },
            ),
            201,
        )
    expect(
        staff.post(
            "/admin/book-returns",
            json={"student_id": parent.active_child_id, "credit_cents": 250, "note": ""},
        ),
        201,
    )

    parent.browser_login(page)
    page.goto(suite.base_url + "/tableau-de-bord")
    page.get_by_role("navigation", name="Modules").get_by_role("link", name="Manuels scolaires 2027").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Manuels scolaires 2027"
    assert page.get_by_text("Liste de la 1re commune").is_visible()
    page.get_by_label("Actimath 1").check()
    page.get_by_role("button", name="Récapitulatif").click()

    assert "12,50\u00a0€" in page.locator("table").inner_text()
    assert page.locator("#grand-total").inner_text() == "10,00\u00a0€"
    page.get_by_role("button", name="Commander").click()  # "Je confirme" not ticked: the browser stops it
    assert page.get_by_role("heading", level=1).inner_text().startswith("Récapitulatif")
    page.get_by_label("Je confirme").check()
    page.get_by_role("button", name="Commander").click()
    assert page.get_by_role("heading", name="Votre commande est réussie.").is_visible()
    invoices = expect(parent.get("/invoices")).json()["items"]
    assert [i["total_cents"] for i in invoices] == [1000]
