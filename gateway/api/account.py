"""JSON API: accounts and sign-in (API.md "Parents": activation, session, password-reset, password,
children, session/child) and the school's accounts ("School staff": students, parents, tokens).
The second factor is in ``gateway.api.security``, the people lists and their actions in
``gateway.api.people``.

The calls to auth are in ``gateway.calls.account`` (the pages of ``gateway.pages.account`` use them
too); the session cookie and the client's address in ``gateway.web``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.calls.account import (
    activate,
    change_password,
    create_parent,
    create_student,
    issue_connection_token,
    link_children,
    request_password_reset,
    select_child,
    sign_in,
    sign_out,
)
from gateway.calls.finance import open_student_wallets
from gateway.i18n import LANGUAGES
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import child_json, session_json, wallet_json
from gateway.web import (
    clear_session_cookie,
    field_str,
    json_body,
    load_session,
    require_session,
    require_staff,
    session_token_from_request,
    set_session_cookie,
)
from kit.errors import InvalidRequest

bp = Blueprint("api_account", __name__)

LEVELS = ("nursery", "primary", "secondary")  # nursery: maternelle / kleuter (issue #19)
MAX_PASSWORD_CHARS = 1024  # the policy (auth) stops at 128; this only bounds what we forward
MAX_OTP_CHARS = 64  # a TOTP code is 6 digits, a recovery code 19 characters


# -- request checks ------------------------------------------------------------------------------


def field_password(data: dict, name: str) -> str:
    """A password as typed: never stripped (spaces belong to it), only bounded."""
    value = data.get(name)
    if not isinstance(value, str) or value == "":
        raise InvalidRequest(f"{name} is required", fields={name: "required"})
    if len(value) > MAX_PASSWORD_CHARS:
        raise InvalidRequest(f"{name} is too long", fields={name: f"at most {MAX_PASSWORD_CHARS} characters"})
    return value


def field_otp(data: dict, name: str = "otp", *, required: bool = False) -> str:
    """A second-factor code as typed (auth reads digits, spaces and dashes alike)."""
    return field_str(data, name, required=required, max_len=MAX_OTP_CHARS)


def field_email(data: dict, name: str = "email") -> str:
    """An e-mail address, roughly: auth checks it for real."""
    email = field_str(data, name, max_len=320)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidRequest(f"{name} must be an e-mail address", fields={name: "expected an e-mail address"})
    return email


def session_answer(sess, status: int = 200) -> Response:
    resp = jsonify(session_json(sess))
    resp.status_code = status
    return set_session_cookie(resp, sess)


# -- parents ---------------------------------------------------------------------------------------


@bp.post("/api/v1/activation")
def activation():
    data = json_body()
    token = field_str(data, "token", max_len=200)
    password = field_password(data, "password")
    confirm = field_password(data, "password_confirm")
    return session_answer(activate(token, password, confirm, field_otp(data)))


@bp.post("/api/v1/session")
def session_create():
    data = json_body()
    username = field_str(data, "username", max_len=200)
    password = field_password(data, "password")
    return session_answer(sign_in(username, password, field_otp(data)))


@bp.delete("/api/v1/session")
def session_delete():
    token, _how = session_token_from_request()
    if token and load_session() is not None:
        require_session()  # a cookie caller must show its X-CSRF-Token
        sign_out(token)
    resp = Response(status=204)
    return clear_session_cookie(resp)


@bp.post("/api/v1/password-reset")
def password_reset():
    data = json_body()
    email = field_str(data, "email", max_len=320)
    if "@" not in email:
        raise InvalidRequest(
            "email must be an e-mail address", fields={"email": "expected an e-mail address"}
        )
    request_password_reset(email)
    # The same answer whether or not the address is known.
    return jsonify({}), 202


@bp.put("/api/v1/password")
def password_change():
    require_session()
    data = json_body()
    change_password(
        field_password(data, "current_password"),
        field_password(data, "new_password"),
        field_password(data, "new_password_confirm"),
    )
    return Response(status=204)


@bp.get("/api/v1/children")
def children():
    sess = require_session()
    return jsonify(items=[child_json(c) for c in sess.children], next_cursor=None)


@bp.put("/api/v1/session/child")
def session_child():
    sess = require_session()
    data = json_body()
    child_id = field_str(data, "child_id", max_len=100)
    return session_answer(select_child(sess, child_id))


# -- school staff ----------------------------------------------------------------------------------


@bp.post("/api/v1/admin/students")
def admin_students():
    require_staff()
    data = json_body()
    first_name = field_str(data, "first_name", max_len=100)
    last_name = field_str(data, "last_name", max_len=100)
    class_name = field_str(data, "class_name", max_len=50)
    level = field_str(data, "level", required=False, max_len=20) or "primary"
    if level not in LEVELS:
        raise InvalidRequest(
            "level must be nursery, primary or secondary", fields={"level": "nursery | primary | secondary"}
        )
    student = create_student(first_name, last_name, class_name, level)
    wallets = open_student_wallets(student, student.level or level)
    return jsonify(id=student.id, wallets=[wallet_json(w) for w in wallets]), 201


@bp.post("/api/v1/admin/parents")
def admin_parents():
    require_staff()
    data = json_body()
    first_name = field_str(data, "first_name", max_len=100)
    last_name = field_str(data, "last_name", max_len=100)
    email = field_email(data)
    ids = data.get("student_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidRequest(
            "student_ids must list the parent's children", fields={"student_ids": "at least one id"}
        )
    language = field_str(data, "language", required=False, max_len=5) or "fr"
    if language not in LANGUAGES:
        raise InvalidRequest("language must be fr, nl or en", fields={"language": "fr | nl | en"})
    made = create_parent(first_name, last_name, email, list(dict.fromkeys(i.strip() for i in ids)), language)
    return jsonify(id=made.id, username=made.username), 201


@bp.post("/api/v1/admin/parents/<parent_id>/children")
def admin_parent_children(parent_id: str):
    """An existing parent becomes responsible for more students (a brother or sister enrolled later)."""
    require_staff()
    data = json_body()
    ids = data.get("student_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidRequest(
            "student_ids must list the children to link", fields={"student_ids": "at least one id"}
        )
    return jsonify(id=parent_id, student_ids=link_children(parent_id, [i.strip() for i in ids])), 200


@bp.post("/api/v1/admin/parents/<parent_id>/token")
def admin_parent_token(parent_id: str):
    require_staff()
    issue_connection_token(parent_id)
    return jsonify({}), 202


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
PASSWORD = {"type": "string", "format": "password", "minLength": 1}
OTP = {
    "type": "string",
    "maxLength": MAX_OTP_CHARS,
    "description": "the authenticator app's current 6-digit code, or one of the recovery codes",
}
SESSION_OK = ok(ref("Session"), "the session; sets the cartable_session cookie")
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}
}


def with_retry_after(responses: dict[str, Any]) -> dict[str, Any]:
    if "429" in responses:
        responses["429"] = {**responses["429"], "headers": RETRY_AFTER}
    return responses


OPENAPI: dict[str, Any] = {
    "/api/v1/activation": {
        "post": {
            "summary": "First connection (or after a reset): the mailed connection token and a new password",
            "description": "The token is single use and valid 14 days; spaces around it are ignored. "
            "409 `token_used` / `token_expired`; 400 `invalid_token` for an unknown token, or when the "
            "passwords differ or are weak (with `fields`). An account with a second factor needs `otp` "
            "too: 401 `second_factor_required` without it, `invalid_otp` when wrong (the token stays "
            "usable). 403 `account_disabled`. Signs in at once.",
            "security": [],
            "requestBody": body_schema(
                obj(
                    {"token": S, "password": PASSWORD, "password_confirm": PASSWORD, "otp": OTP},
                    ["token", "password", "password_confirm"],
                )
            ),
            "responses": with_retry_after({**SESSION_OK, **error_responses(400, 401, 403, 409, 429, 503)}),
        }
    },
    "/api/v1/session": {
        "post": {
            "summary": "Sign in with username and password",
            "description": "401 `invalid_credentials`; 429 `rate_limited` with Retry-After after repeated "
            "failures. With one child `active_child_id` is set; with several it is null until chosen. "
            "An account with a second factor: 401 `second_factor_required` until the same body carries "
            "`otp` (the app's 6 digits, or a recovery code), 401 `invalid_otp` when it is wrong. The "
            "right password of an account the school disabled: 403 `account_disabled`. A staff member "
            "of a school that requires a second factor and has none yet gets a session that only "
            "serves to set one up (`/api/v1/second-factor/...`): every other call answers 403 "
            "`second_factor_setup_required`.",
            "security": [],
            "requestBody": body_schema(
                obj({"username": S, "password": PASSWORD, "otp": OTP}, ["username", "password"])
            ),
            "responses": with_retry_after({**SESSION_OK, **error_responses(400, 401, 403, 429, 503)}),
        },
        "delete": {
            "summary": "Sign out: ends the session and clears the cookie",
            "responses": {"204": {"description": "signed out"}, **error_responses(403, 503)},
        },
    },
    "/api/v1/password-reset": {
        "post": {
            "summary": "Forgotten password: mails the username and a new connection token",
            "description": "The same answer whether or not the address is known.",
            "security": [],
            "requestBody": body_schema(obj({"email": {"type": "string", "format": "email"}}, ["email"])),
            "responses": with_retry_after(
                {
                    "202": {"description": "accepted", "content": {"application/json": {"schema": obj({})}}},
                    **error_responses(400, 429, 503),
                }
            ),
        }
    },
    "/api/v1/password": {
        "put": {
            "summary": "Change the password (the account's other sessions end)",
            "requestBody": body_schema(
                obj(
                    {
                        "current_password": PASSWORD,
                        "new_password": PASSWORD,
                        "new_password_confirm": PASSWORD,
                    },
                    ["current_password", "new_password", "new_password_confirm"],
                )
            ),
            "responses": with_retry_after(
                {"204": {"description": "changed"}, **error_responses(400, 401, 403, 429, 503)}
            ),
        }
    },
    "/api/v1/children": {
        "get": {
            "summary": "The signed-in parent's children",
            "responses": {**ok(list_of(ref("Child"))), **error_responses(401, 503)},
        }
    },
    "/api/v1/session/child": {
        "put": {
            "summary": "Choose the child the following calls are about",
            "description": "404 for a child that is not this parent's.",
            "requestBody": body_schema(obj({"child_id": S}, ["child_id"])),
            "responses": {**ok(ref("Session")), **error_responses(400, 401, 403, 404, 503)},
        }
    },
    "/api/v1/admin/students": {
        "post": {
            "summary": "Create a student of the staff member's school; finance opens its wallets",
            "description": "`wallets` lists the wallets opened; it is empty when finance did not answer "
            "(the wallets are then opened from the `auth.student.created.v1` event).",
            "requestBody": body_schema(
                obj(
                    {"first_name": S, "last_name": S, "class_name": S, "level": {"enum": list(LEVELS)}},
                    ["first_name", "last_name", "class_name", "level"],
                )
            ),
            "responses": {
                **ok(
                    obj({"id": S, "wallets": {"type": "array", "items": ref("Wallet")}}, ["id", "wallets"]),
                    status=201,
                ),
                **error_responses(400, 401, 403, 503),
            },
        }
    },
    "/api/v1/admin/parents": {
        "post": {
            "summary": "Create a parent account for students of the school; mails the connection token",
            "requestBody": body_schema(
                obj(
                    {
                        "first_name": S,
                        "last_name": S,
                        "email": {"type": "string", "format": "email"},
                        "student_ids": {"type": "array", "items": S, "minItems": 1},
                        "language": {"enum": list(LANGUAGES), "default": "fr"},
                    },
                    ["first_name", "last_name", "email", "student_ids"],
                )
            ),
            "responses": {
                **ok(obj({"id": S, "username": S}, ["id", "username"]), status=201),
                **error_responses(400, 401, 403, 404, 409, 503),
            },
        }
    },
    "/api/v1/admin/parents/{id}/children": {
        "post": {
            "summary": "Make an existing parent responsible for more students of the school (idempotent)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
            "requestBody": body_schema(
                obj({"student_ids": {"type": "array", "items": S, "minItems": 1}}, ["student_ids"])
            ),
            "responses": {
                **ok(
                    obj({"id": S, "student_ids": {"type": "array", "items": S}}, ["id", "student_ids"]),
                    "all the parent's children now",
                ),
                **error_responses(400, 401, 403, 404, 503),
            },
        }
    },
    "/api/v1/admin/parents/{id}/token": {
        "post": {
            "summary": "Mail the parent a new connection token; the previous one stops working",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": S}],
            "responses": {
                "202": {"description": "mailed", "content": {"application/json": {"schema": obj({})}}},
                **error_responses(401, 403, 404, 503),
            },
        }
    },
}
