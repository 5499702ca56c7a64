"""Every staff RPC of the documents service refuses, in the service itself, an id of another school:
not_found, like an id that never existed, and nothing written (every table, the outbox and the blob
store the same before and after). Through the real servicer over gRPC, with staff tokens.

A staff token names no student: a student is "of another school" when this service rendered their
invoices in that school (from finance's events) and never in the caller's
(see use_cases/common.require_students_here)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from types import SimpleNamespace

import grpc
import pytest
from PIL import Image

import cartable.documents.v1 as documents_protos
from cartable.documents.v1 import documents_pb2 as pb
from cartable.documents.v1 import statements_pb2 as spb
from cartable.documents.v1 import statements_pb2_grpc
from cartable.finance.v1 import events_pb2 as fin
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from kit.bus import make_envelope
from kit.service import make_consumer, start_grpc
from services.documents.tests.conftest import snapshot

OURS, THEIRS = "sch-1", "sch-2"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def md(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def invoice_pdf_for(rt, school_id: str, student_id: str) -> None:
    """An invoice of the student issued in the school, as finance announces it (the consumer's path)."""
    ev = fin.InvoiceIssued(
        invoice_id=f"inv-{school_id}-{student_id}",
        student_id=student_id,
        number="2026-0001",
        title="Excursion",
    )
    body = make_envelope("finance.invoice.issued.v1", ev, school_id).SerializeToString()
    assert make_consumer(rt).handle(body) == "handled"


@dataclass
class Schools:
    rt: object
    stub: object
    staff: str  # a staff member of OURS: the caller of every call below
    us: SimpleNamespace  # ids of OURS: student, document, album, photo, period
    them: SimpleNamespace  # ids of THEIRS


def _school(stub, token: str, student: str, publish: bool) -> SimpleNamespace:
    doc = stub.DepositDocument(
        pb.DepositDocumentRequest(
            title="Circulaire", filename="c.pdf", content=PDF_BYTES, student_ids=[student]
        ),
        metadata=md(token),
    ).documents[0]
    album = stub.CreateAlbum(
        pb.CreateAlbumRequest(title="Fancy-fair", publish=publish), metadata=md(token)
    ).album
    photo = stub.AddPhotos(
        pb.AddPhotosRequest(album_id=album.id, files=[pb.PhotoUpload(filename="a.jpg", content=jpeg())]),
        metadata=md(token),
    ).photos[0]
    return SimpleNamespace(
        student=student, document=doc.id, album=album.id, photo=photo.id, period=f"p-{student}"
    )


@pytest.fixture
def schools(documents_rt, documents_stub, keys) -> Schools:
    staff = keys.token(role="staff", school_id=OURS, account_id="staff-1")
    their_staff = keys.token(role="staff", school_id=THEIRS, account_id="staff-2")
    us = _school(documents_stub, staff, "emma", publish=True)
    them = _school(documents_stub, their_staff, "zoe", publish=False)  # a draft: PublishAlbum would change it
    invoice_pdf_for(documents_rt, THEIRS, "zoe")
    return Schools(documents_rt, documents_stub, staff, us, them)


# (RPC, the request field holding the other school's id) -> the request, built from our ids except
# that field, which takes the ids given (ours in the control test, theirs in the matrix).
Build = Callable[[SimpleNamespace, SimpleNamespace], object]
CASES: dict[tuple[str, str], Build] = {
    ("ListDocuments", "student_id"): lambda us, x: pb.ListDocumentsRequest(student_id=x.student),
    ("OpenDocument", "document_id"): lambda us, x: pb.OpenDocumentRequest(document_id=x.document),
    # one student of another school among the caller's refuses the whole deposit
    ("DepositDocument", "student_ids"): lambda us, x: pb.DepositDocumentRequest(
        title="Bulletin", filename="b.pdf", content=PDF_BYTES, student_ids=[us.student, x.student]
    ),
    ("ListAlbums", "student_id"): lambda us, x: pb.ListAlbumsRequest(student_id=x.student),
    ("GetAlbum", "album_id"): lambda us, x: pb.GetAlbumRequest(album_id=x.album),
    ("GetAlbum", "student_id"): lambda us, x: pb.GetAlbumRequest(album_id=us.album, student_id=x.student),
    ("GetPhoto", "photo_id"): lambda us, x: pb.GetPhotoRequest(photo_id=x.photo),
    ("GetPhoto", "student_id"): lambda us, x: pb.GetPhotoRequest(photo_id=us.photo, student_id=x.student),
    ("OpenPhoto", "photo_id"): lambda us, x: pb.OpenPhotoRequest(photo_id=x.photo, variant="full"),
    ("PublishAlbum", "album_id"): lambda us, x: pb.PublishAlbumRequest(album_id=x.album),
    ("AddPhotos", "album_id"): lambda us, x: pb.AddPhotosRequest(
        album_id=x.album, files=[pb.PhotoUpload(filename="b.jpg", content=jpeg())]
    ),
    ("WithdrawPhoto", "photo_id"): lambda us, x: pb.WithdrawPhotoRequest(photo_id=x.photo),
    ("WithdrawAlbum", "album_id"): lambda us, x: pb.WithdrawAlbumRequest(album_id=x.album),
    ("RecordAlbumOffer", "album_id"): lambda us, x: pb.RecordAlbumOfferRequest(
        album_id=x.album, period_id=us.period, price_cents=300, item_count=1
    ),
    # photo consent (issue #21): staff recording a family's paper form, reading the school's choices
    ("SetPhotoConsent", "student_id"): lambda us, x: pb.SetPhotoConsentRequest(
        student_id=x.student, share_with_other_families=False
    ),
    ("ListPhotoConsents", "student_ids"): lambda us, x: pb.ListPhotoConsentsRequest(
        student_ids=[us.student, x.student]
    ),
    ("SetPhotoSubjects", "photo_id"): lambda us, x: pb.SetPhotoSubjectsRequest(
        photo_id=x.photo, student_ids=[us.student]
    ),
    # one child of another school among the tagged refuses the whole set
    ("SetPhotoSubjects", "student_ids"): lambda us, x: pb.SetPhotoSubjectsRequest(
        photo_id=us.photo, student_ids=[us.student, x.student]
    ),
}

# Id fields not in CASES, and why.
EXEMPT = {
    # Ordering periods live in orders; documents holds no period's school. The gateway adds the items
    # to the period through orders (which refuses another school's period) before recording the offer;
    # the offer only labels the caller's own album, shown to the caller's school.
    ("RecordAlbumOffer", "period_id"): "documents knows no periods",
}


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_an_id_of_another_school_is_refused_and_nothing_is_written(schools, rpc, field):
    before = snapshot(schools.rt)
    with pytest.raises(grpc.RpcError) as exc:
        getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.us, schools.them), metadata=md(schools.staff))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND, exc.value.details()
    assert snapshot(schools.rt) == before


