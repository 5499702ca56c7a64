"""The pages of a family's data, in-process against fake services: the parent's "Mes données" (ask,
follow, download), the staff page of a parent (its exports, "Préparer l'export de ses données"), and
the erasure's confirmation page (what goes, what is kept, the accounting exception; nothing erased
without the box ticked)."""

from __future__ import annotations

import html
import threading

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import documents_pb2
from cartable.privacy.v1 import privacy_pb2 as pb
from gateway.tests.conftest import form_fields
from gateway.tests.test_people_api import PARENTS, _copy, fake_parents
from kit.errors import RateLimited

WAIT = 30


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def export(status: str, parent_id: str, **kw) -> pb.DataExport:
    return pb.DataExport(
        id=f"exp-{status}",
        parent_id=parent_id,
        status=status,
        requested_at="2026-12-01T09:00:00+00:00",
        requested_by=kw.pop("requested_by", parent_id),
        **kw,
    )


@pytest.fixture
def parent(client, fakes):
    signed = fakes.parent("Emma")
    client.set_cookie("cartable_session", signed.token)
    fakes.on("documents", "ListPhotoConsents", documents_pb2.ListPhotoConsentsResponse())
    return signed


def test_the_parent_says_which_childs_photos_other_families_may_see(client, fakes):
    signed = fakes.parent("Emma", "Louis")
    client.set_cookie("cartable_session", signed.token)
    consents = {"child-2": documents_pb2.PhotoConsent(student_id="child-2", share_with_other_families=False)}
    fakes.on(
        "documents",
        "ListPhotoConsents",
        lambda req: documents_pb2.ListPhotoConsentsResponse(
            items=[consents[i] for i in req.student_ids if i in consents]
        ),
    )

    def saved(req):
        consents[req.student_id] = documents_pb2.PhotoConsent(
            student_id=req.student_id, share_with_other_families=req.share_with_other_families
        )
        return documents_pb2.SetPhotoConsentResponse(consent=consents[req.student_id])

    fakes.on("documents", "SetPhotoConsent", saved)
    fakes.on("data_exports", "ListDataExports", pb.ListDataExportsResponse())
    html_page = client.get("/compte/donnees").get_data(as_text=True)
    assert 'name="share-child-1" checked' in html_page  # nothing recorded: shared
    assert 'name="share-child-2" checked' not in html_page and 'name="share-child-2"' in html_page
    fields = form_fields(html_page, "/compte/donnees/photos")
    # Emma's box unticked, Louis's ticked: both change
    resp = client.post("/compte/donnees/photos", data={**fields, "share-child-2": "on"})
    assert resp.status_code == 303
    asked = {
        (r.student_id, r.share_with_other_families) for r in fakes.requests("documents", "SetPhotoConsent")
    }
    assert asked == {("child-1", False), ("child-2", True)}
    assert "Vos choix pour les photos sont enregistrés." in text(client.get("/compte/donnees"))
    # saving the same choices again changes nothing
    client.post("/compte/donnees/photos", data={**fields, "share-child-2": "on"})
    assert len(fakes.requests("documents", "SetPhotoConsent")) == 2


def test_staff_tick_who_is_on_a_photo_and_see_a_refused_consent(client, fakes):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    photo = documents_pb2.Photo(id="ph-1", album_id="al-1", number=3, subject_ids=["s-2"])
    album = documents_pb2.Album(id="al-1", title="Carnaval", class_names=["2C"])
    fakes.on("documents", "GetPhoto", documents_pb2.GetPhotoResponse(photo=photo, album=album))
    kids = [
        auth_pb2.Student(id="s-1", first_name="Léna", last_name="Moreau", class_name="2C"),
        auth_pb2.Student(id="s-2", first_name="Tom", last_name="Jacobs", class_name="2C"),
    ]
    fakes.on("auth", "ListStudents", auth_pb2.ListStudentsResponse(students=kids))
    fakes.on(
        "documents",
        "ListPhotoConsents",
        documents_pb2.ListPhotoConsentsResponse(
            items=[documents_pb2.PhotoConsent(student_id="s-1", share_with_other_families=False)]
        ),
    )
    fakes.on("documents", "SetPhotoSubjects", documents_pb2.SetPhotoSubjectsResponse(photo=photo))
    page = client.get("/gestion/photos/ph-1/enfants")
    body = text(page)
    assert page.status_code == 200 and "Qui est sur la photo 3 ?" in body
    assert "Léna Moreau · classe 2C · <strong>photos réservées à sa famille</strong>" in body
    assert 'value="s-2" checked' in page.get_data(as_text=True)
    # the album's class only: every tagged child is in it (an empty id list would ask for everyone)
    assert [list(r.class_names) for r in fakes.requests("auth", "ListStudents")] == [["2C"]]
    fields = form_fields(page.get_data(as_text=True), "/gestion/photos/ph-1/enfants")
    resp = client.post("/gestion/photos/ph-1/enfants", data={**fields, "student_ids": ["s-1", "s-2"]})
    assert resp.status_code == 303
    [asked] = fakes.requests("documents", "SetPhotoSubjects")
    assert (asked.photo_id, list(asked.student_ids)) == ("ph-1", ["s-1", "s-2"])


