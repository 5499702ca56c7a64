"""Depositing, listing and opening documents over gRPC, with the read state per parent."""

from __future__ import annotations

import json
from typing import cast

import grpc
import pytest

from cartable.documents.v1 import documents_pb2 as pb
from kit.errors import FIELDS_KEY
from services.documents.tests.unit.test_file_checks import docx_whose_mimetype_inflates

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def md(token):
    return [("authorization", f"Bearer {token}")]


@pytest.fixture
def people(keys):
    return {
        "staff": keys.token(role="staff", school_id="sch-1"),
        "mum": keys.token(students={"emma": "1A"}, school_id="sch-1", account_id="mum"),
        "dad": keys.token(students={"emma": "1A"}, school_id="sch-1", account_id="dad"),
        "stranger": keys.token(students={"noah": "2B"}, school_id="sch-1", account_id="stranger"),
    }


def deposit(
    stub, token, students=("emma",), content=PDF_BYTES, filename="Éphémérides juin.pdf", title="Éphémérides"
):
    return stub.DepositDocument(
        pb.DepositDocumentRequest(
            title=title, filename=filename, content=content, student_ids=list(students)
        ),
        metadata=md(token),
    )


def test_deposited_document_is_unread_until_opened_and_read_only_for_that_parent(documents_stub, people):
    made = deposit(documents_stub, people["staff"], students=("emma", "noah"))
    emma_doc = next(d.id for d in made.documents if d.student_id == "emma")

    listing = documents_stub.ListDocuments(
        pb.ListDocumentsRequest(student_id="emma", state="unread"), metadata=md(people["mum"])
    )
    assert [d.id for d in listing.documents] == [emma_doc]
    assert listing.unread_count == 1
    assert listing.documents[0].filename == "Éphémérides juin.pdf"
    assert listing.documents[0].content_type == "application/pdf"

    opened = documents_stub.OpenDocument(
        pb.OpenDocumentRequest(document_id=emma_doc), metadata=md(people["mum"])
    )
    assert opened.content == PDF_BYTES
    assert opened.document.read_at

    mum_unread = documents_stub.ListDocuments(
        pb.ListDocumentsRequest(student_id="emma", state="unread"), metadata=md(people["mum"])
    )
    mum_read = documents_stub.ListDocuments(
        pb.ListDocumentsRequest(student_id="emma", state="read"), metadata=md(people["mum"])
    )
    dad_unread = documents_stub.ListDocuments(
        pb.ListDocumentsRequest(student_id="emma", state="unread"), metadata=md(people["dad"])
    )
    assert list(mum_unread.documents) == [] and mum_unread.unread_count == 0
    assert [d.id for d in mum_read.documents] == [emma_doc]
    assert [d.id for d in dad_unread.documents] == [emma_doc]  # the other parent still sees it unread


def test_a_parent_can_never_fetch_another_familys_document(documents_stub, people):
    made = deposit(documents_stub, people["staff"], students=("emma",))
    with pytest.raises(grpc.RpcError) as exc:
        documents_stub.OpenDocument(
            pb.OpenDocumentRequest(document_id=made.documents[0].id), metadata=md(people["stranger"])
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        documents_stub.ListDocuments(
            pb.ListDocumentsRequest(student_id="emma"), metadata=md(people["stranger"])
        )
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as exc:  # a guessed id answers like a missing one
        documents_stub.OpenDocument(
            pb.OpenDocumentRequest(document_id="00000000-0000-0000-0000-000000000000"),
            metadata=md(people["mum"]),
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_only_staff_deposit(documents_stub, people):
    with pytest.raises(grpc.RpcError) as exc:
        deposit(documents_stub, people["mum"])
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", "unsupported"),  # a Windows program
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00junk", "unsupported"),
    ],
)
def test_files_of_unaccepted_types_are_refused_by_content(
    documents_stub, documents_rt, people, content, reason
):
    with pytest.raises(grpc.RpcError) as exc:
        deposit(documents_stub, people["staff"], content=content, filename="harmless.pdf")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    listing = documents_stub.ListDocuments(
        pb.ListDocumentsRequest(student_id="emma"), metadata=md(people["mum"])
    )
    assert list(listing.documents) == []


def test_too_large_file_is_refused_and_nothing_is_written(documents_stub, documents_rt, people, tmp_path):
    with pytest.raises(grpc.RpcError) as exc:
        deposit(documents_stub, people["staff"], content=PDF_BYTES + b"0" * 250_000)
    assert exc.value.code() == grpc.StatusCode.OUT_OF_RANGE
    blobs = tmp_path / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))


def test_a_path_in_the_name_never_reaches_the_file_system(documents_stub, people, tmp_path):
    made = deposit(documents_stub, people["staff"], filename="../../etc/passwd.pdf")
    doc = documents_stub.OpenDocument(
        pb.OpenDocumentRequest(document_id=made.documents[0].id), metadata=md(people["mum"])
    ).document
    assert doc.filename == "passwd.pdf"
    stored = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(stored) == 1 and "passwd" not in str(stored[0])
    assert not (tmp_path / "etc").exists()


def test_a_text_file_named_pdf_gets_its_real_type(documents_stub, people):
    made = deposit(documents_stub, people["staff"], content="Réunion à 18 h".encode(), filename="note.pdf")
    doc = documents_stub.OpenDocument(
        pb.OpenDocumentRequest(document_id=made.documents[0].id), metadata=md(people["mum"])
    ).document
    assert doc.content_type.startswith("text/plain")
    assert doc.filename == "note.txt"


def test_a_docx_that_unpacks_to_150_mb_is_refused_with_a_clear_reason_and_nothing_is_written(
    documents_stub, people, tmp_path
):
    with pytest.raises(grpc.RpcError) as exc:
        deposit(
            documents_stub, people["staff"], content=docx_whose_mimetype_inflates(), filename="lettre.docx"
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = json.loads(dict(cast("tuple[tuple[str, str], ...]", exc.value.trailing_metadata()))[FIELDS_KEY])
    assert fields["file"].startswith("this archive is refused: it unpacks to 150 MiB")
    blobs = tmp_path / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
