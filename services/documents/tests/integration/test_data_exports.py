"""DataExportService over gRPC (issue #21): a family's data requested by the parent or staff, leased to
one builder at a time, completed into one ZIP (documents' own part, every part given, manifest.json),
published ready for 7 days, opened only by the parent it is about, expired by the clock and deleted by
purge-exports; another family's or another school's id is not found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cartable.documents.v1 import events_pb2 as devents
from cartable.events.v1 import envelope_pb2
from cartable.privacy.v1 import privacy_pb2 as ppb
from services.documents import exports_db
from services.documents.app import purge_exports
from services.documents.db import data_exports, outbox
from services.documents.tests.integration.family_helpers import (
    PDF_BYTES,
    album_with_photo,
    deposit,
    error_code,
    md,
    refused,
    token,
    unzip,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PARTS = [
    ppb.ExportFile(
        name="auth/account.json",
        content=b'{"first_name": "Z\xc3\xa9phyrine"}',
        content_type="application/json",
    ),
    ppb.ExportFile(
        name="finance/wallets.json", content=b'[{"balance_cents": 1250}]', content_type="application/json"
    ),
]


@pytest.fixture
def world(keys, stubs, documents_rt):
    """The clock at T0; a family (mum-q, Zéphyrine) with a document; another family; two schools."""
    clock = {"now": T0}
    documents_rt.clock = lambda: clock["now"]
    people = {
        "staff": token(keys, "staff-1", role="staff"),
        "mum": token(keys, "mum-q", students={"zeph": "3C"}),
        "dad": token(keys, "dad-o", students={"otto": "4D"}),
        "other_staff": token(keys, "staff-2", school_id="sch-2", role="staff"),
    }
    doc_id = deposit(stubs, people["staff"], "zeph", "Bulletin Zéphyrine")
    album_with_photo(stubs, people["staff"], "Classe 3C", ["3C"])
    return clock, people, doc_id


def request(stubs, tok, parent_id="mum-q") -> ppb.DataExport:
    return stubs.exports.RequestDataExport(
        ppb.RequestDataExportRequest(parent_id=parent_id), metadata=md(tok)
    )


def claim(stubs, tok, export_id, lease=0) -> ppb.ClaimDataExportResponse:
    return stubs.exports.ClaimDataExport(
        ppb.ClaimDataExportRequest(export_id=export_id, lease_seconds=lease), metadata=md(tok)
    )


def complete(stubs, tok, export_id, parts=PARTS, students=("zeph",)) -> ppb.DataExport:
    return stubs.exports.CompleteDataExport(
        ppb.CompleteDataExportRequest(export_id=export_id, student_ids=list(students), parts=parts),
        metadata=md(tok),
    )


def get(stubs, tok, export_id) -> ppb.DataExport:
    return stubs.exports.GetDataExport(ppb.GetDataExportRequest(export_id=export_id), metadata=md(tok))


def open_(stubs, tok, export_id) -> ppb.OpenDataExportResponse:
    return stubs.exports.OpenDataExport(ppb.OpenDataExportRequest(export_id=export_id), metadata=md(tok))


def ready_events(rt) -> list[tuple[str, devents.DataExportReady]]:
    with rt.db.unit_of_work() as s:
        bodies = s.execute(
            select(outbox.c.body).where(outbox.c.event_name == "documents.data_export.ready.v1")
        ).scalars()
        out = []
        for body in bodies:
            env = envelope_pb2.Envelope.FromString(body)
            ev = devents.DataExportReady()
            env.payload.Unpack(ev)
            out.append((env.school_id, ev))
    return out


def blob_files(rt) -> list[Path]:
    root = Path(rt.settings.blob_store_url.removeprefix("file://"))
    return [p for p in root.rglob("*.zip") if p.is_file()]


def test_a_parent_asks_for_their_own_data_once_at_a_time(stubs, world):
    _clock, people, _doc = world
    first = request(stubs, people["mum"])
    assert (first.status, first.parent_id, first.requested_by) == ("pending", "mum-q", "mum-q")
    assert first.requested_at == T0.isoformat() and first.ready_at == "" and first.size_bytes == 0
    assert request(stubs, people["mum"]).id == first.id  # still pending: the same one
    err = refused(lambda: request(stubs, people["mum"], "dad-o"))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_staff_ask_for_a_parent_of_their_school_and_only_they_and_the_parent_see_it(stubs, world):
    _clock, people, _doc = world
    made = request(stubs, people["staff"])
    assert (made.status, made.parent_id, made.requested_by) == ("pending", "mum-q", "staff-1")
    assert get(stubs, people["mum"], made.id).id == made.id
    assert get(stubs, people["staff"], made.id).requested_by == "staff-1"
    for stranger in (people["dad"], people["other_staff"]):
        assert refused(lambda t=stranger: get(stubs, t, made.id)).code() == grpc.StatusCode.NOT_FOUND
        assert refused(lambda t=stranger: claim(stubs, t, made.id)).code() == grpc.StatusCode.NOT_FOUND
        assert refused(lambda t=stranger: complete(stubs, t, made.id)).code() == grpc.StatusCode.NOT_FOUND
    assert refused(lambda: get(stubs, people["mum"], "no-such-id")).code() == grpc.StatusCode.NOT_FOUND


def test_a_second_claim_within_the_lease_is_refused_and_granted_once_it_ran_out(stubs, world):
    clock, people, _doc = world
    made = request(stubs, people["mum"])
    assert claim(stubs, people["mum"], made.id).claimed is True  # 300 s by default
    clock["now"] = T0 + timedelta(seconds=299)
    assert claim(stubs, people["staff"], made.id).claimed is False
    clock["now"] = T0 + timedelta(seconds=301)
    again = claim(stubs, people["staff"], made.id, lease=60)
    assert again.claimed is True and again.export.status == "pending"
    clock["now"] = T0 + timedelta(seconds=330)
    assert claim(stubs, people["mum"], made.id).claimed is False  # the 60 s lease holds
    err = refused(lambda: claim(stubs, people["mum"], made.id, lease=-5))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_zip_holds_documents_part_the_given_parts_and_the_manifest(stubs, world, documents_rt):
    clock, people, doc_id = world
    made = request(stubs, people["mum"])
    claim(stubs, people["mum"], made.id)
    clock["now"] = T0 + timedelta(minutes=2)

    done = complete(stubs, people["mum"], made.id)

    ready_at = T0 + timedelta(minutes=2)
    assert (done.status, done.ready_at, done.expires_at) == (
        "ready",
        ready_at.isoformat(),
        (ready_at + timedelta(days=7)).isoformat(),
    )
    opened = open_(stubs, people["mum"], made.id)
    assert opened.filename == "cartable-export-2026-12-03.zip" and done.size_bytes == len(opened.content)
    files = unzip(opened.content)
    assert (
        files["auth/account.json"] == PARTS[0].content and files["finance/wallets.json"] == PARTS[1].content
    )
    assert files[f"documents/files/{doc_id}-Bulletin Zéphyrine.pdf"] == PDF_BYTES
    assert [d["title"] for d in json.loads(files["documents/documents.json"])] == ["Bulletin Zéphyrine"]
    [album] = json.loads(files["documents/photos.json"])
    assert album["title"] == "Classe 3C" and files[album["photos"][0]["file"]][:3] == b"\xff\xd8\xff"
    manifest = json.loads(files["manifest.json"])
    assert manifest["generated_at"] == ready_at.isoformat()
    assert manifest["services"] == ["auth", "documents", "finance"]
    assert manifest["parent_id"] == "mum-q" and manifest["student_ids"] == ["zeph"]
    assert sorted(f["name"] for f in manifest["files"]) == sorted(n for n in files if n != "manifest.json")

    [(school, event)] = ready_events(documents_rt)
    assert (school, event.export_id, event.parent_id, event.expires_at) == (
        "sch-1",
        made.id,
        "mum-q",
        done.expires_at,
    )
    # once: a ready export is answered as it is, nothing rebuilt or published again
    assert complete(stubs, people["staff"], made.id, parts=[]) == done
    assert len(ready_events(documents_rt)) == 1 and len(blob_files(documents_rt)) == 1
    assert claim(stubs, people["mum"], made.id).claimed is False


def test_parts_that_would_write_documents_part_the_manifest_or_outside_the_archive_are_refused(stubs, world):
    _clock, people, _doc = world
    made = request(stubs, people["mum"])
    for name in ("documents/documents.json", "manifest.json", "../etc/passwd", "/auth/x.json", "auth"):
        bad = [ppb.ExportFile(name=name, content=b"{}", content_type="application/json")]
        err = refused(lambda b=bad: complete(stubs, people["mum"], made.id, parts=b))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, name
    twice = [PARTS[0], PARTS[0]]
    assert (
        refused(lambda: complete(stubs, people["mum"], made.id, parts=twice)).code()
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    # a parent completing with a child not theirs
    err = refused(lambda: complete(stubs, people["mum"], made.id, students=("otto",)))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert get(stubs, people["mum"], made.id).status == "pending"


def test_only_the_parent_it_is_about_opens_the_archive_even_when_staff_asked_for_it(stubs, world):
    _clock, people, _doc = world
    made = request(stubs, people["staff"])
    err = refused(lambda: open_(stubs, people["mum"], made.id))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "export_pending")
    complete(stubs, people["staff"], made.id)
    for other in (people["staff"], people["dad"], people["other_staff"]):
        assert refused(lambda t=other: open_(stubs, t, made.id)).code() == grpc.StatusCode.NOT_FOUND
    assert "manifest.json" in unzip(open_(stubs, people["mum"], made.id).content)


def test_an_export_expires_after_seven_days_and_purge_exports_deletes_its_archive(stubs, world, documents_rt):
    clock, people, _doc = world
    made = request(stubs, people["mum"])
    complete(stubs, people["mum"], made.id)
    clock["now"] = T0 + timedelta(days=7) - timedelta(seconds=1)
    assert get(stubs, people["mum"], made.id).status == "ready"
    assert purge_exports(documents_rt, []) == 0 and len(blob_files(documents_rt)) == 1  # not yet

    clock["now"] = T0 + timedelta(days=7)
    assert get(stubs, people["mum"], made.id).status == "expired"  # by the clock, before any purge
    assert refused(lambda: open_(stubs, people["mum"], made.id)).code() == grpc.StatusCode.NOT_FOUND
    err = refused(lambda: complete(stubs, people["mum"], made.id))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "export_expired")

    assert purge_exports(documents_rt, []) == 0
    assert blob_files(documents_rt) == []
    with documents_rt.db.unit_of_work() as s:
        row = s.execute(select(data_exports).where(data_exports.c.id == made.id)).one()
    assert (row.status, row.blob_key) == ("expired", None)
    assert get(stubs, people["staff"], made.id).status == "expired"
    assert request(stubs, people["mum"]).id != made.id  # a new one may be asked for


def test_the_exports_of_a_parent_are_listed_newest_first_for_them_and_their_school(stubs, world):
    clock, people, _doc = world
    first = request(stubs, people["mum"])
    complete(stubs, people["mum"], first.id)
    clock["now"] = T0 + timedelta(hours=1)
    second = request(stubs, people["staff"])

    def listed(tok, parent_id="mum-q"):
        answer = stubs.exports.ListDataExports(
            ppb.ListDataExportsRequest(parent_id=parent_id), metadata=md(tok)
        )
        return [(e.id, e.status) for e in answer.items]

    assert listed(people["mum"]) == [(second.id, "pending"), (first.id, "ready")]
    assert listed(people["staff"]) == listed(people["mum"])
    assert listed(people["other_staff"]) == []
    assert listed(people["dad"], "dad-o") == []
    err = refused(lambda: listed(people["dad"]))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_pending_export_no_builder_finished_in_seven_days_expires_and_a_new_one_may_start(
    stubs, world, documents_rt
):
    clock, people, _doc = world
    made = request(stubs, people["mum"])
    claim(stubs, people["mum"], made.id)
    clock["now"] = T0 + timedelta(days=7, seconds=1)
    assert purge_exports(documents_rt, []) == 0
    assert get(stubs, people["mum"], made.id).status == "expired"
    assert request(stubs, people["mum"]).id != made.id


def test_the_database_holds_one_pending_export_per_parent(world, documents_rt):
    def twice() -> None:
        with documents_rt.db.unit_of_work() as s:
            exports_db.insert(s, "sch-1", "mum-q", "mum-q", T0)
            exports_db.insert(s, "sch-1", "mum-q", "staff-1", T0)

    with pytest.raises(IntegrityError):
        twice()
    with documents_rt.db.unit_of_work() as s:  # another school's parent of the same id is another one
        exports_db.insert(s, "sch-1", "mum-q", "mum-q", T0)
        exports_db.insert(s, "sch-2", "mum-q", "staff-2", T0)


def test_two_requests_at_the_same_moment_both_answer_the_one_pending_export(stubs, world, monkeypatch):
    _clock, people, _doc = world
    first = request(stubs, people["mum"])
    real = exports_db.pending_for
    calls = {"n": 0}

    def not_seen_the_first_time(s, school_id, parent_id):  # as a request racing the first one
        calls["n"] += 1
        return None if calls["n"] == 1 else real(s, school_id, parent_id)

    monkeypatch.setattr(exports_db, "pending_for", not_seen_the_first_time)
    assert request(stubs, people["staff"]).id == first.id
    assert calls["n"] == 2


def test_an_export_staff_complete_holds_the_class_albums_auth_names(stubs, world):
    _clock, people, _doc_id = world

    def albums(classes: dict[str, str], left_on: dict[str, str] | None = None) -> list[str]:
        ex = request(stubs, people["staff"])
        claim(stubs, people["staff"], ex.id)
        stubs.exports.CompleteDataExport(
            ppb.CompleteDataExportRequest(
                export_id=ex.id,
                student_ids=["zeph"],
                parts=PARTS,
                student_classes=classes,
                student_left_on=left_on or {},
            ),
            metadata=md(people["staff"]),
        )
        files = unzip(open_(stubs, people["mum"], ex.id).content)
        return [a["title"] for a in json.loads(files["documents/photos.json"])]

    # a staff token names no class: the classes auth gave through the gateway say which albums
    assert albums({"zeph": "3C"}) == ["Classe 3C"]
    # left before the album was published: not hers
    assert albums({"zeph": "3C"}, {"zeph": "2026-01-31"}) == []
    assert albums({}) == []  # none given: the whole school's albums only (there are none here)


def test_the_archive_is_read_in_pieces_that_make_it_whole(stubs, world):
    _clock, people, _doc_id = world
    made = request(stubs, people["mum"])
    claim(stubs, people["mum"], made.id)
    done = complete(stubs, people["mum"], made.id)
    whole = open_(stubs, people["mum"], made.id)
    assert whole.total_bytes == done.size_bytes == len(whole.content)

    def piece(offset: int, length: int) -> ppb.OpenDataExportResponse:
        return stubs.exports.OpenDataExport(
            ppb.OpenDataExportRequest(export_id=made.id, offset=offset, length=length),
            metadata=md(people["mum"]),
        )

    size, step, got = whole.total_bytes, 1000, b""
    while len(got) < size:
        answer = piece(len(got), step)
        assert answer.total_bytes == size and 0 < len(answer.content) <= step
        got += answer.content
    assert got == whole.content
    assert piece(size, step).content == b""  # past the end: nothing
    for offset, length in ((-1, 10), (0, 8 * 1024 * 1024 + 1), (0, -5)):
        assert error_code(refused(lambda o=offset, n=length: piece(o, n))) == "invalid_request"
    # the pieces, like the whole, are the parent's alone
    with pytest.raises(grpc.RpcError) as err:
        stubs.exports.OpenDataExport(
            ppb.OpenDataExportRequest(export_id=made.id, offset=0, length=step), metadata=md(people["staff"])
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_parent_has_at_most_five_new_exports_a_day(stubs, world):
    clock, people, _doc_id = world
    for i in range(5):
        clock["now"] = T0 + timedelta(hours=i)
        made = request(stubs, people["mum"])
        assert request(stubs, people["mum"]).id == made.id  # the pending one again: not counted
        claim(stubs, people["mum"], made.id)
        complete(stubs, people["mum"], made.id)
    clock["now"] = T0 + timedelta(hours=5)
    err = refused(lambda: request(stubs, people["mum"]))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and error_code(err) == "rate_limited"
    retry = dict(err.trailing_metadata() or ()).get("x-retry-after")
    assert retry == str(19 * 3600 + 1)  # the first of the five leaves the day at T0 + 24 h
    # the office asking for the same parent counts the same; another parent is not concerned
    assert error_code(refused(lambda: request(stubs, people["staff"]))) == "rate_limited"
    assert request(stubs, people["dad"], "dad-o").status == "pending"
    clock["now"] = T0 + timedelta(days=1)
    assert request(stubs, people["mum"]).status == "pending"