def test_the_parent_asks_follows_and_downloads_their_export(client, fakes, parent):
    me = parent.session.account.id
    ready = export(
        "ready",
        me,
        ready_at="2026-12-01T09:02:00+00:00",
        expires_at="2026-12-08T09:02:00+00:00",
        size_bytes=20480,
    )
    fakes.on("data_exports", "ListDataExports", pb.ListDataExportsResponse(items=[ready]))
    page = text(client.get("/compte/donnees"))
    assert "Mes données" in page and "Préparer l'export de mes données" in page
    assert "Prêt jusqu'au 8 déc. 2026" in page or "Prêt jusqu'au 8 décembre 2026" in page, page
    assert f"/compte/donnees/{ready.id}/fichier" in page and "(20 Kio)" in page
    assert fakes.requests("data_exports", "ListDataExports")[0].parent_id == me

    claimed = threading.Event()
    pending = export("pending", me)
    fakes.on("data_exports", "RequestDataExport", pending)

    def claim(req):
        claimed.set()
        return pb.ClaimDataExportResponse(claimed=False)

    fakes.on("data_exports", "ClaimDataExport", claim)
    fields = form_fields(client.get("/compte/donnees").get_data(as_text=True), "/compte/donnees")
    resp = client.post("/compte/donnees", data=fields)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/compte/donnees")
    assert [r.parent_id for r in fakes.requests("data_exports", "RequestDataExport")] == [me]
    assert claimed.wait(WAIT)  # built in the background
    assert "Votre export est en préparation" in text(client.get("/compte/donnees"))

    fakes.on(
        "data_exports",
        "OpenDataExport",
        pb.OpenDataExportResponse(content=b"PK\x03\x04", filename="donnees.zip", total_bytes=4),
    )
    got = client.get(f"/compte/donnees/{ready.id}/fichier")
    assert got.status_code == 200 and got.mimetype == "application/zip" and got.data == b"PK\x03\x04"


def test_the_request_needs_its_csrf_token(client, fakes, parent):
    resp = client.post("/compte/donnees", data={})
    assert resp.status_code in (400, 403)
    assert fakes.requests("data_exports", "RequestDataExport") == []


def test_staff_do_not_have_a_my_data_page(client, fakes):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    assert client.get("/compte/donnees").status_code == 403


@pytest.fixture
def staff(client, fakes):
    parents = [_copy(p) for p in PARENTS]
    kids = {
        "s-4": auth_pb2.Student(
            id="s-4", first_name="Lotte", last_name="Peeters", class_name="4A", status="left"
        ),
        "s-9": auth_pb2.Student(
            id="s-9", first_name="Jens", last_name="Peeters", class_name="2B", status="active"
        ),
    }
    parents[3].student_ids.append("s-9")
    fake_parents(fakes, parents, kids)
    fakes.on("auth", "ListStaff", auth_pb2.ListStaffResponse())
    fakes.on("auth", "ListStudents", auth_pb2.ListStudentsResponse(students=list(kids.values())))
    signed = fakes.staff()
    client.set_cookie("cartable_session", signed.token)
    return signed


def test_the_staff_page_of_a_parent_shows_their_exports_and_asks_for_one(client, fakes, staff):
    fakes.on(
        "data_exports",
        "ListDataExports",
        pb.ListDataExportsResponse(items=[export("expired", "p-4", requested_by=staff.session.account.id)]),
    )
    page = text(client.get("/gestion/parents/p-4"))
    assert "Données de la famille" in page and "expiré" in page
    assert "/gestion/parents/p-4/effacer" in page

    claimed = threading.Event()
    fakes.on("data_exports", "RequestDataExport", export("pending", "p-4"))
    fakes.on("data_exports", "ClaimDataExport", lambda req: claimed.set() or pb.ClaimDataExportResponse())
    fields = form_fields(
        client.get("/gestion/parents/p-4").get_data(as_text=True), "/gestion/parents/p-4/export"
    )
    resp = client.post("/gestion/parents/p-4/export", data=fields)
    assert resp.status_code == 303
    assert "seule la famille peut recevoir" in text(client.get(resp.headers["Location"]))
    assert [r.parent_id for r in fakes.requests("data_exports", "RequestDataExport")] == ["p-4"]
    assert claimed.wait(WAIT)


def test_the_page_of_a_parent_still_shows_when_documents_is_down(client, fakes, staff):
    # ListDataExports not answered (UNIMPLEMENTED): the rest of the page is there
    page = text(client.get("/gestion/parents/p-4"))
    assert "Les exports ne peuvent pas être affichés pour le moment." in page and "Jan" in page


