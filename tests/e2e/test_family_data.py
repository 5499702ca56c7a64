"""Issue #21 across every service, as a family and the school's office use it (API.md "A family's data
(privacy)"):

- A parent asks for everything Cartable holds on them: the ZIP, built in the background, holds every
  service's part (account and children, wallets and invoices, orders, documents and their files,
  bookings, the mail log) and nothing of the other family of the same class; a mail says it is ready
  (never the file); the file is theirs alone (the manager and the other parent: 404).
- A parent refuses that other families see the photos their child appears in (tagged by staff):
  the class's other families no longer see them, the family and staff still do.
- The office erases a family on request: the parent and the child who left are gone from every table
  of every service (their names, e-mail address searched in every column), the child still enrolled
  and the other family are kept, the invoices stay with their amounts (pseudonymised) and the ledger
  still sums to zero; erasing again changes nothing.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from kit.dates import BRUSSELS
from kit.privacy import find_text
from kit.testing import wait_for
from tests.e2e.test_meetings import evening_body
from tests.e2e.test_photos import jpeg, new_album, upload
from tests.factories import expect, mail_text, mails_to, new_family, new_school, unique
from tests.suite import SERVICES

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def today() -> date:
    return datetime.now(BRUSSELS).date()


PARTS = ("auth/", "finance/", "orders/", "notifications/", "meetings/", "documents/")


def _metadata(service: str):
    module = __import__(f"services.{service}.app", fromlist=["spec"])
    return module.spec().metadata


def _everywhere(suite, needles: list[str]) -> list[tuple[str, str, str]]:
    """(service, table, column) of every service's database where a needle appears."""
    found = []
    for svc in SERVICES:
        engine = create_engine(suite.urls[svc])
        try:
            with engine.connect() as conn:
                tables = [t for t in _metadata(svc).sorted_tables]
                found += [(svc, t, c) for t, c in find_text(conn, tables, needles)]
        finally:
            engine.dispose()
    return found


def _samples(suite, needles: list[str]) -> list[str]:
    """What is left where a needle still is: service.table.column and the text around it."""
    out = []
    lowered = [n.lower() for n in needles]
    for svc, table, column in _everywhere(suite, needles):
        engine = create_engine(suite.urls[svc])
        try:
            with engine.connect() as conn:
                for (value,) in conn.execute(text(f'SELECT "{column}" FROM "{table}"')):  # noqa: S608 (our names)
                    shown = (
                        bytes(value).decode("utf-8", "replace")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
                    if any(n in shown.lower() for n in lowered):
                        out.append(f"{svc}.{table}.{column}: {shown[:200]!r}")
        finally:
            engine.dispose()
    return out


def _invoice(staff, student_id: str, title: str) -> dict:
    body = {
        "student_id": student_id,
        "title": title,
        "due_on": (today() + timedelta(days=30)).isoformat(),
        "lines": [{"label": "Classe verte", "quantity": 1, "unit_price_cents": 4250}],
    }
    return expect(staff.post("/admin/invoices", json=body), 201).json()


def _deposit(staff, student_id: str, title: str) -> None:
    expect(
        staff.post(
            "/admin/documents",
            data={"title": title, "student_ids": student_id},
            files={"file": ("bulletin.pdf", PDF, "application/pdf")},
        ),
        201,
    )


def _order(staff, parent, class_name: str) -> None:
    now = datetime.now(UTC)
    period = expect(
        staff.post(
            "/admin/order-periods",
            json={
                "title": "Manuels",
                "notes": "",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=7)).isoformat(),
                "class_names": [class_name],
            },
        ),
        201,
    ).json()["id"]
    item = expect(
        staff.post(
            f"/admin/order-periods/{period}/items",
            json={
                "subject": "Maths",
                "title": "Actimath",
                "comment": "",
                "type": "purchase",
                "price_cents": 1500,
            },
        ),
        201,
    ).json()["id"]
    expect(
        parent.post(
            f"/order-periods/{period}/orders",
            json={"item_ids": [item], "confirm": True},
            headers={"Idempotency-Key": unique("order-")},
        ),
        201,
    )


