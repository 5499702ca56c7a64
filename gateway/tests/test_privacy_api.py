"""A family's data through the JSON API (API.md "A family's data (privacy)"), in-process against fake
services: the parent's export is recorded, answered 202 and built in the background (a lease, every
other service's part, then documents completes it), followed, downloaded; staff ask for a parent's
export at the office; a build whose part fails leaves the export pending; staff erase a family
(confirm required)."""

from __future__ import annotations

import threading

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import documents_pb2
from cartable.privacy.v1 import privacy_pb2 as pb
from gateway.calls.privacy import PART_SERVICES
from kit.errors import NotFound, Unavailable

WAIT = 30  # seconds the background build may take on a loaded machine (waited as an event)


class Build:
    """A fake documents' DataExportService: one pending export, a lease, the parts it was given."""

    def __init__(self, fakes, parent_id: str, *, claimed: bool = True) -> None:
        self.export = pb.DataExport(
            id="exp-1", parent_id=parent_id, status="pending", requested_at="2026-12-03T09:00:00+00:00"
        )
        self.completed = threading.Event()
        self.claims = threading.Event()
        self.completion: pb.CompleteDataExportRequest | None = None
        fakes.on("data_exports", "RequestDataExport", lambda req: self.export)
        fakes.on("data_exports", "GetDataExport", lambda req: self.export)

        def claim(req):
            self.claims.set()
            return pb.ClaimDataExportResponse(claimed=claimed, export=self.export)

        def complete(req):
            self.completion = req
            self.export.status = "ready"
            self.export.ready_at = "2026-12-03T09:01:00+00:00"
            self.export.expires_at = "2026-12-10T09:01:00+00:00"
            self.completed.set()
            return self.export

        fakes.on("data_exports", "ClaimDataExport", claim)
        fakes.on("data_exports", "CompleteDataExport", complete)


def parts(req):
    return pb.ExportFamilyDataResponse(
        files=[pb.ExportFile(name="part.json", content=b"{}", content_type="application/json")]
    )


@pytest.fixture
def parent(fakes):
    return fakes.parent("Emma", "Louis")


def test_a_parent_asks_and_the_export_is_built_in_the_background_from_every_service(client, fakes, parent):
    build = Build(fakes, parent.session.account.id)
    fakes.on("family_data", "ExportFamilyData", parts)
    resp = client.post("/api/v1/data-exports", headers=parent.bearer)
    assert resp.status_code == 202
    assert resp.get_json() == {"id": "exp-1", "status": "pending"}
    assert [r.parent_id for r in fakes.requests("data_exports", "RequestDataExport")] == [
        parent.session.account.id
    ]
    assert build.completed.wait(WAIT), "the export was never completed"
    asked = fakes.requests("family_data", "ExportFamilyData")
    assert len(asked) == len(PART_SERVICES) == 5  # auth, finance, orders, notifications, meetings
    assert {(r.parent_id, tuple(r.student_ids)) for r in asked} == {
        (parent.session.account.id, ("child-1", "child-2"))
    }
    assert build.completion.export_id == "exp-1"
    assert list(build.completion.student_ids) == ["child-1", "child-2"]
    assert dict(build.completion.student_classes) == {}  # a parent's token says them
    assert [f.name for f in build.completion.parts] == ["part.json"] * 5
    claim = fakes.requests("data_exports", "ClaimDataExport")[0]
    assert claim.export_id == "exp-1" and claim.lease_seconds == 300

    followed = client.get("/api/v1/data-exports/exp-1", headers=parent.bearer)
    assert followed.status_code == 200
    assert followed.get_json() == {
        "id": "exp-1",
        "status": "ready",
        "ready_at": "2026-12-03T09:01:00+00:00",
        "expires_at": "2026-12-10T09:01:00+00:00",
    }


def test_a_pending_export_reads_null_dates_and_its_look_claims_it_again(client, fakes, parent):
    build = Build(fakes, parent.session.account.id, claimed=False)
    resp = client.get("/api/v1/data-exports/exp-1", headers=parent.bearer)
    assert resp.get_json() == {"id": "exp-1", "status": "pending", "ready_at": None, "expires_at": None}
    # a builder that died left its lease: this look tries to take it (here another holds it)
    assert build.claims.wait(WAIT)
    assert not fakes.requests("data_exports", "CompleteDataExport")


def test_a_part_that_fails_leaves_the_export_pending(client, fakes, parent):
    build = Build(fakes, parent.session.account.id)
    failed = threading.Event()

    def down(req):
        failed.set()
        raise Unavailable("finance is down")

    fakes.on("family_data", "ExportFamilyData", down)
    assert client.post("/api/v1/data-exports", headers=parent.bearer).status_code == 202
    assert failed.wait(WAIT)
    assert not build.completed.wait(1.0)
    assert fakes.requests("data_exports", "CompleteDataExport") == []


def serve_archive(fakes, data: bytes, filename: str = "cartable-donnees-2026-12-03.zip") -> None:
    """A fake documents' OpenDataExport answering ``data`` piece by piece, as documents does."""

    def opened(req):
        piece = data[req.offset : req.offset + req.length] if req.length else data[req.offset :]
        return pb.OpenDataExportResponse(content=piece, filename=filename, total_bytes=len(data))

    fakes.on("data_exports", "OpenDataExport", opened)


def test_the_zip_is_served_as_an_attachment(client, fakes, parent):
    serve_archive(fakes, b"PK\x03\x04zip")
    resp = client.get("/api/v1/data-exports/exp-1/file", headers=parent.bearer)
    assert resp.status_code == 200
    assert resp.mimetype == "application/zip"
    assert resp.data == b"PK\x03\x04zip"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="cartable-donnees-2026-12-03.zip"'
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.headers["Content-Length"] == str(len(b"PK\x03\x04zip"))


