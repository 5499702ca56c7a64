"""JSON API: a family's data (API.md "A family's data (privacy)", issue #21). A parent asks for
everything Cartable holds on them and their children, follows the export and downloads its ZIP;
staff ask for the same for a parent at the office (the parent downloads it) and erase a family on
request. The calls are in ``gateway.calls.privacy``; the pages of ``gateway.pages.privacy`` use
them too."""

from __future__ import annotations

from flask import Blueprint, jsonify

from gateway.calls.account import get_parent
from gateway.calls.privacy import (
    Family,
    build_in_background,
    consent_json,
    erase_family,
    export_json,
    get_export,
    get_retention_policy,
    open_export,
    request_export,
    retention_json,
    set_photo_consent,
    set_photo_subjects,
    update_retention_policy,
)
from gateway.openapi import error_responses, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import photo_json
from gateway.web import field_int, json_body, require_session, require_staff
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("api_privacy", __name__)


def family_of(parent_id: str) -> Family:
    """The children whose data goes with a parent's: the signed-in parent's own (active and left,
    as their session names them; their token gives documents the classes), or, for staff, the
    parent's children as auth has them, with their classes and leaving dates (a staff token names
    no class: documents follows these for the class albums)."""
    sess = require_session()
    if sess.account.role == "parent":
        if sess.account.id != parent_id:
            raise Forbidden("this export is another family's")
        return Family([c.id for c in sess.children])
    _parent, children = get_parent(parent_id)
    return Family(
        [c.id for c in children],
        {c.id: c.class_name for c in children if c.class_name},
        {c.id: c.left_on for c in children if c.status == "left" and c.left_on},
    )


def start_export(parent_id: str):
    # the family first: for staff, auth says the parent is the school's before documents records anything
    family = family_of(parent_id)
    export = request_export(parent_id)
    build_in_background(export, family)
    return jsonify(id=export.id, status=export.status), 202


@bp.post("/api/v1/data-exports")
def data_export_request():
    sess = require_session()
    if sess.account.role != "parent":
        raise Forbidden("this is for parents: staff ask for a parent's export on the parent's page")
    return start_export(sess.account.id)


@bp.get("/api/v1/data-exports/<export_id>")
def data_export(export_id: str):
    require_session()
    export = get_export(export_id)
    # still pending: a builder that died leaves its lease to run out; this look builds it again then
    if export.status == "pending":
        build_in_background(export, family_of(export.parent_id))
    return jsonify(export_json(export))


@bp.get("/api/v1/data-exports/<export_id>/file")
def data_export_file(export_id: str):
    require_session()
    return open_export(export_id)


@bp.post("/api/v1/admin/parents/<parent_id>/data-exports")
def admin_data_export(parent_id: str):
    require_staff()
    return start_export(parent_id)


@bp.post("/api/v1/admin/parents/<parent_id>/erase")
def admin_erase(parent_id: str):
    require_staff()
    if json_body().get("confirm") is not True:
        raise InvalidRequest(
            "erasing a family cannot be undone: send confirm true", fields={"confirm": "must be true"}
        )
    done = erase_family(parent_id)
    return jsonify(erasure_json(done)), 202


def erasure_json(done) -> dict:
    return {
        "parent_id": done.parent_id,
        "erased_student_ids": list(done.erased_student_ids),
        "kept_student_ids": list(done.kept_student_ids),
        "already_erased": done.already_erased,
        "keep_financial_until": done.keep_financial_until or None,
    }


@bp.put("/api/v1/children/<child_id>/photo-consent")
def photo_consent(child_id: str):
    """The parent says whether other families may see the photos their child appears in."""
    sess = require_session()
    if sess.account.role != "parent":
        raise Forbidden("this is for parents: staff record a paper form on the child's photos")
    share = json_body().get("share_with_other_families")
    if not isinstance(share, bool):
        raise InvalidRequest(
            "share_with_other_families must be true or false",
            fields={"share_with_other_families": "boolean"},
        )
    return jsonify(consent_json(set_photo_consent(child_id, share)))


MAX_SUBJECTS = 100


