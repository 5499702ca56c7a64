"""JSON API: the school's imports (API.md "School back office", "People CSV"): the students and their
parents from the CSV the school's administration software or a spreadsheet saves. auth reads and
checks the file (``gateway.calls.account.import_people``); the page /gestion/import
(``gateway.pages.imports``) makes the same call.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from gateway.calls.account import import_people
from gateway.openapi import error_responses, obj, ok
from gateway.web import require_staff
from kit.errors import InvalidRequest

bp = Blueprint("api_imports", __name__)

COUNTS = (
    "rows",
    "students_created",
    "students_updated",
    "parents_created",
    "parents_updated",
    "links_created",
)
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def import_counts(answer) -> dict[str, int]:
    """What an import did (or a dry run would do): API.md's counts."""
    return {name: getattr(answer, name) for name in COUNTS}


def problem_rows(answer) -> list[dict[str, Any]]:
    """Every bad row auth found, as ``fields.rows`` of the 400 ``invalid_import``: its line as a
    spreadsheet shows it (the header is line 1), the column's header name ("" for the whole line),
    the reason in English and its ``code`` (for a client's own words)."""
    return [
        {"line": p.line, "column": p.column, "message": p.message, "code": p.code} for p in answer.problems
    ]


def uploaded_csv() -> tuple[bytes, str]:
    """The multipart ``file``'s bytes and name; 400 invalid_request when missing or empty (a file
    over MAX_CONTENT_LENGTH is Flask's 413 before this)."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidRequest("a CSV file is required (multipart field file)", fields={"file": "required"})
    content = upload.read()
    if not content:
        raise InvalidRequest("the file is empty", fields={"file": "empty"})
    return content, (upload.filename or "")[:200]


def dry_run_flag() -> bool:
    raw = request.args.get("dry_run", "").strip().lower()
    if raw not in TRUE + FALSE:
        raise InvalidRequest("dry_run is true or false", fields={"dry_run": "true | false"})
    return raw in TRUE


@bp.post("/api/v1/admin/imports/people")
def import_people_csv():
    require_staff()
    dry_run = dry_run_flag()
    content, filename = uploaded_csv()
    answer = import_people(content, dry_run, filename)
    if answer.problems:
        rows = problem_rows(answer)
        err = InvalidRequest(
            f"the file has {len(rows)} problem(s); nothing was imported", code="invalid_import"
        )
        body = err.to_json()
        body["error"]["fields"] = {"rows": rows}
        return jsonify(body), 400
    return jsonify(import_counts(answer)), 200 if dry_run else 201


# -- OpenAPI ---------------------------------------------------------------------------------------

INT = {"type": "integer", "minimum": 0}
COUNTS_SCHEMA = obj({name: INT for name in COUNTS}, list(COUNTS))

OPENAPI: dict[str, Any] = {
    "/api/v1/admin/imports/people": {
        "post": {
            "summary": 'Import the school\'s students and parents from a CSV (API.md "People CSV")',
            "description": "One row per student. Delimiter `;` or `,`; UTF-8 (with or without BOM) or "
            "Windows-1252. Header names, any case: `student_id` (required: the school's own id), "
            "`first_name`, `last_name`, `class_name`, `level` (`primary`/`secondary`, also "
            "`primaire`/`secondaire`), `birth_date` (`YYYY-MM-DD` or `DD/MM/YYYY`), "
            "`parent1_first_name`, `parent1_last_name`, `parent1_email` and the same for `parent2_`; "
            "other columns are ignored, an empty cell leaves the value as it is. Students match by "
            "`student_id`, parents by e-mail (case ignored): what matches is updated, never doubled; "
            "students absent from the file are left alone. New parents receive their connection "
            "token by mail, known parents nothing. The same file twice changes nothing the second "
            "time. `dry_run=true`: checked and counted only (200), nothing written nor sent. Any bad "
            "row: 400 `invalid_import` with `error.fields.rows` = every bad row "
            "`{line, column, message, code}` (`line` as a spreadsheet shows it, the header is line 1; "
            '`column` the header name, `""` for the whole line) and nothing written. No file, or an '
            "empty one: 400 `invalid_request`. Over 10 MB or 20,000 rows: 413 `too_large`.",
            "parameters": [
                {
                    "name": "dry_run",
                    "in": "query",
                    "schema": {"type": "boolean", "default": False},
                    "description": "true: check and count only",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj({"file": {"type": "string", "format": "binary"}}, ["file"])
                    }
                },
            },
            "responses": {
                **ok(COUNTS_SCHEMA, "a dry run: what the import would do"),
                **ok(COUNTS_SCHEMA, "imported: what was done", status=201),
                **error_responses(400, 401, 403, 413, 503),
            },
        }
    },
}
