"""Documents: a child's documents, opening one (the file's answer, marked read), depositing them."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from cartable.documents.v1 import documents_pb2
from gateway.calls.account import list_students
from gateway.clients import rpc
from kit.errors import InvalidRequest

INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/webp", "text/plain")


def list_documents(student_id: str, state: str, limit: int = 50, cursor: str = ""):
    return rpc(
        "documents",
        "ListDocuments",
        documents_pb2.ListDocumentsRequest(student_id=student_id, state=state, limit=limit, cursor=cursor),
    )


def file_response(doc, content: bytes) -> Response:
    disposition = "inline" if doc.content_type.split(";")[0] in INLINE_TYPES else "attachment"
    ascii_name = doc.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    # text/* goes out as "; charset=utf-8" (Werkzeug adds it to a text mimetype)
    resp = Response(content, mimetype=doc.content_type.split(";")[0])
    resp.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.filename)}"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return resp


def open_document(document_id: str) -> Response:
    resp = rpc("documents", "OpenDocument", documents_pb2.OpenDocumentRequest(document_id=document_id))
    return file_response(resp.document, resp.content)


def resolve_students(student_ids: list[str], class_name: str) -> list[str]:
    """The school's students named by id and/or by class; unknown ids are a 400."""
    ids: list[str] = []
    if student_ids:
        found = list_students(student_ids=student_ids)
        known = {s.id for s in found}
        unknown = [sid for sid in student_ids if sid not in known]
        if unknown:
            raise InvalidRequest(
                "unknown students", fields={"student_ids": "unknown: " + ", ".join(unknown[:10])}
            )
        ids += student_ids
    if class_name:
        found = list_students(class_names=[class_name])
        if not found:
            raise InvalidRequest(
                "no student in this class", fields={"class_name": "no student in this class"}
            )
        ids += [s.id for s in found]
    return list(dict.fromkeys(ids))


def deposit(title: str, upload, student_ids: list[str], class_name: str):
    if upload is None or not upload.filename:
        raise InvalidRequest("a file is required", fields={"file": "required"})
    if not title:
        raise InvalidRequest("a title is required", fields={"title": "required"})
    ids = resolve_students(student_ids, class_name)
    if not ids:
        raise InvalidRequest("choose students or a class", fields={"student_ids": "at least one student"})
    return rpc(
        "documents",
        "DepositDocument",
        documents_pb2.DepositDocumentRequest(
            title=title,
            filename=upload.filename,
            content=upload.read(),
            student_ids=ids,
            declared_content_type=upload.mimetype or "",
        ),
        timeout=30,
    )
