"""JSON API: documents (parents) and depositing them (staff)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import documents_pb2
from gateway.api.shapes import document_json
from gateway.clients import rpc
from gateway.openapi import error_responses, list_of, obj, ok
from gateway.web import require_parent_child, require_session, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_documents", __name__)

INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/webp", "text/plain")


def list_documents(student_id: str, state: str, limit: int = 50, cursor: str = ""):
    return rpc(
        "documents",
        "ListDocuments",
        documents_pb2.ListDocumentsRequest(student_id=student_id, state=state, limit=limit, cursor=cursor),
    )


@bp.get("/api/v1/documents")
def documents():
    _sess, child = require_parent_child()
    state = request.args.get("state", "")
    if state not in ("", "unread", "read"):
        raise InvalidRequest("state must be unread or read", fields={"state": "unread | read"})
    limit_raw = request.args.get("limit", "50")
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 200:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    cursor = request.args.get("cursor", "")
    if cursor and not cursor.isdigit():
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
    resp = list_documents(child, state, int(limit_raw), cursor)
    return jsonify(
        items=[document_json(d) for d in resp.documents],
        next_cursor=resp.next_cursor or None,
        unread_count=resp.unread_count,
    )


def file_response(doc, content: bytes) -> Response:
    disposition = "inline" if doc.content_type.split(";")[0] in INLINE_TYPES else "attachment"
    ascii_name = doc.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    resp = Response(content, mimetype=doc.content_type.split(";")[0])
    if doc.content_type.startswith("text/"):
        resp.charset = "utf-8"
    resp.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.filename)}"
    )
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return resp


def open_document(document_id: str) -> Response:
    resp = rpc("documents", "OpenDocument", documents_pb2.OpenDocumentRequest(document_id=document_id))
    return file_response(resp.document, resp.content)


@bp.get("/api/v1/documents/<document_id>/file")
def document_file(document_id: str):
    require_session()
    return open_document(document_id)


def resolve_students(student_ids: list[str], class_name: str) -> list[str]:
    """The school's students named by id and/or by class; unknown ids are a 400."""
    ids: list[str] = []
    if student_ids:
        found = rpc("auth", "ListStudents", auth_pb2.ListStudentsRequest(student_ids=student_ids)).students
        known = {s.id for s in found}
        unknown = [sid for sid in student_ids if sid not in known]
        if unknown:
            raise InvalidRequest(
                "unknown students", fields={"student_ids": "unknown: " + ", ".join(unknown[:10])}
            )
        ids += student_ids
    if class_name:
        found = rpc("auth", "ListStudents", auth_pb2.ListStudentsRequest(class_names=[class_name])).students
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


@bp.post("/api/v1/admin/documents")
def admin_documents():
    require_staff()
    ids = [s.strip() for s in request.form.get("student_ids", "").split(",") if s.strip()]
    made = deposit(
        request.form.get("title", "").strip(),
        request.files.get("file"),
        ids,
        request.form.get("class_name", "").strip(),
    )
    return jsonify(items=[{"id": d.id, "student_id": d.student_id} for d in made.documents]), 201


DOCUMENT = obj(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "deposited_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
        "content_type": {"type": "string"},
        "size_bytes": {"type": "integer"},
        "filename": {"type": "string"},
    },
    ["id", "title", "deposited_at", "read_at", "content_type", "size_bytes"],
)

OPENAPI = {
    "/api/v1/documents": {
        "get": {
            "summary": "The active child's documents, with this parent's read state",
            "parameters": [
                {"name": "state", "in": "query", "schema": {"enum": ["unread", "read"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {**ok(list_of(DOCUMENT)), **error_responses(400, 401, 409, 503)},
        }
    },
    "/api/v1/documents/{id}/file": {
        "get": {
            "summary": "The file's bytes; marks the document read for this parent",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "the file", "content": {"application/octet-stream": {}}},
                **error_responses(401, 404, 503),
            },
        }
    },
    "/api/v1/admin/documents": {
        "post": {
            "summary": "Deposit a file for chosen students (or a whole class)",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj(
                            {
                                "file": {"type": "string", "format": "binary"},
                                "title": {"type": "string"},
                                "student_ids": {"type": "string", "description": "comma-separated"},
                                "class_name": {
                                    "type": "string",
                                    "description": "every student of this class",
                                },
                            },
                            ["file", "title"],
                        )
                    }
                },
            },
            "responses": {
                **ok(list_of(obj({"id": {"type": "string"}, "student_id": {"type": "string"}})), status=201),
                **error_responses(400, 401, 403, 413, 503),
            },
        }
    },
}
