"""A family erased (issue #21, auth.family.erased.v1 through the service's consumer): the erased child's
documents and files, the documents addressed to the erased parent alone, the parent's read receipts,
their data exports and archives and the published outbox rows go; no table of the service still holds
the family's names; the child still enrolled, the other family, the other school and the class's
photos stay; a second event changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.documents.v1 import documents_pb2 as dpb
from cartable.privacy.v1 import privacy_pb2 as ppb
from kit.bus import make_envelope
from kit.privacy import find_text
from kit.service import make_consumer
from services.documents import db
from services.documents.tests.conftest import snapshot
from services.documents.tests.integration.family_helpers import album_with_photo, deposit, md, token

NAMES = ["Zéphyrine", "Quorndel"]
OTHER_PDF = b"%PDF-1.4\n% Otto Vantreeck\n%%EOF\n"


def erased_event(school_id: str = "sch-1") -> bytes:
    ev = auth_events.FamilyErased(
        school_id=school_id,
        parent_ids=["mum-q"],
        student_ids=["zeph"],  # kim is still enrolled: kept
        reason="request",
        erased_at="2026-12-03T09:00:00+00:00",
        keep_financial_until="2033-12-31",
    )
    return make_envelope("auth.family.erased.v1", ev, school_id).SerializeToString()


def blob_paths(rt) -> set[str]:
    root = Path(rt.settings.blob_store_url.removeprefix("file://"))
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def blob_key(rt, document_id: str) -> str:
    with rt.db.unit_of_work() as s:
        return s.execute(select(db.documents.c.blob_key).where(db.documents.c.id == document_id)).scalar_one()


def export_key(rt, export_id: str) -> str:
    with rt.db.unit_of_work() as s:
        return s.execute(
            select(db.data_exports.c.blob_key).where(db.data_exports.c.id == export_id)
        ).scalar_one()


@pytest.fixture
def families(keys, stubs, documents_rt):
    staff = token(keys, "staff-1", role="staff")
    mum = token(keys, "mum-q", students={"zeph": "3C", "kim": "1A"})
    dad = token(keys, "dad-o", students={"otto": "3C"})
    ids = {
        "zeph": deposit(stubs, staff, "zeph", "Bulletin Zéphyrine Quorndel"),
        "kim": deposit(stubs, staff, "kim", "Bulletin de Kim"),
        "payer": deposit(stubs, staff, "kim", "Attestation fiscale – Marie Quorndel"),
        "otto": deposit(stubs, staff, "otto", "Bulletin Otto Vantreeck", OTHER_PDF),
        "elsewhere": deposit(
            stubs, token(keys, "staff-2", school_id="sch-2", role="staff"), "zeph", "Circulaire"
        ),
    }
    # one file for two children: the circular deposited for Zéphyrine and Otto at once
    shared = stubs.documents.DepositDocument(
        dpb.DepositDocumentRequest(
            title="Circulaire",
            filename="c.pdf",
            content=b"%PDF-1.4\n%shared\n%%EOF\n",
            student_ids=["zeph", "otto"],
        ),
        metadata=md(staff),
    ).documents
    ids["shared_zeph"], ids["shared_otto"] = (
        next(d.id for d in shared if d.student_id == sid) for sid in ("zeph", "otto")
    )
    with documents_rt.db.unit_of_work() as s:  # the certificate naming its payer is hers alone
        s.execute(
            update(db.documents).where(db.documents.c.id == ids["payer"]).values(for_account_id="mum-q")
        )
    for tok, doc in ((mum, ids["zeph"]), (mum, ids["kim"]), (dad, ids["otto"]), (dad, ids["shared_otto"])):
        stubs.documents.OpenDocument(dpb.OpenDocumentRequest(document_id=doc), metadata=md(tok))
    album = album_with_photo(stubs, staff, "Classe 3C", ["3C"])
    parts = [
        ppb.ExportFile(
            name="auth/account.json", content="Zéphyrine Quorndel".encode(), content_type="application/json"
        )
    ]
    exports = {}
    for tok, parent in ((mum, "mum-q"), (dad, "dad-o")):
        made = stubs.exports.RequestDataExport(
            ppb.RequestDataExportRequest(parent_id=parent), metadata=md(tok)
        )
        stubs.exports.CompleteDataExport(
            ppb.CompleteDataExportRequest(export_id=made.id, parts=parts if parent == "mum-q" else []),
            metadata=md(tok),
        )
        exports[parent] = made.id
    with documents_rt.db.unit_of_work() as s:  # the relay published every event so far
        s.execute(update(db.outbox).values(published_at=datetime.now(UTC)))
    return ids, album, exports


def test_the_erased_family_leaves_no_name_and_no_file_and_the_rest_stays(documents_rt, families):
    ids, album, exports = families
    rt = documents_rt
    gone_files = {blob_key(rt, ids["zeph"]), blob_key(rt, ids["payer"]), export_key(rt, exports["mum-q"])}
    kept_files = {blob_key(rt, ids[k]) for k in ("kim", "otto", "elsewhere", "shared_otto")} | {
        export_key(rt, exports["dad-o"])
    }
    assert gone_files <= blob_paths(rt) and kept_files <= blob_paths(rt)
    with rt.db.engine.connect() as conn:  # the names are there to find before
        assert {t for t, _ in find_text(conn, rt.spec.metadata.sorted_tables, NAMES)} == {
            "documents",
            "outbox",
        }

    assert make_consumer(rt).handle(erased_event()) == "handled"

    with rt.db.engine.connect() as conn:
        assert find_text(conn, rt.spec.metadata.sorted_tables, NAMES) == []
    assert not gone_files & blob_paths(rt)
    assert kept_files <= blob_paths(rt)  # the shared circular's file too: Otto's copy refers to it
    with rt.db.unit_of_work() as s:
        docs = dict(s.execute(select(db.documents.c.id, db.documents.c.school_id)).all())
        reads = set(s.execute(select(db.document_reads.c.document_id, db.document_reads.c.account_id)).all())
        export_rows = set(s.execute(select(db.data_exports.c.parent_id)).scalars())
        photo_ids = set(s.execute(select(db.photos.c.id)).scalars())
    assert docs == {
        ids["kim"]: "sch-1",
        ids["otto"]: "sch-1",
        ids["shared_otto"]: "sch-1",
        ids["elsewhere"]: "sch-2",  # the same student id in another school is not this family
    }
    assert reads == {(ids["otto"], "dad-o"), (ids["shared_otto"], "dad-o")}  # hers on Kim's document gone
    assert export_rows == {"dad-o"}
    assert photo_ids == {album[1]}  # a photo of the class stays: it is the class's

    before = snapshot(rt)
    assert make_consumer(rt).handle(erased_event()) == "handled"  # a second event (a retention run)
    after = snapshot(rt)
    before.pop("inbox"), after.pop("inbox")  # the second event is recorded as handled, nothing else
    assert after == before


def test_an_erasure_of_another_school_touches_nothing_here(documents_rt, families):
    before = snapshot(documents_rt)
    assert make_consumer(documents_rt).handle(erased_event("sch-3")) == "handled"
    after = snapshot(documents_rt)
    before.pop("inbox"), after.pop("inbox")
    before.pop("outbox"), after.pop("outbox")  # published rows are purged whichever family it is
    assert after == before