def test_a_big_archive_is_streamed_in_pieces_none_over_a_grpc_message(client, fakes, parent, monkeypatch):
    monkeypatch.setattr("gateway.calls.privacy.PIECE", 1000)
    data = bytes(range(256)) * 10  # 2,560 bytes: three pieces of at most 1,000
    serve_archive(fakes, data)
    resp = client.get("/api/v1/data-exports/exp-1/file", headers=parent.bearer)
    assert resp.status_code == 200 and resp.data == data
    asked = [(r.offset, r.length) for r in fakes.requests("data_exports", "OpenDataExport")]
    assert asked == [(0, 1000), (1000, 1000), (2000, 1000)]


def test_another_familys_export_is_not_found(client, fakes, parent):
    def nobody(req):
        raise NotFound("no such export")

    fakes.on("data_exports", "GetDataExport", nobody)
    fakes.on("data_exports", "OpenDataExport", nobody)
    assert client.get("/api/v1/data-exports/theirs", headers=parent.bearer).status_code == 404
    assert client.get("/api/v1/data-exports/theirs/file", headers=parent.bearer).status_code == 404


def test_staff_ask_at_the_office_for_a_parents_children(client, fakes):
    staff = fakes.staff()
    build = Build(fakes, "p-7")
    fakes.on("family_data", "ExportFamilyData", parts)
    fakes.on(
        "auth",
        "GetParent",
        auth_pb2.GetParentResponse(
            parent=auth_pb2.ParentContact(id="p-7", first_name="Ana"),
            children=[
                auth_pb2.Student(id="s-1", status="active", class_name="3A"),
                auth_pb2.Student(id="s-2", status="left", class_name="6B", left_on="2026-06-30"),
            ],
        ),
    )
    resp = client.post("/api/v1/admin/parents/p-7/data-exports", headers=staff.bearer)
    assert resp.status_code == 202 and resp.get_json() == {"id": "exp-1", "status": "pending"}
    assert [r.parent_id for r in fakes.requests("data_exports", "RequestDataExport")] == ["p-7"]
    assert build.completed.wait(WAIT)
    assert list(build.completion.student_ids) == ["s-1", "s-2"]
    # a staff token names no class: documents follows auth's classes for the class albums
    assert dict(build.completion.student_classes) == {"s-1": "3A", "s-2": "6B"}
    assert dict(build.completion.student_left_on) == {"s-2": "2026-06-30"}


def test_staff_cannot_ask_for_their_own_export_and_parents_cannot_use_the_office(client, fakes, parent):
    staff = fakes.staff()
    assert client.post("/api/v1/data-exports", headers=staff.bearer).status_code == 403
    assert client.post("/api/v1/admin/parents/p-7/data-exports", headers=parent.bearer).status_code == 403
    assert (
        client.post(
            "/api/v1/admin/parents/p-7/erase", json={"confirm": True}, headers=parent.bearer
        ).status_code
        == 403
    )
    assert fakes.requests("data_exports", "RequestDataExport") == []


@pytest.mark.parametrize("body", [{}, {"confirm": False}, {"confirm": "true"}, {"confirm": 1}])
def test_an_erasure_needs_confirm_true(client, fakes, body):
    staff = fakes.staff()
    resp = client.post("/api/v1/admin/parents/p-7/erase", json=body, headers=staff.bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"confirm": "must be true"}
    assert fakes.requests("auth", "EraseFamily") == []


@pytest.mark.parametrize("body", [{}, {"share_with_other_families": "no"}, {"share_with_other_families": 0}])
def test_a_photo_consent_is_true_or_false(client, fakes, parent, body):
    resp = client.put("/api/v1/children/child-1/photo-consent", json=body, headers=parent.bearer)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"share_with_other_families": "boolean"}
    assert fakes.requests("documents", "SetPhotoConsent") == []


def test_a_parent_sets_their_childs_photo_consent_and_staff_use_the_page(client, fakes, parent):

    fakes.on(
        "documents",
        "SetPhotoConsent",
        lambda req: documents_pb2.SetPhotoConsentResponse(
            consent=documents_pb2.PhotoConsent(
                student_id=req.student_id,
                share_with_other_families=req.share_with_other_families,
                updated_at="2026-12-03T09:30:00+00:00",
            )
        ),
    )
    resp = client.put(
        "/api/v1/children/child-1/photo-consent",
        json={"share_with_other_families": False},
        headers=parent.bearer,
    )
    assert resp.status_code == 200
    assert resp.get_json() == {
        "student_id": "child-1",
        "share_with_other_families": False,
        "updated_at": "2026-12-03T09:30:00+00:00",
    }
    staff = fakes.staff()
    refused = client.put(
        "/api/v1/children/child-1/photo-consent",
        json={"share_with_other_families": True},
        headers=staff.bearer,
    )
    assert refused.status_code == 403
    assert len(fakes.requests("documents", "SetPhotoConsent")) == 1


def test_the_office_asking_for_a_parent_auth_does_not_know_records_nothing(client, fakes):

    staff = fakes.staff()

    def unknown(req):
        raise NotFound("no such parent")

    fakes.on("auth", "GetParent", unknown)
    resp = client.post("/api/v1/admin/parents/nobody/data-exports", headers=staff.bearer)
    assert resp.status_code == 404
    assert fakes.requests("data_exports", "RequestDataExport") == []
