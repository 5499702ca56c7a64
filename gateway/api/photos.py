"""JSON API: photo albums. Parents see the albums of their active child's class and of the whole
school, page through the photos and fetch each one's thumbnail, display size or download; staff see
every album of their school, create albums, upload photos in bulk, publish, withdraw, and offer an
album for sale in an ordering period (see services/documents/PHOTOS.md)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.calls.photos import (
    PHOTO_PAGE,
    add_photos,
    create_album,
    get_album,
    get_photo,
    list_albums,
    offer_album,
    photo_file,
    publish_album,
    withdraw_album,
    withdraw_photo,
)
from gateway.openapi import error_responses, json_body, list_of, obj, ok
from gateway.shapes import album_json, photo_json
from gateway.web import field_int, field_str, require_parent_child, require_session, require_staff
from gateway.web import json_body as read_json
from kit.errors import InvalidRequest

bp = Blueprint("api_photos", __name__)


# -- request checks ---------------------------------------------------------------------------------


def viewer_child() -> str:
    """The student whose classes count: the active child for parents, none for staff."""
    sess = require_session()
    if sess.account.role == "staff":
        return ""
    _sess, child = require_parent_child()
    return child


def check_limit(default: int) -> int:
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    return int(raw)


def _is_staff() -> bool:
    return require_session().account.role == "staff"


# -- parents (and staff) ------------------------------------------------------------------------------


@bp.get("/api/v1/photos/albums")
def albums():
    child = viewer_child()
    limit = check_limit(50)
    resp = list_albums(child, limit, request.args.get("cursor", "")[:20])
    staff = _is_staff()
    return jsonify(items=[album_json(a, staff) for a in resp.albums], next_cursor=resp.next_cursor or None)


@bp.get("/api/v1/photos/albums/<album_id>")
def album(album_id: str):
    child = viewer_child()
    limit = check_limit(PHOTO_PAGE)
    resp = get_album(album_id, child, limit, request.args.get("cursor", "")[:20])
    return jsonify(
        album=album_json(resp.album, _is_staff()),
        items=[photo_json(p) for p in resp.photos],
        next_cursor=resp.next_cursor or None,
    )


@bp.get("/api/v1/photos/<photo_id>")
def photo(photo_id: str):
    child = viewer_child()
    resp = get_photo(photo_id, child)
    return jsonify(
        **photo_json(resp.photo),
        album=album_json(resp.album, _is_staff()),
        previous_photo_id=resp.previous_photo_id or None,
        next_photo_id=resp.next_photo_id or None,
    )


@bp.get("/api/v1/photos/<photo_id>/<any(thumbnail, display, download):variant>")
def photo_bytes(photo_id: str, variant: str):
    require_session()
    return photo_file(photo_id, variant)


# -- staff ----------------------------------------------------------------------------------------


def _class_names(data: dict) -> list[str]:
    classes = data.get("class_names") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise InvalidRequest("class_names must be a list", fields={"class_names": "list of strings"})
    return classes


@bp.post("/api/v1/admin/photos/albums")
def admin_create_album():
    require_staff()
    data = read_json()
    published = data.get("published", True)
    if not isinstance(published, bool):
        raise InvalidRequest("published must be true or false", fields={"published": "boolean"})
    made = create_album(
        field_str(data, "title", max_len=200),
        field_str(data, "event", required=False, max_len=200),
        field_str(data, "taken_on", required=False, max_len=10),
        _class_names(data),
        published,
    )
    return jsonify(album_json(made, staff=True)), 201


@bp.post("/api/v1/admin/photos/albums/<album_id>/publish")
def admin_publish_album(album_id: str):
    require_staff()
    return jsonify(album_json(publish_album(album_id), staff=True))


@bp.post("/api/v1/admin/photos/albums/<album_id>/photos")
def admin_add_photos(album_id: str):
    require_staff()
    made = add_photos(album_id, request.files.getlist("files"), request.form.getlist("titles"))
    return jsonify(items=[photo_json(p) for p in made], next_cursor=None), 201


@bp.delete("/api/v1/admin/photos/<photo_id>")
def admin_withdraw_photo(photo_id: str):
    require_staff()
    withdraw_photo(photo_id)
    return "", 204


@bp.delete("/api/v1/admin/photos/albums/<album_id>")
def admin_withdraw_album(album_id: str):
    require_staff()
    withdraw_album(album_id)
    return "", 204


@bp.post("/api/v1/admin/photos/albums/<album_id>/offer")
def admin_offer_album(album_id: str):
    require_staff()
    data = read_json()
    made = offer_album(
        album_id,
        field_str(data, "period_id", max_len=64),
        field_int(data, "price_cents", minimum=0, maximum=10_000_000),
        field_str(data, "comment", required=False, max_len=2000),
    )
    return jsonify(
        period_id=data["period_id"].strip(),
        items=[{"photo_id": p, "item_id": i} for p, i in made],
        next_cursor=None,
    ), 201


# -- OpenAPI ------------------------------------------------------------------------------------------

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
NS = {"type": ["string", "null"]}
ID = [{"name": "id", "in": "path", "required": True, "schema": S}]
PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "cursor", "in": "query", "schema": S},
]
PHOTO = obj(
    {
        "id": S,
        "album_id": S,
        "number": {**I, "description": "1, 2, … in upload order within the album"},
        "title": NS,
        "filename": S,
        "width": I,
        "height": I,
        "size_bytes": {**I, "description": "of the display size, what a download gives"},
        "uploaded_at": {"type": "string", "format": "date-time"},
        "thumbnail": obj({"url": S, "width": I, "height": I}, ["url", "width", "height"]),
        "display_url": S,
        "download_url": S,
    },
    ["id", "album_id", "number", "width", "height", "thumbnail", "display_url", "download_url"],
)
ALBUM = obj(
    {
        "id": S,
        "title": S,
        "event": NS,
        "taken_on": {"type": ["string", "null"], "format": "date"},
        "class_names": {"type": "array", "items": S, "description": "empty: the whole school"},
        "published_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "null: a draft (staff)",
        },
        "photo_count": I,
        "cover": {"oneOf": [PHOTO, {"type": "null"}]},
        "offered_period_ids": {"type": "array", "items": S, "description": "staff only"},
    },
    ["id", "title", "class_names", "photo_count", "cover"],
)
IMAGE = {"description": "the JPEG", "content": {"image/jpeg": {}}}
SCHEMAS = {"PhotoAlbum": ALBUM, "Photo": PHOTO}

OPENAPI = {
    "/api/v1/photos/albums": {
        "get": {
            "summary": "Albums of the active child's class and of the whole school (staff: every album, drafts "
            "included), newest first",
            "parameters": PAGE,
            "responses": {**ok(list_of(ALBUM)), **error_responses(400, 401, 409, 503)},
        }
    },
    "/api/v1/photos/albums/{id}": {
        "get": {
            "summary": "An album and a page of its photos in upload order (default 60 a page)",
            "parameters": ID + PAGE,
            "responses": {
                **ok(
                    obj(
                        {"album": ALBUM, "items": {"type": "array", "items": PHOTO}, "next_cursor": NS},
                        ["album", "items", "next_cursor"],
                    )
                ),
                **error_responses(400, 401, 404, 409, 503),
            },
        }
    },
    "/api/v1/photos/{id}": {
        "get": {
            "summary": "One photo with its album and the photos before and after it",
            "parameters": ID,
            "responses": {
                **ok({"allOf": [PHOTO, obj({"album": ALBUM, "previous_photo_id": NS, "next_photo_id": NS})]}),
                **error_responses(401, 404, 409, 503),
            },
        }
    },
    "/api/v1/photos/{id}/thumbnail": {
        "get": {
            "summary": "The thumbnail (JPEG, long side 320 px), without any EXIF/GPS data",
            "parameters": ID,
            "responses": {"200": IMAGE, **error_responses(401, 404, 503)},
        }
    },
    "/api/v1/photos/{id}/display": {
        "get": {
            "summary": "The display size (JPEG, long side 1600 px), without any EXIF/GPS data",
            "parameters": ID,
            "responses": {"200": IMAGE, **error_responses(401, 404, 503)},
        }
    },
    "/api/v1/photos/{id}/download": {
        "get": {
            "summary": "The display size as an attachment (Content-Disposition) under the photo's file name",
            "parameters": ID,
            "responses": {"200": IMAGE, **error_responses(401, 404, 503)},
        }
    },
    "/api/v1/admin/photos/albums": {
        "post": {
            "summary": "Create an album for the whole school (no class_names) or some classes; published at once "
            "unless published is false (a draft: fill it, then publish)",
            "requestBody": json_body(
                obj(
                    {
                        "title": S,
                        "event": S,
                        "taken_on": {"type": "string", "format": "date"},
                        "class_names": {"type": "array", "items": S},
                        "published": {"type": "boolean", "default": True},
                    },
                    ["title"],
                )
            ),
            "responses": {**ok(ALBUM, status=201), **error_responses(400, 401, 403, 503)},
        }
    },
    "/api/v1/admin/photos/albums/{id}/publish": {
        "post": {
            "summary": "Publish a draft album (publishing twice changes nothing)",
            "parameters": ID,
            "responses": {**ok(ALBUM), **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/photos/albums/{id}/photos": {
        "post": {
            "summary": "Upload several photos at once (JPEG or PNG by content; 20 MiB a request). All or nothing: "
            "a refused file answers 400 with fields files[<index>] = '<file name>: <reason>' and adds none",
            "parameters": ID,
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj(
                            {
                                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                "titles": {
                                    "type": "array",
                                    "items": S,
                                    "description": "optional, in the order of files",
                                },
                            },
                            ["files"],
                        )
                    }
                },
            },
            "responses": {**ok(list_of(PHOTO), status=201), **error_responses(400, 401, 403, 404, 413, 503)},
        }
    },
    "/api/v1/admin/photos/{id}": {
        "delete": {
            "summary": "Withdraw a photo: gone for everyone, its files deleted",
            "parameters": ID,
            "responses": {"204": {"description": "withdrawn"}, **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/photos/albums/{id}": {
        "delete": {
            "summary": "Withdraw an album and all its photos: gone for everyone, files deleted",
            "parameters": ID,
            "responses": {"204": {"description": "withdrawn"}, **error_responses(401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/photos/albums/{id}/offer": {
        "post": {
            "summary": "Offer the album for sale in an ordering period that has not closed: one catalog item per "
            "photo (subject 'Photos – <album>', title 'Photo <n>', type purchase, the price); once per period",
            "parameters": ID,
            "requestBody": json_body(
                obj({"period_id": S, "price_cents": I, "comment": S}, ["period_id", "price_cents"])
            ),
            "responses": {
                **ok(
                    obj(
                        {
                            "period_id": S,
                            "items": {"type": "array", "items": obj({"photo_id": S, "item_id": S})},
                            "next_cursor": NS,
                        }
                    ),
                    status=201,
                ),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
}