def _booking(staff, parent) -> None:
    evening = expect(staff.post("/admin/meetings", json=evening_body("Réunion")), 201).json()["id"]
    [ev] = [e for e in expect(parent.get("/meetings")).json()["items"] if e["id"] == evening]
    slot = ev["teachers"][0]["free_slots"][0]["id"]
    expect(parent.post(f"/meetings/slots/{slot}/booking", headers={"Idempotency-Key": unique("b-")}), 201)


@pytest.fixture(scope="module")
def school(suite):
    """A class 3A with two families: the Quorndels (two children: Zéphyrine still enrolled, Barnabé
    who left) and the Vantongerloos beside them. Each has an invoice, a document, an order, a
    booking and mails."""
    staff = new_school(suite)
    last = f"Quorndel{unique()[:4].capitalize()}"
    other_last = f"Vantongerloo{unique()[:4].capitalize()}"
    kids = [
        {"first_name": "Zéphyrine", "last_name": last, "class_name": "3A"},
        {"first_name": "Barnabé", "last_name": last, "class_name": "3A"},
    ]
    family = new_family(suite, staff, kids, first_name="Hortense", last_name=last)
    other = new_family(
        suite,
        staff,
        [{"first_name": "Ottoline", "last_name": other_last, "class_name": "3A"}],
        last_name=other_last,
    )
    for parent in (family, other):
        for child in parent.children:
            _invoice(staff, child["id"], "Classe verte")
            _deposit(staff, child["id"], f"Bulletin de {child['first_name']}")
        _order(staff, parent, "3A")
        _booking(staff, parent)
    return staff, family, other, last, other_last


def _ready(client, export_id: str) -> dict:
    def done():
        body = expect(client.get(f"/data-exports/{export_id}")).json()
        return body if body["status"] == "ready" else None

    return wait_for(done, 90, what=f"the data export {export_id} to be ready")


def test_a_parent_downloads_every_services_part_and_nothing_of_another_family(suite, school):
    staff, family, other, last, other_last = school
    made = expect(family.post("/data-exports"), 202).json()
    assert made["status"] == "pending" and set(made) == {"id", "status"}
    ready = _ready(family, made["id"])
    assert set(ready) == {"id", "status", "ready_at", "expires_at"}
    assert datetime.fromisoformat(ready["expires_at"]) - datetime.fromisoformat(
        ready["ready_at"]
    ) == timedelta(days=7)

    resp = expect(family.get(f"/data-exports/{made['id']}/file"))
    assert resp.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    names = archive.namelist()
    for part in PARTS:
        assert any(n.startswith(part) for n in names), f"no {part} part in {names}"
    assert "manifest.json" in names
    everything = b"".join(archive.read(n) for n in names).decode("utf-8", "replace")
    for name in ("Hortense", "Zéphyrine", "Barnabé", last, family.email, "Classe verte", "Actimath"):
        assert name in everything, f"{name} is not in the export"
    assert other_last not in everything and "Ottoline" not in everything and other.email not in everything
    assert any(n.startswith("documents/files/") and archive.read(n) == PDF for n in names)
    for n in names:
        if n.endswith(".json"):
            json.loads(archive.read(n))  # every part is JSON

    # the mail says it is ready and links to the account; the file is not in it
    def ready_mail():
        return [m for m in mails_to(suite, family.email) if "/compte/donnees" in mail_text(m)]

    [mail] = wait_for(ready_mail, 60, what="the export-ready mail")
    assert not any(p.get_filename() for p in mail.walk())

    # the file is the family's alone
    expect(staff.get(f"/data-exports/{made['id']}/file"), 404)
    expect(other.get(f"/data-exports/{made['id']}/file"), 404)
    expect(other.get(f"/data-exports/{made['id']}"), 404)


def test_the_office_asks_for_a_parents_export_and_the_parent_downloads_it(suite, school):
    staff, _family, other, _last, other_last = school
    made = expect(staff.post(f"/admin/parents/{other.parent_id}/data-exports"), 202).json()
    _ready(other, made["id"])
    archive = zipfile.ZipFile(io.BytesIO(expect(other.get(f"/data-exports/{made['id']}/file")).content))
    assert other_last in b"".join(archive.read(n) for n in archive.namelist()).decode("utf-8", "replace")
    expect(staff.get(f"/data-exports/{made['id']}/file"), 404)


