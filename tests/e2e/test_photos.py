"""Photos through the gateway: albums by class, bulk uploads (all or nothing, 413 over 20 MiB), the
thumbnail / display / download files without GPS data, withdrawals, drafts, pages, and photo sales
through an ordering period."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

from PIL import Image

from tests.factories import anonymous, expect, new_family, new_school

GPS_IFD = 0x8825


def jpeg(size=(1200, 900), color=(40, 120, 200), gps=False) -> bytes:
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 50.0, 12.5), 3: "E", 4: (4.0, 21.0, 7.25)})
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(size=(500, 400)) -> bytes:
    out = BytesIO()
    Image.new("RGBA", size, (250, 200, 10, 128)).save(out, "PNG")
    return out.getvalue()


def new_album(staff, title, classes=(), **extra) -> dict:
    return expect(
        staff.post("/admin/photos/albums", json={"title": title, "class_names": list(classes), **extra}), 201
    ).json()


def upload(staff, album_id, *files):
    return staff.post(
        f"/admin/photos/albums/{album_id}/photos",
        files=[("files", (name, content, "image/jpeg")) for name, content in files],
    )


def titles(client) -> list[str]:
    return sorted(a["title"] for a in expect(client.get("/photos/albums")).json()["items"])


def world(suite):
    staff = new_school(suite)
    emma = staff.create_student("Emma", "Dupont", "1A")
    noah = staff.create_student("Noah", "Peeters", "2B")
    emmas = new_family(suite, staff, [emma], first_name="Marie")
    noahs = new_family(suite, staff, [noah], first_name="Paul")
    albums = {}
    for title, classes in (("Fancy-fair", ()), ("Classe verte 1A", ("1A",)), ("Piscine 2B", ("2B",))):
        album = new_album(staff, title, classes)
        made = expect(upload(staff, album["id"], ("a.jpg", jpeg()), ("b.png", png())), 201).json()["items"]
        albums[title] = (album, made)
    return staff, emmas, noahs, albums


def test_parents_see_the_whole_school_and_their_childs_class_albums_only(suite):
    staff, emmas, noahs, albums = world(suite)
    assert titles(emmas) == ["Classe verte 1A", "Fancy-fair"]
    assert titles(noahs) == ["Fancy-fair", "Piscine 2B"]
    assert titles(staff) == ["Classe verte 1A", "Fancy-fair", "Piscine 2B"]

    album, made = albums["Classe verte 1A"]
    listed = next(a for a in expect(emmas.get("/photos/albums")).json()["items"] if a["id"] == album["id"])
    assert (
        listed["class_names"] == ["1A"]
        and listed["photo_count"] == 2
        and listed["cover"]["id"] == made[0]["id"]
    )
    assert "offered_period_ids" not in listed
    page = expect(emmas.get(f"/photos/albums/{album['id']}")).json()
    assert page["album"]["title"] == "Classe verte 1A" and page["next_cursor"] is None
    assert [p["id"] for p in page["items"]] == [m["id"] for m in made]
    first = page["items"][0]
    assert (first["number"], first["width"], first["height"]) == (1, 1200, 900)
    assert first["thumbnail"] == {
        "url": f"/api/v1/photos/{first['id']}/thumbnail",
        "width": 320,
        "height": 240,
    }

    thumb = expect(emmas.get(first["thumbnail"]["url"]))
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.headers["Cache-Control"] == "private, no-cache" and thumb.headers["ETag"]
    # the browser's copy is revalidated: 304 while the photo is visible, no body
    again = emmas.get(first["thumbnail"]["url"], headers={"If-None-Match": thumb.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert Image.open(BytesIO(thumb.content)).size == (320, 240)
    shown = expect(emmas.get(first["display_url"]))
    assert Image.open(BytesIO(shown.content)).size == (1200, 900)
    down = expect(emmas.get(first["download_url"]))
    assert down.headers["Content-Disposition"].startswith('attachment; filename="a.jpg"')
    assert Image.open(BytesIO(down.content)).size == (1200, 900)  # the full size (a small original)
    assert down.headers["Cache-Control"] == "private, no-store"
    one = expect(emmas.get(f"/photos/{first['id']}")).json()
    assert one["album"]["id"] == album["id"] and one["previous_photo_id"] is None
    assert one["next_photo_id"] == made[1]["id"]

    # another class's album and photos, and another school's parent: 404 like a missing id
    other, other_photos = albums["Piscine 2B"]
    assert emmas.get(f"/photos/albums/{other['id']}").status_code == 404
    for variant in ("thumbnail", "display", "download"):
        resp = emmas.get(f"/photos/{other_photos[0]['id']}/{variant}")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert emmas.get(f"/photos/{other_photos[0]['id']}").status_code == 404
    elsewhere = new_school(suite)
    stranger = new_family(suite, elsewhere, [{"first_name": "Zoé", "class_name": "1A"}])
    assert titles(stranger) == []
    assert stranger.get(f"/photos/albums/{album['id']}").status_code == 404
    assert stranger.get(first["thumbnail"]["url"]).status_code == 404
    assert anonymous(suite).get(first["thumbnail"]["url"]).status_code == 401


def test_stored_photos_have_no_gps_position(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Lina", "class_name": "3A"}])
    album = new_album(staff, "Excursion à Bruges")
    original = jpeg((2000, 1500), gps=True)
    assert Image.open(BytesIO(original)).getexif().get_ifd(GPS_IFD)
    [photo] = expect(upload(staff, album["id"], ("IMG_0042.JPG", original)), 201).json()["items"]
    for url in (photo["thumbnail"]["url"], photo["display_url"], photo["download_url"]):
        data = expect(parent.get(url)).content
        im = Image.open(BytesIO(data))
        assert dict(im.getexif()) == {} and b"GPS" not in data and b"PhoneMaker" not in data
    assert (photo["width"], photo["height"], photo["filename"]) == (1600, 1200, "IMG_0042.jpg")


def test_a_bulk_upload_is_all_or_nothing_and_names_the_refused_files(suite):
    staff = new_school(suite)
    album = new_album(staff, "Carnaval")
    resp = upload(staff, album["id"], ("ok.jpg", jpeg()), ("notes.jpg", b"pas une image"), ("ok2.png", png()))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_request" and error["fields"] == {
        "files[1]": "notes.jpg: not a JPEG or PNG image"
    }
    assert expect(staff.get(f"/photos/albums/{album['id']}")).json()["items"] == []

    big = upload(staff, album["id"], ("big.jpg", jpeg() + b"\x00" * (21 * 1024 * 1024)))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert expect(staff.get(f"/photos/albums/{album['id']}")).json()["album"]["photo_count"] == 0

    none = staff.post(f"/admin/photos/albums/{album['id']}/photos", data={"x": "1"})
    assert none.status_code == 400 and "files" in none.json()["error"]["fields"]
    assert upload(staff, "00000000-0000-0000-0000-000000000000", ("a.jpg", jpeg())).status_code == 404

    made = expect(upload(staff, album["id"], ("ok.jpg", jpeg()), ("ok2.png", png())), 201).json()["items"]
    assert [p["number"] for p in made] == [1, 2]


def test_only_staff_manage_albums(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Tom", "class_name": "1A"}])
    album = new_album(staff, "Sport")
    [photo] = expect(upload(staff, album["id"], ("a.jpg", jpeg())), 201).json()["items"]
    assert parent.post("/admin/photos/albums", json={"title": "x"}).status_code == 403
    assert upload(parent, album["id"], ("a.jpg", jpeg())).status_code == 403
    assert parent.delete(f"/admin/photos/{photo['id']}").status_code == 403
    assert parent.delete(f"/admin/photos/albums/{album['id']}").status_code == 403
    bad = staff.post("/admin/photos/albums", json={"title": "", "taken_on": "demain", "class_names": "1A"})
    assert bad.status_code == 400


def test_withdrawn_photos_and_albums_are_gone_with_their_files(suite):
    staff, emmas, _noahs, albums = world(suite)
    album, (first, second) = albums["Classe verte 1A"]
    # the parent's phone showed the photo before: its copy is refused on the next use, not kept
    seen = expect(emmas.get(first["thumbnail"]["url"])).headers["ETag"]
    assert expect(staff.delete(f"/admin/photos/{first['id']}"), 204)
    assert emmas.get(first["thumbnail"]["url"], headers={"If-None-Match": seen}).status_code == 404
    page = expect(emmas.get(f"/photos/albums/{album['id']}")).json()
    assert [p["id"] for p in page["items"]] == [second["id"]] and page["album"]["photo_count"] == 1
    for client in (emmas, staff):
        for variant in ("thumbnail", "display", "download"):
            assert client.get(f"/photos/{first['id']}/{variant}").status_code == 404
    assert staff.delete(f"/admin/photos/{first['id']}").status_code == 404

    school, school_photos = albums["Fancy-fair"]
    expect(staff.delete(f"/admin/photos/albums/{school['id']}"), 204)
    assert titles(emmas) == ["Classe verte 1A"]
    assert emmas.get(f"/photos/albums/{school['id']}").status_code == 404
    for p in school_photos:
        assert emmas.get(p["thumbnail"]["url"]).status_code == 404
        assert staff.get(p["display_url"]).status_code == 404


def test_a_draft_is_hidden_until_published(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Ana", "class_name": "5A"}])
    draft = new_album(
        staff,
        "Remise des diplômes",
        ["5A"],
        published=False,
        event="Fête de fin d'année",
        taken_on="2027-06-25",
    )
    assert draft["published_at"] is None
    [photo] = expect(upload(staff, draft["id"], ("a.jpg", jpeg())), 201).json()["items"]
    assert titles(parent) == []
    assert parent.get(photo["thumbnail"]["url"]).status_code == 404
    published = expect(staff.post(f"/admin/photos/albums/{draft['id']}/publish")).json()
    assert (
        published["published_at"]
        and published["event"] == "Fête de fin d'année"
        and published["taken_on"] == "2027-06-25"
    )
    assert titles(parent) == ["Remise des diplômes"]
    assert expect(parent.get(photo["thumbnail"]["url"])).content


def test_album_photos_come_page_by_page(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Léa", "class_name": "2A"}])
    album = new_album(staff, "Bal")
    made = expect(
        upload(staff, album["id"], *[(f"{i}.jpg", jpeg((80, 60), (i * 50, 0, 0))) for i in range(5)]), 201
    )
    ids, cursor = [], None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = expect(parent.get(f"/photos/albums/{album['id']}", params=params)).json()
        ids += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids == [p["id"] for p in made.json()["items"]]
    assert parent.get(f"/photos/albums/{album['id']}", params={"limit": 500}).status_code == 400
    assert parent.get(f"/photos/albums/{album['id']}", params={"cursor": "zz"}).status_code == 400


def test_an_album_is_offered_for_sale_in_an_open_ordering_period(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Mia", "class_name": "4B"}])
    album = new_album(staff, "Photos de classe 4B", ["4B"])
    made = expect(
        upload(staff, album["id"], ("a.jpg", jpeg()), ("b.jpg", jpeg(color=(0, 0, 0)))), 201
    ).json()["items"]
    now = datetime.now(UTC)

    def period(opens, closes):
        return expect(
            staff.post(
                "/admin/order-periods",
                json={
                    "title": "Vente de photos",
                    "notes": "",
                    "opens_at": (now + timedelta(days=opens)).isoformat(),
                    "closes_at": (now + timedelta(days=closes)).isoformat(),
                    "class_names": ["4B"],
                },
            ),
            201,
        ).json()["id"]

    open_period = period(-1, 10)
    offered = expect(
        staff.post(
            f"/admin/photos/albums/{album['id']}/offer",
            json={"period_id": open_period, "price_cents": 350, "comment": "Tirage 13 × 18"},
        ),
        201,
    ).json()
    assert [i["photo_id"] for i in offered["items"]] == [p["id"] for p in made]
    catalog = expect(parent.get(f"/order-periods/{open_period}/catalog")).json()
    [subject] = [s for s in catalog["subjects"] if s["subject"] == "Photos – Photos de classe 4B"]
    assert sorted((i["title"], i["price_cents"], i["type"], i["comment"]) for i in subject["items"]) == [
        ("Photo 1", 350, "purchase", "Tirage 13 × 18"),
        ("Photo 2", 350, "purchase", "Tirage 13 × 18"),
    ]
    again = staff.post(
        f"/admin/photos/albums/{album['id']}/offer", json={"period_id": open_period, "price_cents": 350}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_offered"
    listed = next(a for a in expect(staff.get("/photos/albums")).json()["items"] if a["id"] == album["id"])
    assert listed["offered_period_ids"] == [open_period]

    closed = period(-5, -1)
    late = staff.post(
        f"/admin/photos/albums/{album['id']}/offer", json={"period_id": closed, "price_cents": 350}
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "period_closed"
    unknown = staff.post(
        f"/admin/photos/albums/{album['id']}/offer",
        json={"period_id": "00000000-0000-0000-0000-000000000000", "price_cents": 350},
    )
    assert unknown.status_code == 404
    assert (
        staff.post(f"/admin/photos/albums/{album['id']}/offer", json={"period_id": open_period}).status_code
        == 400
    )

    # the parent's album page points to the period's order form
    page = expect(parent.page(f"/photos/albums/{album['id']}")).text
    assert f'href="/commandes/{open_period}"' in page

    # a period other classes see would show 4B's photos to them: refused, and not offered on the page
    def periods_for(classes):
        return expect(
            staff.post(
                "/admin/order-periods",
                json={
                    "title": f"Vente {classes}",
                    "notes": "",
                    "opens_at": (now - timedelta(days=1)).isoformat(),
                    "closes_at": (now + timedelta(days=3)).isoformat(),
                    "class_names": classes,
                },
            ),
            201,
        ).json()["id"]

    for wider in (periods_for([]), periods_for(["4B", "5A"])):
        refused = staff.post(
            f"/admin/photos/albums/{album['id']}/offer", json={"period_id": wider, "price_cents": 350}
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "classes_mismatch"
        assert f'value="{wider}"' not in expect(staff.page(f"/gestion/photos/albums/{album['id']}")).text
    # a draft is not for sale, and the page says why; a price of "inf" is a form error, not a crash
    draft = new_album(staff, "Brouillon 4B", ["4B"], published=False)
    expect(upload(staff, draft["id"], ("c.jpg", jpeg())), 201)
    other = periods_for(["4B"])
    no_draft = staff.post(
        f"/admin/photos/albums/{draft['id']}/offer", json={"period_id": other, "price_cents": 350}
    )
    assert no_draft.status_code == 409 and no_draft.json()["error"]["code"] == "album_not_published"
    manage = expect(staff.page(f"/gestion/photos/albums/{draft['id']}")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', manage).group(1)

    def sell(price):
        return staff.page(
            f"/gestion/photos/albums/{draft['id']}/vente",
            method="POST",
            data={"csrf_token": csrf, "period_id": other, "price": price},
        )

    form = sell("3,50")
    assert form.status_code == 409 and "Publiez l'album avant de le mettre en vente." in html.unescape(
        form.text
    )
    assert sell("inf").status_code == 400 and sell("nan").status_code == 400


def test_an_offer_cut_off_half_way_completes_without_doubles_and_withdrawals_end_the_sale(suite):
    staff = new_school(suite)
    parent = new_family(suite, staff, [{"first_name": "Noa", "class_name": "5A"}])
    album = new_album(staff, "Sortie 5A", ["5A"])
    made = expect(
        upload(staff, album["id"], ("a.jpg", jpeg()), ("b.jpg", jpeg(color=(0, 0, 0)))), 201
    ).json()["items"]
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Vente de photos",
                "notes": "",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=5)).isoformat(),
                "class_names": ["5A"],
            },
        ),
        201,
    ).json()["id"]
    # the first attempt added photo 1's item, then the gateway lost the orders service (what it sent)
    expect(
        staff.post(
            f"/admin/order-periods/{period}/items",
            json={
                "subject": "Photos – Sortie 5A",
                "title": "Photo 1",
                "type": "purchase",
                "price_cents": 300,
                "reference": f"photo:{made[0]['id']}",
            },
            headers={"Idempotency-Key": f"album-offer:{album['id']}:{period}:{made[0]['id']}"},
        ),
        201,
    )
    expect(
        staff.post(
            f"/admin/photos/albums/{album['id']}/offer", json={"period_id": period, "price_cents": 300}
        ),
        201,
    )
    catalog = expect(parent.get(f"/order-periods/{period}/catalog")).json()
    [subject] = [s for s in catalog["subjects"] if s["subject"] == "Photos – Sortie 5A"]
    assert sorted(i["title"] for i in subject["items"]) == ["Photo 1", "Photo 2"]

    # a withdrawn photo leaves the sale with its files; a withdrawn album takes the rest with it
    expect(staff.delete(f"/admin/photos/{made[0]['id']}"), 204)
    catalog = expect(parent.get(f"/order-periods/{period}/catalog")).json()
    [subject] = [s for s in catalog["subjects"] if s["subject"] == "Photos – Sortie 5A"]
    assert [i["title"] for i in subject["items"]] == ["Photo 2"]
    expect(staff.delete(f"/admin/photos/albums/{album['id']}"), 204)
    catalog = expect(parent.get(f"/order-periods/{period}/catalog")).json()
    assert [s for s in catalog["subjects"] if s["subject"] == "Photos – Sortie 5A"] == []


def test_photo_pages_for_parents_and_staff(suite):
    staff, emmas, _noahs, albums = world(suite)
    album, made = albums["Classe verte 1A"]
    index = expect(emmas.page("/photos")).text
    assert "Classe verte 1A" in index and "Fancy-fair" in index and "Piscine 2B" not in index
    grid = expect(emmas.page(f"/photos/albums/{album['id']}")).text
    assert grid.count('loading="lazy"') == 2 and 'width="320" height="240"' in grid
    assert 'alt="Photo 1 de l&#39;album « Classe verte 1A »"' in grid
    view = expect(emmas.page(f"/photos/{made[0]['id']}")).text
    assert f"/photos/{made[0]['id']}/telecharger" in view and 'rel="next"' in view
    assert expect(emmas.page(f"/photos/{made[0]['id']}/miniature")).headers["Content-Type"] == "image/jpeg"
    assert emmas.page(f"/photos/albums/{albums['Piscine 2B'][0]['id']}").status_code == 404
    english = expect(emmas.page(f"/photos/{made[0]['id']}?lang=en")).text
    assert "Download" in english and "Next photo" in english
    dutch = expect(emmas.page("/photos?lang=nl")).text
    assert "Foto&#39;s" in dutch or "Foto's" in dutch

    staff_page = expect(staff.page("/gestion/photos")).text
    assert "Classe verte 1A" in staff_page and "Nouvel album" in staff_page
    manage = expect(staff.page(f"/gestion/photos/albums/{album['id']}")).text
    assert 'enctype="multipart/form-data"' in manage and "multiple" in manage
    # over the gateway's 20 MiB a request: the album page says so (413), nothing added
    heavy = staff.page(
        f"/gestion/photos/albums/{album['id']}/photos",
        method="POST",
        files=[("files", ("big.jpg", jpeg() + b"\x00" * (21 * 1024 * 1024), "image/jpeg"))],
    )
    assert heavy.status_code == 413 and "20 Mo" in heavy.text and "Classe verte 1A" in heavy.text
    assert expect(staff.get(f"/photos/albums/{album['id']}")).json()["album"]["photo_count"] == 2
    # a titled photo: screen readers hear its number (what parents order by) and its title
    titled = expect(
        staff.post(
            f"/admin/photos/albums/{album['id']}/photos",
            files=[("files", ("c.jpg", jpeg(), "image/jpeg"))],
            data={"titles": ["Le pique-nique"]},
        ),
        201,
    ).json()["items"][0]
    grid = html.unescape(expect(emmas.page(f"/photos/albums/{album['id']}?lang=fr")).text)
    assert f'alt="Photo {titled["number"]} : Le pique-nique"' in grid


def test_the_openapi_spec_lists_the_photo_endpoints(suite):
    paths = expect(anonymous(suite).get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/photos/albums",
        "/api/v1/photos/albums/{id}",
        "/api/v1/photos/{id}/thumbnail",
        "/api/v1/photos/{id}/display",
        "/api/v1/photos/{id}/download",
        "/api/v1/admin/photos/albums",
        "/api/v1/admin/photos/albums/{id}/photos",
        "/api/v1/admin/photos/{id}",
        "/api/v1/photos/{id}",
        "/api/v1/admin/photos/albums/{id}/publish",
        "/api/v1/admin/photos/albums/{id}",
        "/api/v1/admin/photos/albums/{id}/offer",
    ):
        assert path in paths, path
