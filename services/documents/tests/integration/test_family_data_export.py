"""Documents' part of a family's data over gRPC (issue #21, FamilyDataService.ExportFamilyData): the
children's documents and their files, the parent's read receipts, the photos of the albums their
classes see with their files; nothing of another family or another school; only the parent themself
or the school's staff."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import update

from cartable.documents.v1 import documents_pb2 as dpb
from services.documents.db import documents
from services.documents.tests.integration.family_helpers import (
    PDF_BYTES,
    album_with_photo,
    deposit,
    export,
    md,
    part,
    refused,
    token,
)

OTHER_PDF = PDF_BYTES.replace(b"1 0 obj", b"2 0 obj")


@pytest.fixture
def family(keys, stubs, documents_rt):
    """Zéphyrine (class 3C) and her mother; Otto (4D) and his father, in the same school."""
    staff = token(keys, "staff-1", role="staff")
    people = {
        "staff": staff,
        "mum": token(keys, "mum-q", students={"zeph": "3C"}),
        "dad": token(keys, "dad-o", students={"otto": "4D"}),
        "other_staff": token(keys, "staff-2", school_id="sch-2", role="staff"),
    }
    docs = {
        "bulletin": deposit(stubs, staff, "zeph", "Bulletin Zéphyrine"),
        "for_guardian": deposit(stubs, staff, "zeph", "Attestation du tuteur", OTHER_PDF),
        "otto": deposit(stubs, staff, "otto", "Bulletin Otto"),
    }
    with documents_rt.db.unit_of_work() as s:  # another guardian's own (as a tax certificate is)
        s.execute(
            update(documents).where(documents.c.id == docs["for_guardian"]).values(for_account_id="guardian")
        )
    stubs.documents.OpenDocument(
        dpb.OpenDocumentRequest(document_id=docs["bulletin"]), metadata=md(people["mum"])
    )
    stubs.documents.OpenDocument(
        dpb.OpenDocumentRequest(document_id=docs["otto"]), metadata=md(people["dad"])
    )
    albums = {
        "3C": album_with_photo(stubs, staff, "Classe 3C", ["3C"], color=(200, 10, 10)),
        "4D": album_with_photo(stubs, staff, "Classe 4D", ["4D"]),
        "school": album_with_photo(stubs, staff, "Fête de l'école", color=(10, 200, 10)),
        "draft": album_with_photo(stubs, staff, "Brouillon 3C", ["3C"], publish=False),
    }
    return people, docs, albums


def test_the_parent_gets_their_childrens_documents_files_reads_and_class_photos(stubs, family):
    people, docs, albums = family
    files = export(stubs, people["mum"], "mum-q", "zeph")

    listed = part(files, "documents/documents.json")
    assert [(d["id"], d["title"], d["student_id"]) for d in listed] == [
        (docs["bulletin"], "Bulletin Zéphyrine", "zeph")
    ]  # not the other guardian's own document
    (bulletin,) = listed
    assert bulletin["file"] == f"documents/files/{docs['bulletin']}-Bulletin Zéphyrine.pdf"
    assert bulletin["read_at"] and bulletin["deposited_at"] and bulletin["size_bytes"] == len(PDF_BYTES)
    assert files[bulletin["file"]].content == PDF_BYTES
    assert files[bulletin["file"]].content_type == "application/pdf"

    (receipt,) = part(files, "documents/read_receipts.json")
    assert (receipt["document_id"], receipt["title"], receipt["read_at"]) == (
        docs["bulletin"],
        "Bulletin Zéphyrine",
        bulletin["read_at"],
    )

    photos = part(files, "documents/photos.json")
    assert sorted((a["id"], a["title"], tuple(a["class_names"])) for a in photos) == sorted(
        [(albums["3C"][0], "Classe 3C", ("3C",)), (albums["school"][0], "Fête de l'école", ())]
    )
    for album in photos:
        (photo,) = album["photos"]
        assert photo["id"] in (albums["3C"][1], albums["school"][1])
        assert photo["file"].startswith(f"documents/files/photos/{album['id']}/1-")
        assert files[photo["file"]].content[:3] == b"\xff\xd8\xff"  # the JPEG itself
        assert files[photo["file"]].content_type == "image/jpeg"

    everything = b"".join(f.content for f in files.values()) + "".join(files).encode()
    for absent in ("Otto", "Classe 4D", "Brouillon", "Attestation du tuteur", docs["otto"]):
        assert absent.encode() not in everything, absent
    assert OTHER_PDF not in [f.content for f in files.values()]


def test_a_parent_asking_for_another_parent_or_a_child_not_theirs_is_refused(stubs, family):
    people, _docs, _albums = family
    assert (
        refused(lambda: export(stubs, people["mum"], "dad-o", "zeph")).code()
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        refused(lambda: export(stubs, people["mum"], "mum-q", "otto")).code()
        == grpc.StatusCode.PERMISSION_DENIED
    )


def test_staff_get_the_same_documents_and_reads_but_only_the_whole_schools_albums(stubs, family):
    people, docs, albums = family
    by_parent = export(stubs, people["mum"], "mum-q", "zeph")
    by_staff = export(stubs, people["staff"], "mum-q", "zeph")
    for name in ("documents/documents.json", "documents/read_receipts.json"):
        assert by_staff[name].content == by_parent[name].content
    assert by_staff[f"documents/files/{docs['bulletin']}-Bulletin Zéphyrine.pdf"].content == PDF_BYTES
    # a staff token names no class: documents knows none
    assert [a["id"] for a in part(by_staff, "documents/photos.json")] == [albums["school"][0]]


def test_staff_of_another_school_get_nothing_of_this_family(stubs, family):
    people, _docs, _albums = family
    files = export(stubs, people["other_staff"], "mum-q", "zeph")
    assert sorted(files) == [
        "documents/documents.json",
        "documents/photo_consents.json",
        "documents/photos.json",
        "documents/photos_of_children.json",
        "documents/read_receipts.json",
    ]
    assert all(part(files, name) == [] for name in files)


def test_a_child_who_left_counts_for_the_albums_published_until_their_leaving_day(
    keys, stubs, documents_rt, family
):
    people, docs, _albums = family
    documents_rt.clock = lambda: datetime(2026, 6, 20, 10, tzinfo=UTC)
    june = album_with_photo(stubs, people["staff"], "Excursion de juin", ["3C"])
    documents_rt.clock = lambda: datetime(2026, 12, 3, 10, tzinfo=UTC)
    leaver = token(keys, "mum-q", students={"zeph": "3C"}, left={"zeph": "2026-06-30"})

    files = export(stubs, leaver, "mum-q", "zeph")

    assert [a["id"] for a in part(files, "documents/photos.json")] == [june[0]]
    assert [d["id"] for d in part(files, "documents/documents.json")] == [docs["bulletin"]]


def test_photo_files_beyond_the_archives_budget_are_listed_without_their_file(stubs, family, monkeypatch):
    people, _docs, albums = family
    monkeypatch.setattr("services.documents.family_data.PHOTO_FILES_BUDGET", 1)
    files = export(stubs, people["mum"], "mum-q", "zeph")
    photos = [p for a in part(files, "documents/photos.json") for p in a["photos"]]
    assert sorted(p["id"] for p in photos) == sorted([albums["3C"][1], albums["school"][1]])
    assert all(p["file"] is None for p in photos)
    assert not [name for name in files if name.startswith("documents/files/photos/")]