def test_an_erased_family_leaves_no_name_behind_and_the_ledger_still_balances(suite, school):
    staff, family, other, _last, other_last = school
    barnabe = next(c["id"] for c in family.children if c["first_name"] == "Barnabé")
    zephyrine = next(c["id"] for c in family.children if c["first_name"] == "Zéphyrine")
    expect(staff.post(f"/admin/students/{barnabe}/leave", json={"left_on": today().isoformat()}))
    expect(staff.post(f"/admin/parents/{family.parent_id}/erase", json={}), 400)

    done = expect(staff.post(f"/admin/parents/{family.parent_id}/erase", json={"confirm": True}), 202).json()
    assert done["erased_student_ids"] == [barnabe] and done["kept_student_ids"] == [zephyrine]
    assert done["keep_financial_until"] >= f"{today().year + 7}-12-31"

    # every service applies it (auth.family.erased.v1): the parent and Barnabé are in no column of any table
    gone = ["Hortense", "Barnabé", family.email, "Bulletin de Barnabé"]
    wait_for(
        lambda: not _everywhere(suite, gone),
        120,
        what="the family to be erased in every service",
        describe=lambda: _samples(suite, gone),
    )
    # Zéphyrine, still enrolled, and the other family are kept
    assert _everywhere(suite, ["Zéphyrine"]) and _everywhere(suite, [other_last, other.email])
    expect(other.get("/documents"))
    # the invoices stay, amounts and dates kept, and the ledger still sums to zero
    engine = create_engine(suite.urls["finance"])
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT COALESCE(SUM(amount_cents), 0) FROM ledger_postings")).scalar() == 0
            )
            kept = (
                conn.execute(text("SELECT total_cents FROM invoices WHERE student_id = :s"), {"s": barnabe})
                .scalars()
                .all()
            )
            assert kept == [4250]
    finally:
        engine.dispose()
    # the erased parent can no longer sign in; erasing again changes nothing
    assert expect(staff.post(f"/admin/parents/{family.parent_id}/erase", json={"confirm": True}), 202).json()[
        "already_erased"
    ]


def test_a_refused_photo_consent_hides_the_childs_photos_from_other_families(suite):
    staff = new_school(suite)
    lena = staff.create_student("Léna", "Moreau", "2C")
    tom = staff.create_student("Tom", "Jacobs", "2C")
    lenas = new_family(suite, staff, [lena], first_name="Claire")
    toms = new_family(suite, staff, [tom], first_name="Marc")
    album = new_album(staff, "Carnaval 2C", ["2C"])
    made = expect(
        upload(staff, album["id"], ("lena.jpg", jpeg()), ("groupe.jpg", jpeg(color=(200, 40, 40)))), 201
    )
    with_lena, group = (p["id"] for p in made.json()["items"])
    tagged = expect(
        staff.put(f"/admin/photos/{with_lena}/subjects", json={"student_ids": [lena["id"]]})
    ).json()
    assert tagged["subject_ids"] == [lena["id"]]
    expect(staff.put(f"/admin/photos/{with_lena}/subjects", json={"student_ids": "x"}), 400)
    expect(toms.put(f"/admin/photos/{with_lena}/subjects", json={"student_ids": []}), 403)

    def photos(client) -> list[str]:
        return [p["id"] for p in expect(client.get(f"/photos/albums/{album['id']}")).json()["items"]]

    assert photos(toms) == [with_lena, group]  # shared: the school's policy until the family says no

    expect(lenas.put(f"/children/{lena['id']}/photo-consent", json={}), 400)
    expect(toms.put(f"/children/{lena['id']}/photo-consent", json={"share_with_other_families": False}), 404)
    refused = expect(
        lenas.put(f"/children/{lena['id']}/photo-consent", json={"share_with_other_families": False})
    )
    assert refused.json()["share_with_other_families"] is False and refused.json()["updated_at"]

    assert photos(toms) == [group]
    expect(toms.get(f"/photos/{with_lena}"), 404)
    expect(toms.get(f"/photos/{with_lena}/display"), 404)
    assert photos(lenas) == [with_lena, group]  # her own family still sees it
    assert expect(lenas.get(f"/photos/{with_lena}/display")).headers["Content-Type"] == "image/jpeg"
    assert with_lena in [p["id"] for p in expect(staff.get(f"/photos/albums/{album['id']}")).json()["items"]]

    expect(lenas.put(f"/children/{lena['id']}/photo-consent", json={"share_with_other_families": True}))
    assert photos(toms) == [with_lena, group]
