"""Photo consent per child over gRPC (issue #21): a parent sets and reads their own child's consent,
another family's child is not found, staff record a paper form; a photo showing a child whose parent
refused is, for any other family of the class, as if it did not exist (album pages, counts, covers,
neighbours, GetPhoto, OpenPhoto), shown to the child's own family and to staff; consent given again
shows it again; who is tagged is told to staff only; the export lists the consents and the photos
each child is tagged in; an erasure takes them away without showing the refused photos."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import documents_pb2 as pb
from cartable.events.v1 import audit_pb2, envelope_pb2
from kit.bus import make_envelope
from kit.service import make_consumer
from services.documents import db
from services.documents.tests.conftest import snapshot
from services.documents.tests.integration.family_helpers import export, jpeg, md, part, refused, token

SCHOOL = "sch-1"


@pytest.fixture
def people(keys):
    """Emma (1A) and her mother; Léa (1A, the same class) and her father; staff of the school."""
    return {
        "staff": token(keys, "staff-1", role="staff"),
        "mum": token(keys, "mum", students={"emma": "1A"}),
        "lea_dad": token(keys, "lea-dad", students={"lea": "1A"}),
        "both": token(keys, "both", students={"emma": "1A", "lea": "1A"}),
    }


@pytest.fixture
def album(stubs, people):
    """A published album of 1A with three photos; Emma is tagged in the first. (album id, photo ids)"""
    made = stubs.documents.CreateAlbum(
        pb.CreateAlbumRequest(title="Classe verte", class_names=["1A"], taken_on="2026-10-05", publish=True),
        metadata=md(people["staff"]),
    ).album
    uploads = [pb.PhotoUpload(filename=f"p{i}.jpg", content=jpeg((i * 60, 10, 10))) for i in range(3)]
    photos = stubs.documents.AddPhotos(
        pb.AddPhotosRequest(album_id=made.id, files=uploads), metadata=md(people["staff"])
    ).photos
    ids = [p.id for p in photos]
    tag(stubs, people["staff"], ids[0], "emma")
    return made.id, ids


def tag(stubs, staff, photo_id, *student_ids):
    return stubs.documents.SetPhotoSubjects(
        pb.SetPhotoSubjectsRequest(photo_id=photo_id, student_ids=list(student_ids)), metadata=md(staff)
    ).photo


def consent(stubs, tok, student_id, share):
    return stubs.documents.SetPhotoConsent(
        pb.SetPhotoConsentRequest(student_id=student_id, share_with_other_families=share), metadata=md(tok)
    ).consent


def consents(stubs, tok, *student_ids):
    got = stubs.documents.ListPhotoConsents(
        pb.ListPhotoConsentsRequest(student_ids=list(student_ids)), metadata=md(tok)
    )
    return [(c.student_id, c.share_with_other_families) for c in got.items]


def audited(rt) -> list[tuple[str, str, str]]:
    """(action, object id, detail) of the audit entries recorded so far, through the outbox."""
    with rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(db.outbox.c.body)
            .where(db.outbox.c.event_name == "documents.audit.recorded.v1")
            .order_by(db.outbox.c.id)
        ).scalars()
        out = []
        for body in bodies:
            entry = audit_pb2.AuditRecorded()
            envelope_pb2.Envelope.FromString(body).payload.Unpack(entry)
            out.append((entry.action, entry.object_id, entry.detail))
        return out


def seen(stubs, tok, album_id, student_id):
    """(photo ids of the album's page, photo count, cover id, the album's count in ListAlbums)."""
    got = stubs.documents.GetAlbum(
        pb.GetAlbumRequest(album_id=album_id, student_id=student_id), metadata=md(tok)
    )
    listed = stubs.documents.ListAlbums(pb.ListAlbumsRequest(student_id=student_id), metadata=md(tok))
    counts = {a.id: (a.photo_count, a.cover.id) for a in listed.albums}
    return [p.id for p in got.photos], got.album.photo_count, got.album.cover.id, counts.get(album_id)


def test_a_parent_sets_and_reads_their_childs_consent(stubs, people):
    assert consents(stubs, people["mum"]) == [("emma", True)]  # nothing recorded: the school's default
    assert (
        stubs.documents.ListPhotoConsents(pb.ListPhotoConsentsRequest(), metadata=md(people["mum"]))
        .items[0]
        .updated_at
        == ""
    )

    got = consent(stubs, people["mum"], "emma", False)

    assert (got.student_id, got.share_with_other_families) == ("emma", False) and got.updated_at
    assert consents(stubs, people["mum"], "emma") == [("emma", False)]
    assert consents(stubs, people["both"]) == [("emma", False), ("lea", True)]
    consent(stubs, people["mum"], "emma", True)  # changed again: one row per child
    assert consents(stubs, people["mum"]) == [("emma", True)]


def test_a_parent_without_a_child_learns_no_choice_of_the_school(stubs, people, keys):
    consent(stubs, people["staff"], "emma", False)
    assert consents(stubs, token(keys, "new-parent", students={})) == []


def test_another_familys_child_is_not_found_and_nothing_is_written(stubs, people, documents_rt):
    before = snapshot(documents_rt)
    for call in (
        lambda: consent(stubs, people["mum"], "lea", False),
        lambda: consents(stubs, people["mum"], "emma", "lea"),
    ):
        assert refused(call).code() == grpc.StatusCode.NOT_FOUND
    assert snapshot(documents_rt) == before


def test_staff_record_a_paper_form_and_list_the_schools_choices(stubs, people, documents_rt):
    got = consent(stubs, people["staff"], "emma", False)

    assert got.share_with_other_families is False
    assert consents(stubs, people["mum"]) == [("emma", False)]
    assert consents(stubs, people["staff"]) == [("emma", False)]  # every choice recorded
    assert consents(stubs, people["staff"], "lea", "emma") == [("lea", True), ("emma", False)]
    assert audited(documents_rt) == [
        ("documents.photo_consent.recorded", "emma", "not shared with other families")
    ]
    consent(stubs, people["mum"], "emma", True)  # the parent's own choice is not a staff action
    assert len(audited(documents_rt)) == 1


def test_a_refused_childs_photo_is_hidden_from_another_family_of_the_class(stubs, people, album):
    album_id, (tagged, second, third) = album
    consent(stubs, people["mum"], "emma", False)

    assert seen(stubs, people["lea_dad"], album_id, "lea") == ([second, third], 2, second, (2, second))
    for call in (
        lambda: stubs.documents.GetPhoto(
            pb.GetPhotoRequest(photo_id=tagged, student_id="lea"), metadata=md(people["lea_dad"])
        ),
        *(
            lambda v=v: stubs.documents.OpenPhoto(
                pb.OpenPhotoRequest(photo_id=tagged, variant=v), metadata=md(people["lea_dad"])
            )
            for v in ("thumbnail", "display", "full")
        ),
        lambda: stubs.documents.OpenPhoto(
            pb.OpenPhotoRequest(photo_id=tagged, variant="thumbnail", without_content=True),
            metadata=md(people["lea_dad"]),
        ),
    ):
        assert refused(call).code() == grpc.StatusCode.NOT_FOUND
    got = stubs.documents.GetPhoto(
        pb.GetPhotoRequest(photo_id=second, student_id="lea"), metadata=md(people["lea_dad"])
    )
    assert (got.previous_photo_id, got.next_photo_id, got.album.photo_count) == ("", third, 2)


def test_a_refused_childs_photo_is_shown_to_their_own_family_and_to_staff(stubs, people, album):
    album_id, (tagged, second, third) = album
    consent(stubs, people["mum"], "emma", False)

    everything = ([tagged, second, third], 3, tagged, (3, tagged))
    assert seen(stubs, people["mum"], album_id, "emma") == everything
    assert seen(stubs, people["both"], album_id, "lea") == everything  # Emma's family, whichever child
    got = stubs.documents.GetAlbum(pb.GetAlbumRequest(album_id=album_id), metadata=md(people["staff"]))
    assert [p.id for p in got.photos] == [tagged, second, third] and got.album.photo_count == 3
    opened = stubs.documents.OpenPhoto(
        pb.OpenPhotoRequest(photo_id=tagged, variant="full"), metadata=md(people["mum"])
    )
    assert opened.content.startswith(b"\xff\xd8")
    got_photo = stubs.documents.GetPhoto(
        pb.GetPhotoRequest(photo_id=second, student_id="emma"), metadata=md(people["mum"])
    )
    assert got_photo.previous_photo_id == tagged


def test_consent_given_again_shows_the_photo_again(stubs, people, album):
    album_id, (tagged, second, third) = album
    consent(stubs, people["mum"], "emma", False)
    assert seen(stubs, people["lea_dad"], album_id, "lea")[0] == [second, third]

    consent(stubs, people["mum"], "emma", True)

    assert seen(stubs, people["lea_dad"], album_id, "lea") == (
        [tagged, second, third],
        3,
        tagged,
        (3, tagged),
    )


def test_a_photo_of_two_refused_children_is_hidden_from_each_of_their_families(stubs, people, album):
    album_id, (tagged, second, third) = album
    tag(stubs, people["staff"], tagged, "emma", "lea")
    consent(stubs, people["mum"], "emma", False)
    consent(stubs, people["lea_dad"], "lea", False)

    assert seen(stubs, people["mum"], album_id, "emma")[0] == [second, third]  # Léa's family refused
    assert seen(stubs, people["lea_dad"], album_id, "lea")[0] == [second, third]
    assert seen(stubs, people["both"], album_id, "emma")[0] == [tagged, second, third]


def test_an_album_whose_every_photo_is_hidden_leaves_the_other_familys_list(stubs, people):
    made = stubs.documents.CreateAlbum(
        pb.CreateAlbumRequest(title="Portrait", class_names=["1A"], publish=True),
        metadata=md(people["staff"]),
    ).album
    [photo] = stubs.documents.AddPhotos(
        pb.AddPhotosRequest(album_id=made.id, files=[pb.PhotoUpload(filename="e.jpg", content=jpeg())]),
        metadata=md(people["staff"]),
    ).photos
    tag(stubs, people["staff"], photo.id, "emma")
    consent(stubs, people["mum"], "emma", False)

    assert seen(stubs, people["lea_dad"], made.id, "lea") == ([], 0, "", None)
    assert seen(stubs, people["mum"], made.id, "emma") == ([photo.id], 1, photo.id, (1, photo.id))


def test_who_is_tagged_is_told_to_staff_only(stubs, people, album, documents_rt):
    album_id, (tagged, second, _third) = album
    got = tag(stubs, people["staff"], tagged, "lea", "emma", "lea")  # duplicates ignored, sorted
    assert list(got.subject_ids) == ["emma", "lea"]
    assert audited(documents_rt)[-1] == ("documents.photo.subjects_set", tagged, "2 children")

    staff_page = stubs.documents.GetAlbum(pb.GetAlbumRequest(album_id=album_id), metadata=md(people["staff"]))
    assert [list(p.subject_ids) for p in staff_page.photos] == [["emma", "lea"], [], []]
    staff_photo = stubs.documents.GetPhoto(pb.GetPhotoRequest(photo_id=tagged), metadata=md(people["staff"]))
    assert list(staff_photo.photo.subject_ids) == ["emma", "lea"]

    parent_page = stubs.documents.GetAlbum(
        pb.GetAlbumRequest(album_id=album_id, student_id="emma"), metadata=md(people["mum"])
    )
    assert all(not p.subject_ids for p in parent_page.photos) and len(parent_page.photos) == 3
    parent_photo = stubs.documents.GetPhoto(
        pb.GetPhotoRequest(photo_id=tagged, student_id="emma"), metadata=md(people["mum"])
    )
    assert not parent_photo.photo.subject_ids

    assert list(tag(stubs, people["staff"], tagged).subject_ids) == []  # replaced by none: untagged
    err = refused(lambda: tag(stubs, people["mum"], second, "emma"))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_tagging_a_withdrawn_photo_or_too_many_children_is_refused(stubs, people, album):
    _album_id, (tagged, second, _third) = album
    err = refused(lambda: tag(stubs, people["staff"], second, *[f"kid-{i}" for i in range(101)]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    stubs.documents.WithdrawPhoto(pb.WithdrawPhotoRequest(photo_id=tagged), metadata=md(people["staff"]))
    assert refused(lambda: tag(stubs, people["staff"], tagged, "emma")).code() == grpc.StatusCode.NOT_FOUND


def test_the_export_holds_the_consents_and_the_photos_each_child_is_tagged_in(stubs, people, album):
    album_id, (tagged, second, _third) = album
    other = stubs.documents.CreateAlbum(  # another class's album: still the child's photo
        pb.CreateAlbumRequest(title="Chorale 3B", class_names=["3B"], taken_on="2026-11-20"),
        metadata=md(people["staff"]),
    ).album
    [choir] = stubs.documents.AddPhotos(
        pb.AddPhotosRequest(album_id=other.id, files=[pb.PhotoUpload(filename="c.jpg", content=jpeg())]),
        metadata=md(people["staff"]),
    ).photos
    tag(stubs, people["staff"], choir.id, "emma", "lea")
    consent(stubs, people["mum"], "emma", False)

    files = export(stubs, people["mum"], "mum", "emma")

    (mine,) = part(files, "documents/photo_consents.json")
    assert (mine["student_id"], mine["share_with_other_families"], mine["updated_by"]) == (
        "emma",
        False,
        "mum",
    )
    assert mine["updated_at"]
    tagged_in = part(files, "documents/photos_of_children.json")
    assert [(t["student_id"], t["photo_id"], t["album_title"], t["album_taken_on"]) for t in tagged_in] == [
        ("emma", tagged, "Classe verte", "2026-10-05"),
        ("emma", choir.id, "Chorale 3B", "2026-11-20"),
    ]
    assert all(t["tagged_at"] and t["withdrawn"] is False for t in tagged_in)
    assert "lea" not in files["documents/photos_of_children.json"].content.decode()  # no other child

    # Léa's father's export: no choice recorded (nothing held), her tag; not Emma's refused photo
    files = export(stubs, people["lea_dad"], "lea-dad", "lea")
    assert part(files, "documents/photo_consents.json") == []
    assert [t["photo_id"] for t in part(files, "documents/photos_of_children.json")] == [choir.id]
    (class_album,) = [a for a in part(files, "documents/photos.json") if a["id"] == album_id]
    assert tagged not in [p["id"] for p in class_album["photos"]] and second in [
        p["id"] for p in class_album["photos"]
    ]


def erased(student_id: str) -> bytes:
    ev = auth_events.FamilyErased(
        school_id=SCHOOL,
        parent_ids=["mum"],
        student_ids=[student_id],
        reason="request",
        erased_at="2026-12-03T09:00:00+00:00",
        keep_financial_until="2033-12-31",
    )
    return make_envelope("auth.family.erased.v1", ev, SCHOOL).SerializeToString()


def test_an_erased_childs_consent_and_tags_go_and_their_refused_photo_stays_hidden(
    stubs, people, album, documents_rt
):
    album_id, (tagged, second, third) = album
    tag(stubs, people["staff"], second, "emma", "lea")
    consent(stubs, people["mum"], "emma", False)
    consent(stubs, people["lea_dad"], "lea", True)

    assert make_consumer(documents_rt).handle(erased("emma")) == "handled"

    with documents_rt.db.unit_of_work() as s:
        subjects = s.execute(select(db.photo_subjects.c.photo_id, db.photo_subjects.c.student_id)).all()
        rows = s.execute(select(db.photo_consents)).all()
    ps_ids = {sid for _p, sid in subjects}
    assert "emma" not in ps_ids and "emma" not in {r.student_id for r in rows}
    assert all(r.updated_by != "mum" for r in rows)
    # Léa's tag and choice stay; Emma's refusal outlives her only as an anonymous subject
    assert ("lea" in ps_ids) and {r.student_id for r in rows if r.share_with_other_families} == {"lea"}
    assert seen(stubs, people["lea_dad"], album_id, "lea")[0] == [third]
    assert seen(stubs, people["staff"], album_id, "")[0] == [tagged, second, third]  # the photos stay

    before = snapshot(documents_rt)
    assert make_consumer(documents_rt).handle(erased("emma")) == "handled"  # twice: nothing more
    after = snapshot(documents_rt)
    before.pop("inbox"), after.pop("inbox")
    assert after == before


def test_an_erased_child_who_shared_leaves_no_row_and_their_photos_are_the_classs(
    stubs, people, album, documents_rt
):
    album_id, (tagged, second, third) = album
    consent(stubs, people["mum"], "emma", True)

    assert make_consumer(documents_rt).handle(erased("emma")) == "handled"

    with documents_rt.db.unit_of_work() as s:
        assert s.execute(select(db.photo_subjects)).all() == []
        assert s.execute(select(db.photo_consents)).all() == []
    assert seen(stubs, people["lea_dad"], album_id, "lea")[0] == [tagged, second, third]
