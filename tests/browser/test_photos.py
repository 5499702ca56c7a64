"""Photos on a phone: the album grid fits the screen with small lazily loaded thumbnails, a photo
opens full size with the next one a tap (or a key) away, and downloads; staff create an album and
upload several photos at once from the page."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image

from tests.factories import expect, new_family, new_school

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


def jpeg(size=(2400, 1800), color=(40, 120, 200)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def album_with_photos(staff, title, classes, n):
    album = expect(
        staff.post("/admin/photos/albums", json={"title": title, "class_names": classes}), 201
    ).json()
    files = [("files", (f"photo-{i}.jpg", jpeg(color=(i * 20, 90, 160)), "image/jpeg")) for i in range(n)]
    photos = expect(staff.post(f"/admin/photos/albums/{album['id']}/photos", files=files), 201).json()[
        "items"
    ]
    return album, photos


def test_a_parent_browses_the_grid_opens_a_photo_and_downloads_it_on_a_phone(suite, page):
    staff = new_school(suite)
    family = new_family(suite, staff, children=[{"first_name": "Lina", "class_name": "3A"}])
    _album, _photos = album_with_photos(staff, "Classe de neige", ["3A"], 12)
    album_with_photos(staff, "Classe de mer 5B", ["5B"], 1)
    family.browser_login(page)

    page.goto(suite.base_url + "/photos")
    assert page.get_by_role("heading", level=1).inner_text() == "Photos"
    assert page.get_by_role("link", name="Classe de neige").is_visible()
    assert page.get_by_role("link", name="Classe de mer 5B").count() == 0
    page.get_by_role("link", name="Classe de neige").click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", level=1).inner_text() == "Classe de neige"
    grid = page.get_by_role("list", name="Photos de l'album")
    thumbs = grid.get_by_role("img")
    assert thumbs.count() == 12
    first = grid.get_by_role("img", name="Photo 1 de l'album « Classe de neige »")
    assert first.is_visible()
    assert first.get_attribute("loading") == "lazy"
    assert (first.get_attribute("width"), first.get_attribute("height")) == ("320", "240")
    page.wait_for_function("document.querySelector('.photo-grid img').complete")
    assert first.evaluate("img => img.naturalWidth") == 320  # the small thumbnail, not the big photo
    # three or more per row, and nothing wider than the phone
    boxes = [thumbs.nth(i).bounding_box() for i in range(3)]
    assert len({round(b["y"]) for b in boxes}) == 1 and all(b["width"] < PHONE_WIDTH / 3 for b in boxes)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH

    # keyboard: focus the first photo's link and open it with Enter
    page.get_by_role("link", name="Photo 1 de l'album « Classe de neige »").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Photo 1"
    big = page.get_by_role("img", name="Photo 1 de l'album « Classe de neige »")
    page.wait_for_function("document.querySelector('.photo-view img').complete")
    assert big.evaluate("img => img.naturalWidth") == 1600  # the display size
    assert big.bounding_box()["width"] <= PHONE_WIDTH
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH

    with page.expect_download() as dl:
        page.get_by_role("link", name=re.compile("^Télécharger")).click()
    assert dl.value.suggested_filename == "photo-0.jpg"
    assert Image.open(dl.value.path()).size == (2400, 1800)  # the full size, not the display size

    page.get_by_role("link", name="Photo suivante").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Photo 2"
    assert page.get_by_role("link", name="Photo précédente").is_visible()
    page.get_by_role("link", name="Retour à l'album « Classe de neige »").click()
    page.wait_for_load_state()
    assert page.get_by_role("list", name="Photos de l'album").is_visible()


def test_staff_create_an_album_upload_photos_publish_and_withdraw_one(suite, page):
    staff = new_school(suite)
    staff.create_student("Tom", "Claes", "2C")
    family = new_family(suite, staff, children=[{"first_name": "Eva", "class_name": "2C"}])
    page.goto(suite.base_url + "/connexion")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    with page.expect_navigation():
        page.locator("form[action='/connexion'] button[type=submit]").click()

    page.goto(suite.base_url + "/gestion/photos")
    page.get_by_label("Titre").fill("Journée sportive")
    page.get_by_label("2C").check()
    page.get_by_role("button", name="Créer l'album").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Journée sportive"
    assert "Brouillon" in page.locator("main").inner_text()

    page.get_by_label(re.compile("^Photos \\(JPEG ou PNG")).set_input_files(
        [
            {"name": "course.jpg", "mimeType": "image/jpeg", "buffer": jpeg()},
            {"name": "relais.jpg", "mimeType": "image/jpeg", "buffer": jpeg(color=(200, 0, 0))},
        ]
    )
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert "2 photos ajoutées." in page.get_by_role("status").inner_text()
    assert page.locator(".photo-grid img").count() == 2
    assert expect(family.get("/photos/albums")).json()["items"] == []  # still a draft

    page.get_by_role("button", name="Publier l'album").click()
    page.wait_for_load_state()
    assert "publié" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Retirer : la photo 1").click()
    page.wait_for_load_state()
    assert "Photo retirée." in page.get_by_role("status").inner_text()
    [listed] = expect(family.get("/photos/albums")).json()["items"]
    assert (listed["title"], listed["photo_count"]) == ("Journée sportive", 1)

    # a file that is not a photo: nothing is added, the file is named
    page.get_by_label(re.compile("^Photos \\(JPEG ou PNG")).set_input_files(
        [
            {"name": "bon.jpg", "mimeType": "image/jpeg", "buffer": jpeg()},
            {"name": "liste.jpg", "mimeType": "image/jpeg", "buffer": b"pas une photo"},
        ]
    )
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert "liste.jpg" in page.get_by_role("alert").inner_text()
    assert page.locator(".photo-grid img").count() == 1