@pytest.mark.parametrize(("rpc", "field"), sorted(CASES), ids=[f"{r}.{f}" for r, f in sorted(CASES)])
def test_the_same_call_with_our_own_ids_is_served(schools, rpc, field):
    getattr(schools.stub, rpc)(CASES[(rpc, field)](schools.us, schools.us), metadata=md(schools.staff))


def test_a_student_invoiced_in_both_schools_is_the_callers_too(schools):
    """A student who moved schools has invoices in both: the caller's school may still deposit."""
    invoice_pdf_for(schools.rt, OURS, "zoe")
    made = schools.stub.DepositDocument(
        pb.DepositDocumentRequest(title="Bulletin", filename="b.pdf", content=PDF_BYTES, student_ids=["zoe"]),
        metadata=md(schools.staff),
    )
    assert [d.student_id for d in made.documents] == ["zoe"]


def _id_fields(message, prefix: str = "") -> set[str]:
    out = set()
    for f in message.fields:
        if f.message_type is not None:
            out |= _id_fields(f.message_type, f"{prefix}{f.name}.")
        elif f.name.endswith(("_id", "_ids")) or f.name == "references":
            out.add(prefix + f.name)
    return out


def test_every_id_field_of_every_rpc_is_in_the_matrix():
    """A new RPC, or a new id field (nested ones too), must say how it is scoped (a case or an exemption)."""
    service = pb.DESCRIPTOR.services_by_name["DocumentsService"]
    fields = {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)}
    assert fields == set(CASES) | set(EXEMPT)


