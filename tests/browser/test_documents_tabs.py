"""The documents page in a real browser: "Pas lu" by default, opening moves a document to "Déjà lu"."""

import pytest

from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_opening_a_document_moves_it_from_unread_to_read(suite, page):
    staff = new_school(suite)
    kid = staff.create_student("Emma", "Dupont", "1A")
    parent = new_family(suite, staff, [kid])
    for title in ("Facture – Visite à Bruges", "Ephémérides juin 2017"):
        expect(
            staff.post(
                "/admin/documents",
                data={"title": title, "student_ids": kid["id"]},
                files={"file": ("f.pdf", PDF, "application/pdf")},
            ),
            201,
        )
    parent.browser_login(page)
    page.goto(suite.base_url + "/documents")
    tab = page.get_by_role("link", name="Pas lu")
    assert tab.get_attribute("aria-current") == "page"
    assert page.get_by_role("heading", name="Facture – Visite à Bruges").is_visible()
    assert page.get_by_role("heading", name="Ephémérides juin 2017").is_visible()

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Ouvrir le fichier : Facture – Visite à Bruges").click()
    opened.value.close()
    page.reload()
    assert page.get_by_role("heading", name="Facture – Visite à Bruges").count() == 0
    assert page.get_by_role("heading", name="Ephémérides juin 2017").is_visible()

    page.get_by_role("link", name="Déjà lu").click()
    assert page.get_by_role("link", name="Déjà lu").get_attribute("aria-current") == "page"
    assert page.get_by_role("heading", name="Facture – Visite à Bruges").is_visible()
    assert page.get_by_role("heading", name="Ephémérides juin 2017").count() == 0
