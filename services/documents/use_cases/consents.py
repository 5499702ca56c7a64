"""Photo consent per child and the children in a photo (issue #21, see PHOTOS.md).

A parent may refuse that other families see the photos their child appears in; staff tag which
children appear in a photo. Nothing recorded: shared, the default the school's photo policy gives.
What a refusal hides, and from whom, is ``photos_db.shown_to``.
"""

from __future__ import annotations

from cartable.documents.v1 import documents_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.identity import Identity
from kit.service import Runtime
from services.documents import photos_db, views
from services.documents.use_cases.common import photo_messages, require_students_here

MAX_SUBJECTS = 100
MAX_ID = 36


def _ids(raw, field: str, most: int) -> list[str]:
    """Ids as given, stripped, without duplicates (in their order); a 400 beyond ``most`` or for an
    id longer than the tables hold."""
    ids = list(dict.fromkeys(x.strip() for x in raw if x and x.strip()))
    if len(ids) > most or any(len(x) > MAX_ID for x in ids):
        raise InvalidRequest(f"at most {most} student ids", fields={field: f"at most {most} ids"})
    return ids


def _consent_pb(student_id: str, row) -> pb.PhotoConsent:
    if row is None:  # nothing recorded: the school's photo policy, shared
        return pb.PhotoConsent(student_id=student_id, share_with_other_families=True)
    return pb.PhotoConsent(
        student_id=student_id,
        share_with_other_families=row.share_with_other_families,
        updated_at=views.instant(row.updated_at),
    )


class PhotoConsents:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _require_children(self, s, who: Identity, student_ids: list[str]) -> None:
        """A parent: their own children only (another family's: not_found, like an unknown id);
        staff: any student not known in another school."""
        for sid in student_ids:
            who.require_owner(sid)
        require_students_here(s, who, student_ids)

    def set_photo_consent(self, who: Identity, student_id: str, share: bool) -> pb.SetPhotoConsentResponse:
        """A parent's choice for their child, or staff recording the family's paper form: whether
        other families see the photos the child is tagged in. Takes effect at the next call."""
        student_id = (student_id or "").strip()
        if not student_id or len(student_id) > MAX_ID:
            raise NotFound("no such student")
        now = self.rt.clock()
        with self.rt.db.unit_of_work() as s:
            self._require_children(s, who, [student_id])
            photos_db.set_consent(s, who.school_id, student_id, share, who.account_id, now)
            if who.is_staff:  # a parent's own choice is theirs; staff acting for a family is recorded
                audit.record(
                    self.rt,
                    s,
                    who,
                    "documents.photo_consent.recorded",
                    "student",
                    student_id,
                    "shared with other families" if share else "not shared with other families",
                )
            [row] = photos_db.consents(s, who.school_id, [student_id])
        return pb.SetPhotoConsentResponse(consent=_consent_pb(student_id, row))

    def list_photo_consents(self, who: Identity, student_ids) -> pb.ListPhotoConsentsResponse:
        """The consent of each child asked, in the order asked. None asked: a parent's children all;
        for staff, every choice recorded in the school (children with none share)."""
        ids = _ids(student_ids, "student_ids", 1000)
        if not ids and not who.is_staff:
            ids = sorted(who.students)
            if not ids:  # a parent with no child: nothing (never the school's choices)
                return pb.ListPhotoConsentsResponse()
        with self.rt.db.unit_of_work() as s:
            self._require_children(s, who, ids)
            rows = photos_db.consents(s, who.school_id, ids if ids else None)
        if not ids:  # staff naming none: every choice recorded in the school
            return pb.ListPhotoConsentsResponse(items=[_consent_pb(r.student_id, r) for r in rows])
        found = {r.student_id: r for r in rows}
        return pb.ListPhotoConsentsResponse(items=[_consent_pb(sid, found.get(sid)) for sid in ids])

    def set_photo_subjects(self, who: Identity, photo_id: str, student_ids) -> pb.SetPhotoSubjectsResponse:
        """Staff: the children who appear in the photo (replaces the set; none untags it)."""
        who.require_staff()
        ids = _ids(student_ids, "student_ids", MAX_SUBJECTS)
        with self.rt.db.unit_of_work() as s:
            photo = photos_db.find_live_photo(s, who.school_id, photo_id)
            if photo is None:
                raise NotFound("no such photo")
            require_students_here(s, who, ids)
            photos_db.replace_subjects(s, who.school_id, photo_id, ids, who.account_id, self.rt.clock())
            audit.record(
                self.rt, s, who, "documents.photo.subjects_set", "photo", photo_id, f"{len(ids)} children"
            )
            [message] = photo_messages(s, who, [photo])
        return pb.SetPhotoSubjectsResponse(photo=message)
