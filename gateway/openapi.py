"""The machine-readable spec of API.md, assembled from every API area's ``OPENAPI`` paths."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_responses(*codes: int) -> dict[str, Any]:
    names = {
        400: "invalid_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        409: "state conflict",
        413: "too_large",
        429: "rate_limited",
        503: "unavailable",
    }
    return {
        str(c): {
            "description": names.get(c, "error"),
            "content": {"application/json": {"schema": ref("Error")}},
        }
        for c in codes
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(schema: dict[str, Any] | None = None, description: str = "OK", status: int = 200) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return {str(status): body}


def obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def list_of(schema: dict[str, Any]) -> dict[str, Any]:
    return obj(
        {"items": {"type": "array", "items": schema}, "next_cursor": {"type": ["string", "null"]}}, ["items"]
    )


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
NS = {"type": ["string", "null"]}

BASE_SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {"code": S, "message": S, "fields": {"type": "object", "additionalProperties": S}},
                ["code", "message"],
            )
        },
        ["error"],
    ),
    "Child": obj(
        {
            "id": S,
            "first_name": S,
            "last_name": S,
            "class_name": S,
            "school_name": S,
            # a child who left the school stays, read-only: no new top-ups, orders or bookings
            "status": {"enum": ["active", "left"]},
            "left_on": {"type": ["string", "null"], "format": "date"},
        },
        ["id", "first_name", "last_name", "class_name", "school_name"],
    ),
    "Session": obj(
        {
            "session_token": S,
            "csrf_token": S,
            "account": obj({"id": S, "display_name": S, "role": {"enum": ["parent", "staff"]}}),
            "children": {"type": "array", "items": ref("Child")},
            "active_child_id": {"type": ["string", "null"]},
        },
        ["session_token", "csrf_token", "account", "children", "active_child_id"],
    ),
    "Wallet": obj(
        {
            "id": S,
            "name": S,
            "balance_cents": I,
            "structured_communication": S,
            "auto_top_up": obj(
                {"enabled": B, "threshold_cents": I, "amount_cents": I, "pending_cents": I},
                ["enabled", "threshold_cents", "amount_cents"],
            ),
            "collection_pending_cents": I,
        },
        ["id", "name", "balance_cents", "structured_communication"],
    ),
    "Invoice": obj(
        {
            "id": S,
            "number": S,
            "title": S,
            "issued_on": {"type": "string", "format": "date"},
            "due_on": {"type": "string", "format": "date"},
            "total_cents": I,
            "paid_cents": I,
            "status": {"enum": ["unpaid", "partially_paid", "paid", "cancelled"]},
            "structured_communication": S,
            "collection_pending": {
                "type": "boolean",
                "description": "in a direct-debit batch not yet credited",
            },
        },
        ["id", "number", "title", "total_cents", "paid_cents", "status", "structured_communication"],
    ),
}


def build_spec(areas: list) -> dict[str, Any]:
    """The document, from each area's ``OPENAPI`` paths and ``SCHEMAS``. Each operation (path and
    method) is documented by one area only: the module of its route."""
    paths: dict[str, Any] = {}
    owner: dict[tuple[str, str], str] = {}
    schemas = dict(BASE_SCHEMAS)
    for area in areas:
        for path, ops in getattr(area, "OPENAPI", {}).items():
            for method in ops:
                if (path, method) in owner:
                    raise ValueError(
                        f"{method.upper()} {path} is documented twice: {owner[path, method]} and {area.__name__}"
                    )
                owner[path, method] = area.__name__
            paths.setdefault(path, {}).update(ops)
        schemas.update(getattr(area, "SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cartable public HTTP API",
            "version": "1.0.0",
            "description": "The gateway's JSON API. Money in integer cents (EUR).",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "cartable_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": dict(sorted(paths.items())),
    }