@bp.put("/api/v1/admin/photos/<photo_id>/subjects")
def admin_photo_subjects(photo_id: str):
    """Staff: the children who appear in a photo (replaces the set; an empty list untags it)."""
    require_staff()
    ids = json_body().get("student_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids) or len(ids) > MAX_SUBJECTS:
        raise InvalidRequest(
            "student_ids must be a list of student ids",
            fields={"student_ids": f"a list of at most {MAX_SUBJECTS} student ids"},
        )
    photo = set_photo_subjects(photo_id, ids)
    return jsonify({**photo_json(photo), "subject_ids": list(photo.subject_ids)})


@bp.get("/api/v1/admin/retention-policy")
def admin_retention_policy():
    require_staff()
    return jsonify(retention_json(get_retention_policy()))


@bp.put("/api/v1/admin/retention-policy")
def admin_retention_policy_update():
    require_staff()
    data = json_body()
    personal = field_int(data, "personal_years", minimum=1, maximum=10)
    financial = field_int(data, "financial_years", minimum=7, maximum=30)
    return jsonify(retention_json(update_retention_policy(personal, financial)))


# -- OpenAPI ------------------------------------------------------------------------------------------

S = {"type": "string"}
NS = {"type": ["string", "null"], "format": "date-time"}
ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
STATUS = {"type": "string", "enum": ["pending", "ready", "expired"]}
EXPORT = obj({"id": S, "status": STATUS, "ready_at": NS, "expires_at": NS}, ["id", "status"])
ACCEPTED = obj({"id": S, "status": {"type": "string", "enum": ["pending"]}}, ["id", "status"])
ERASED = obj(
    {
        "parent_id": S,
        "erased_student_ids": {"type": "array", "items": S},
        "kept_student_ids": {
            "type": "array",
            "items": S,
            "description": "children still enrolled, or with another guardian: kept",
        },
        "already_erased": {"type": "boolean"},
        "keep_financial_until": {
            "type": ["string", "null"],
            "format": "date",
            "description": "financial records are kept, pseudonymised, until then (Belgian accounting law)",
        },
    },
    ["parent_id", "erased_student_ids", "kept_student_ids"],
)
CONSENT = obj(
    {
        "student_id": S,
        "share_with_other_families": {"type": "boolean"},
        "updated_at": {
            **NS,
            "description": "null while nothing was recorded (shared: the school's photo policy)",
        },
    },
    ["student_id", "share_with_other_families"],
)
RETENTION = obj(
    {
        "personal_years": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "school years a family's personal data is kept after its last child left (default 1)",
        },
        "financial_years": {
            "type": "integer",
            "minimum": 7,
            "maximum": 30,
            "description": "years financial records are kept, pseudonymised, after the erasure's year (Belgian "
            "accounting law: 7 at least)",
        },
    },
    ["personal_years", "financial_years"],
)
SCHEMAS = {"DataExport": EXPORT, "PhotoConsent": CONSENT, "RetentionPolicy": RETENTION}

OPENAPI = {
    "/api/v1/data-exports": {
        "post": {
            "summary": "Everything held on the signed-in parent and their children, in every service, as one "
            "ZIP built in the background; a mail when it is ready (a pending export is answered again; at "
            "most 5 new ones a day: 429 rate_limited with Retry-After)",
            "responses": {**ok(ACCEPTED, status=202), **error_responses(401, 403, 429, 503)},
        }
    },
    "/api/v1/data-exports/{id}": {
        "get": {
            "summary": "An export's status; ready for 7 days, then expired (the archive is deleted)",
            "parameters": ID,
            "responses": {**ok(EXPORT), **error_responses(401, 404, 503)},
        }
    },
    "/api/v1/data-exports/{id}/file": {
        "get": {
            "summary": "The ZIP: one JSON file per service and the documents' files; only for the parent it is "
            "about (staff and anyone else: 404); 409 export_pending while it is built",
            "parameters": ID,
            "responses": {
                "200": {"description": "the archive", "content": {"application/zip": {}}},
                **error_responses(401, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/parents/{id}/data-exports": {
        "post": {
            "summary": "The same export for a parent who asks at the office; the parent downloads it from their "
            "account (a mail tells them)",
            "parameters": ID,
            "responses": {**ok(ACCEPTED, status=202), **error_responses(401, 403, 404, 429, 503)},
        }
    },
    "/api/v1/children/{id}/photo-consent": {
        "put": {
            "summary": "Whether other families may see the photos the child appears in (tagged by staff); "
            "refused, such a photo is shown only to the child's family and to staff",
            "parameters": ID,
            "requestBody": body_schema(
                obj({"share_with_other_families": {"type": "boolean"}}, ["share_with_other_families"])
            ),
            "responses": {**ok(CONSENT), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/photos/{id}/subjects": {
        "put": {
            "summary": "Staff: the children who appear in a photo (replaces the set, at most 100; [] untags it)",
            "parameters": ID,
            "requestBody": body_schema(obj({"student_ids": {"type": "array", "items": S}}, ["student_ids"])),
            "responses": {
                **ok(
                    {
                        "allOf": [
                            ref("Photo"),
                            obj({"subject_ids": {"type": "array", "items": S}}),
                        ]
                    }
                ),
                **error_responses(400, 401, 403, 404, 503),
            },
        }
    },
    "/api/v1/admin/retention-policy": {
        "get": {
            "summary": "How long the school keeps a family's data once its children left (auth's daily retention)",
            "responses": {**ok(RETENTION), **error_responses(401, 403, 503)},
        },
        "put": {
            "summary": "Change the retention policy (audited)",
            "requestBody": body_schema(RETENTION),
            "responses": {**ok(RETENTION), **error_responses(400, 401, 403, 503)},
        },
    },
    "/api/v1/admin/parents/{id}/erase": {
        "post": {
            "summary": "Erase a family on request: the parent's account and their children who left the school "
            "(without another guardian) in every service; children still enrolled are kept; financial "
            "records are kept for the legal period, pseudonymised",
            "parameters": ID,
            "requestBody": body_schema(obj({"confirm": {"type": "boolean", "enum": [True]}}, ["confirm"])),
            "responses": {**ok(ERASED, status=202), **error_responses(400, 401, 403, 404, 503)},
        }
    },
}