# -- StatementDocumentsService (periodic statements' PDFs, issue #19), beside DocumentsService --------
# ListStatementDocuments takes no id: it lists the caller's school's statements only (below).

STATEMENT_EXEMPT = {
    # The PDF is made from the statement in the request alone (finance computed it for the caller's
    # school: the gateway asks GetPeriodicStatement, which refuses another school's student): no row
    # or file of documents is read or written, so the ids name nothing here (test below).
    ("RenderPeriodicStatement", "statement.student_id"): "rendered from the request alone",
    ("RenderPeriodicStatement", "statement.invoices.invoice_id"): "rendered from the request alone",
}


def _statement(student: str) -> fpb.PeriodicStatement:
    return fpb.PeriodicStatement(
        school_name="École",
        student_id=student,
        student_name=student.title(),
        from_date="2026-09-01",
        to_date="2026-10-31",
        issued_on="2026-11-02",
        total_cents=1200,
        open_cents=1200,
        invoices=[
            fpb.StatementInvoice(
                invoice_id=f"inv-{student}",
                number="2026-0001",
                title="Septembre",
                issued_on="2026-09-01",
                due_on="2026-10-01",
                status="unpaid",
                total_cents=1200,
                open_cents=1200,
                lines=[
                    fpb.StatementLine(label="Piscine", quantity=1, unit_price_cents=1200, amount_cents=1200)
                ],
            )
        ],
    )


@pytest.fixture
def statements(schools):
    """``schools`` with a periodic statement filed for each school's student (finance's event), and a
    StatementDocumentsService stub."""
    for school_id, student in ((OURS, schools.us.student), (THEIRS, schools.them.student)):
        ev = fpb.PeriodicStatementIssued(statement=_statement(student), language="fr")
        body = make_envelope("finance.periodic_statement.issued.v1", ev, school_id).SerializeToString()
        assert make_consumer(schools.rt).handle(body) == "handled"
    server = start_grpc(schools.rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield schools, statements_pb2_grpc.StatementDocumentsServiceStub(channel)
    channel.close()
    server.stop(0)


def test_rendering_a_statement_reads_and_writes_nothing_of_documents(statements):
    schools, stub = statements
    before = snapshot(schools.rt)
    got = stub.RenderPeriodicStatement(
        spb.RenderPeriodicStatementRequest(statement=_statement(schools.them.student)),
        metadata=md(schools.staff),
    )
    assert got.content.startswith(b"%PDF")
    assert snapshot(schools.rt) == before


def test_the_statement_documents_list_only_the_callers_school(statements):
    schools, stub = statements
    got = stub.ListStatementDocuments(spb.ListStatementDocumentsRequest(), metadata=md(schools.staff))
    assert [d.student_id for d in got.documents] == [schools.us.student]


def test_every_id_field_of_every_statement_documents_rpc_is_in_the_matrix():
    service = spb.DESCRIPTOR.services_by_name["StatementDocumentsService"]
    assert {(m.name, f) for m in service.methods for f in _id_fields(m.input_type)} == set(STATEMENT_EXEMPT)


def test_every_documents_service_has_its_matrix():
    """A new service in protos/cartable/documents/v1 must get its scoping matrix here."""
    found = set()
    for info in pkgutil.iter_modules(documents_protos.__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"{documents_protos.__name__}.{info.name}")
            found |= set(module.DESCRIPTOR.services_by_name)
    assert found == {"DocumentsService", "StatementDocumentsService"}
