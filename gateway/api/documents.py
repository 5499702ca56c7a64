"""JSON API: documents (parents) and depositing them (staff)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.calls.documents import deposit, list_documents, open_document
from gateway.openapi import error_responses, list_of, obj, ok
from gateway.shapes import document_json
from gateway.web import require_parent_child, require_session, require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_documents", __name__)


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


@bp.get("/api/v1/documents/<document_id>/file")
def document_file(document_id: str):
    require_session()
    return open_document(document_id)


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
