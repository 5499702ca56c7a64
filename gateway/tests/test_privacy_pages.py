"""The pages of a family's data, in-process against fake services: the parent's "Mes données" (ask,
follow, download), the staff page of a parent (its exports, "Préparer l'export de ses données"), and
the erasure's confirmation page (what goes, what is kept, the accounting exception; nothing erased
without the box ticked)."""

from __future__ import annotations

import html
import threading

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.privacy.v1 import privacy_pb2 as pb
from gateway.tests.conftest import form_fields
from gateway.tests.test_people_api import PARENTS, _copy, fake_parents

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
    return signed


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
        pb.OpenDataExportResponse(content=b"PK\x03\x04", filename="donnees.zip"),
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