def test_the_erasure_is_confirmed_on_a_page_that_explains_the_accounting_exception(client, fakes, staff):
    page = text(client.get("/gestion/parents/p-4/effacer"))
    assert "Effacer la famille de Jan Peeters ?" in page
    assert "L'exception comptable" in page and "7 ans" in page and "pseudonyme" in page
    assert "Lotte Peeters" in page  # left: erased
    assert "Les enfants encore inscrits restent" in page and "Jens Peeters" in page  # kept

    fields = form_fields(
        client.get("/gestion/parents/p-4/effacer").get_data(as_text=True), "/gestion/parents/p-4/effacer"
    )
    unticked = client.post("/gestion/parents/p-4/effacer", data=fields)
    assert unticked.status_code == 400 and "Cochez la case pour confirmer" in text(unticked)
    assert fakes.requests("auth", "EraseFamily") == []

    fakes.on(
        "auth",
        "EraseFamily",
        auth_pb2.EraseFamilyResponse(
            parent_id="p-4",
            erased_student_ids=["s-4"],
            kept_student_ids=["s-9"],
            keep_financial_until="2033-12-31",
        ),
    )
    done = client.post("/gestion/parents/p-4/effacer", data={**fields, "confirm": "on"})
    assert done.status_code == 303
    [asked] = fakes.requests("auth", "EraseFamily")
    assert (asked.parent_id, asked.confirm) == ("p-4", True)
    assert "jusqu'au 2033-12-31" in text(client.get(done.headers["Location"]))


def test_staff_read_and_change_the_schools_retention_policy(client, fakes):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    policy = {"now": auth_pb2.RetentionPolicy(personal_years=1, financial_years=7)}
    fakes.on("auth", "GetRetentionPolicy", lambda req: policy["now"])

    def update(req):
        policy["now"] = req
        return req

    fakes.on("auth", "UpdateRetentionPolicy", update)
    page = client.get("/gestion/donnees-personnelles")
    body = text(page)
    assert page.status_code == 200 and 'aria-current="page"' in body  # in the staff navigation
    assert "effacées 1 année scolaire après leur départ" in body and "restent 7 ans après" in body
    fields = form_fields(page.get_data(as_text=True), "/gestion/donnees-personnelles")

    refused = client.post(
        "/gestion/donnees-personnelles", data={**fields, "personal_years": "0", "financial_years": "5"}
    )
    assert refused.status_code == 400
    assert "entre 1 et 10" in text(refused) and "7 ans au moins" in text(refused)
    assert fakes.requests("auth", "UpdateRetentionPolicy") == []

    done = client.post(
        "/gestion/donnees-personnelles", data={**fields, "personal_years": "2", "financial_years": "10"}
    )
    assert done.status_code == 303
    [asked] = fakes.requests("auth", "UpdateRetentionPolicy")
    assert (asked.personal_years, asked.financial_years) == (2, 10)
    after = text(client.get("/gestion/donnees-personnelles"))
    assert "La durée de conservation est enregistrée." in after and "2 années scolaires" in after


def test_the_retention_policy_through_the_api(client, fakes):
    staff = fakes.staff()
    fakes.on("auth", "GetRetentionPolicy", auth_pb2.RetentionPolicy(personal_years=1, financial_years=7))
    fakes.on("auth", "UpdateRetentionPolicy", lambda req: req)
    assert client.get("/api/v1/admin/retention-policy", headers=staff.bearer).get_json() == {
        "personal_years": 1,
        "financial_years": 7,
    }
    bad = client.put(
        "/api/v1/admin/retention-policy",
        json={"personal_years": 1, "financial_years": 6},
        headers=staff.bearer,
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"] == {"financial_years": "at least 7"}
    ok = client.put(
        "/api/v1/admin/retention-policy",
        json={"personal_years": 3, "financial_years": 7},
        headers=staff.bearer,
    )
    assert ok.get_json() == {"personal_years": 3, "financial_years": 7}
    parent = fakes.parent("Emma")
    assert client.get("/api/v1/admin/retention-policy", headers=parent.bearer).status_code == 403


def test_a_sixth_export_in_a_day_is_refused_with_a_message(client, fakes, parent):

    def too_many(req):
        raise RateLimited("at most 5 data exports a day", retry_after=3600)

    fakes.on("data_exports", "RequestDataExport", too_many)
    fakes.on("data_exports", "ListDataExports", pb.ListDataExportsResponse())
    fields = form_fields(client.get("/compte/donnees").get_data(as_text=True), "/compte/donnees")
    resp = client.post("/compte/donnees", data=fields)
    assert resp.status_code == 303
    assert "Cinq exports ont déjà été préparés aujourd'hui" in text(client.get("/compte/donnees"))
    api = client.post("/api/v1/data-exports", headers=parent.bearer)
    assert api.status_code == 429 and api.headers["Retry-After"] == "3600"
    assert api.get_json()["error"]["code"] == "rate_limited"
    assert fakes.requests("data_exports", "ClaimDataExport") == []
