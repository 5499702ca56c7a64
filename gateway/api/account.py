"""JSON API: accounts and sign-in (API.md "Parents": activation, session, password-reset, password,
children, session/child) and the school's accounts ("School staff": students, parents, tokens).

The pages of ``gateway.pages.account`` use the same helpers (``session_json`` aside): the client's
address, the session cookie, and the calls to auth.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2
from gateway.api.shapes import child_json, session_json, wallet_json
from gateway.clients import rpc
from gateway.openapi import error_responses, list_of, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.web import (
    SESSION_COOKIE,
    field_str,
    json_body,
    load_session,
    require_session,
    require_staff,
    session_token_from_request,
)
from kit.errors import InvalidRequest, NotFound, Unauthenticated, Unavailable

log = logging.getLogger("gateway.account")

bp = Blueprint("api_account", __name__)

LEVELS = ("primary", "secondary")
LANGUAGES = ("fr", "nl", "en")
MAX_PASSWORD_CHARS = 1024  # the policy (auth) stops at 128; this only bounds what we forward


# -- helpers shared with the pages ---------------------------------------------------------------


def _trusted_networks(setting: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = setting.split(",") if isinstance(setting, str) else list(setting)
    nets = []
    for item in items:
        item = str(item).strip()
        if item:
            nets.append(ipaddress.ip_network(item, strict=False))
    return nets


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address() -> str:
    """The address sign-in throttling is keyed on.

    ``request.remote_addr``, unless ``TRUSTED_PROXIES`` is set (app config, else the environment):
    an integer N means N proxies of ours append to ``X-Forwarded-For``, so the client is the N-th
    address from the right; a list (or comma-separated string) of addresses / networks means: walk
    ``X-Forwarded-For`` from the right while the hop is one of our proxies. Without the setting the
    header is ignored, since anyone can send it.
    """
    remote = request.remote_addr or ""
    setting = current_app.config.get("TRUSTED_PROXIES")
    if setting is None:
        settings = current_app.config.get("SETTINGS")
        setting = settings.trusted_proxies if settings is not None else None
    if not setting:
        return remote
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    if not forwarded:
        return remote
    if isinstance(setting, int) or (isinstance(setting, str) and setting.strip().isdigit()):
        hops = int(setting)
        chain = [*forwarded, remote]
        # the last `hops` entries of the chain are our proxies; the one before them is the client
        candidate = chain[-hops - 1] if len(chain) > hops else chain[0]
        return candidate if _ip(candidate) is not None else remote
    nets = _trusted_networks(setting)
    chain = [*forwarded, remote]
    for addr in reversed(chain):
        ip = _ip(addr)
        if ip is None:
            return remote
        if not any(ip in net for net in nets):
            return str(ip)
    return str(_ip(chain[0]))


def set_session_cookie(resp: Response, sess) -> Response:
    """The ``cartable_session`` cookie for ``sess``: HttpOnly, SameSite=Lax, Secure outside local runs.

    It expires with the session (``Session.expires_at``, unix seconds; auth prolongs it while in use,
    and every answer carrying the session renews the cookie); auth stays the judge of the session."""
    expires_at = int(getattr(sess, "expires_at", 0) or 0)
    resp.set_cookie(
        SESSION_COOKIE,
        sess.session_token,
        expires=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SECURE_COOKIES", True)),
    )
    return resp


def clear_session_cookie(resp: Response) -> Response:
    resp.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SECURE_COOKIES", True)),
    )
    return resp


def adopt(sess) -> None:
    """Make ``sess`` the caller's session for the rest of this request (pages render with it)."""
    g.session, g.session_token = sess, sess.session_token


def _previous_session_token() -> str:
    """The session this client held before signing in again: auth ends it when the new one opens."""
    token, _how = session_token_from_request()
    return token


def sign_in(username: str, password: str):
    sess = rpc(
        "auth",
        "SignIn",
        auth_pb2.SignInRequest(
            username=username,
            password=password,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
        ),
        identity=False,
    ).session
    adopt(sess)
    return sess


def check_connection_token(token: str):
    """Whether a connection token is usable, without using it up: ``{username, display_name}``;
    raises like Activate for an unknown (400 invalid_token), used or expired (409) token."""
    return rpc(
        "auth", "CheckConnectionToken", auth_pb2.CheckConnectionTokenRequest(token=token), identity=False
    )


def activate(token: str, password: str, password_confirm: str):
    sess = rpc(
        "auth",
        "Activate",
        auth_pb2.ActivateRequest(
            token=token,
            password=password,
            password_confirm=password_confirm,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
        ),
        identity=False,
    ).session
    adopt(sess)
    return sess


def request_password_reset(email: str) -> None:
    rpc(
        "auth",
        "RequestPasswordReset",
        auth_pb2.RequestPasswordResetRequest(email=email, client_address=client_address()),
        identity=False,
    )


def sign_out(token: str) -> None:
    if token:
        rpc("auth", "SignOut", auth_pb2.SignOutRequest(session_token=token), identity=False)


def change_password(current: str, new: str, confirm: str) -> None:
    """A wrong current password is a 400 on ``current_password`` (a 401 would read as "signed out")."""
    try:
        rpc(
            "auth",
            "ChangePassword",
            auth_pb2.ChangePasswordRequest(
                session_token=g.session_token,
                current_password=current,
                new_password=new,
                new_password_confirm=confirm,
            ),
        )
    except Unauthenticated as err:
        if err.code != "invalid_credentials":
            raise
        raise InvalidRequest(
            "the current password is wrong", fields={"current_password": "wrong password"}
        ) from None


def select_child(sess, child_id: str):
    """Make ``child_id`` the session's active child; another parent's child (or none) is not found."""
    if not child_id or child_id not in {c.id for c in sess.children}:
        raise NotFound("no such child")
    new = rpc(
        "auth", "SelectChild", auth_pb2.SelectChildRequest(session_token=g.session_token, child_id=child_id)
    ).session
    adopt(new)
    return new


def field_password(data: dict, name: str) -> str:
    """A password as typed: never stripped (spaces belong to it), only bounded."""
    value = data.get(name)
    if not isinstance(value, str) or value == "":
        raise InvalidRequest(f"{name} is required", fields={name: "required"})
    if len(value) > MAX_PASSWORD_CHARS:
        raise InvalidRequest(f"{name} is too long", fields={name: f"at most {MAX_PASSWORD_CHARS} characters"})
    return value


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
    return session_answer(activate(token, password, confirm))


@bp.post("/api/v1/session")
def session_create():
    data = json_body()
    username = field_str(data, "username", max_len=200)
    password = field_password(data, "password")
    return session_answer(sign_in(username, password))


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


def open_wallets(student, level: str) -> list[dict[str, Any]]:
    """Finance opens the new student's wallets. When finance does not answer, the student exists all
    the same and finance opens them on ``auth.student.created.v1``: the answer then lists none."""
    try:
        resp = rpc(
            "finance",
            "OpenStudentWallets",
            finance_pb2.OpenStudentWalletsRequest(
                student_id=student.id,
                level=level,
                first_name=student.first_name,
                last_name=student.last_name,
                class_name=student.class_name,
            ),
        )
    except Unavailable:
        log.warning(
            "finance unavailable: the student's wallets will be opened from auth.student.created.v1",
            extra={"student_id": student.id},
        )
        return []
    return [wallet_json(w) for w in resp.wallets]


@bp.post("/api/v1/admin/students")
def admin_students():
    require_staff()
    data = json_body()
    first_name = field_str(data, "first_name", max_len=100)
    last_name = field_str(data, "last_name", max_len=100)
    class_name = field_str(data, "class_name", max_len=50)
    level = field_str(data, "level", required=False, max_len=20) or "primary"
    if level not in LEVELS:
        raise InvalidRequest("level must be primary or secondary", fields={"level": "primary | secondary"})
    student = rpc(
        "auth",
        "CreateStudent",
        auth_pb2.CreateStudentRequest(
            first_name=first_name, last_name=last_name, class_name=class_name, level=level
        ),
    ).student
    return jsonify(id=student.id, wallets=open_wallets(student, student.level or level)), 201


@bp.post("/api/v1/admin/parents")
def admin_parents():
    require_staff()
    data = json_body()
    first_name = field_str(data, "first_name", max_len=100)
    last_name = field_str(data, "last_name", max_len=100)
    email = field_str(data, "email", max_len=320)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidRequest(
            "email must be an e-mail address", fields={"email": "expected an e-mail address"}
        )
    ids = data.get("student_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidRequest(
            "student_ids must list the parent's children", fields={"student_ids": "at least one id"}
        )
    language = field_str(data, "language", required=False, max_len=5) or "fr"
    if language not in LANGUAGES:
        raise InvalidRequest("language must be fr, nl or en", fields={"language": "fr | nl | en"})
    made = rpc(
        "auth",
        "CreateParent",
        auth_pb2.CreateParentRequest(
            first_name=first_name,
            last_name=last_name,
            email=email,
            student_ids=list(dict.fromkeys(i.strip() for i in ids)),
            language=language,
        ),
    )
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
    made = rpc(
        "auth",
        "LinkChildren",
        auth_pb2.LinkChildrenRequest(parent_id=parent_id, student_ids=[i.strip() for i in ids]),
    )
    return jsonify(id=parent_id, student_ids=list(made.student_ids)), 200


@bp.post("/api/v1/admin/parents/<parent_id>/token")
def admin_parent_token(parent_id: str):
    require_staff()
    rpc("auth", "IssueConnectionToken", auth_pb2.IssueConnectionTokenRequest(parent_id=parent_id))
    return jsonify({}), 202


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
PASSWORD = {"type": "string", "format": "password", "minLength": 1}
SESSION_OK = ok(ref("Session"), "the session; sets the cartable_session cookie")
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}
}


def _with_retry_after(responses: dict[str, Any]) -> dict[str, Any]:
    if "429" in responses:
        responses["429"] = {**responses["429"], "headers": RETRY_AFTER}
    return responses


OPENAPI: dict[str, Any] = {
    "/api/v1/activation": {
        "post": {
            "summary": "First connection (or after a reset): the mailed connection token and a new password",
            "description": "The token is single use and valid 14 days; spaces around it are ignored. "
            "409 `token_used` / `token_expired`; 400 `invalid_token` for an unknown token, or when the "
            "passwords differ or are weak (with `fields`). Signs in at once.",
            "security": [],
            "requestBody": body_schema(
                obj(
                    {"token": S, "password": PASSWORD, "password_confirm": PASSWORD},
                    ["token", "password", "password_confirm"],
                )
            ),
            "responses": _with_retry_after({**SESSION_OK, **error_responses(400, 409, 429, 503)}),
        }
    },
    "/api/v1/session": {
        "post": {
            "summary": "Sign in with username and password",
            "description": "401 `invalid_credentials`; 429 `rate_limited` with Retry-After after repeated "
            "failures. With one child `active_child_id` is set; with several it is null until chosen.",
            "security": [],
            "requestBody": body_schema(obj({"username": S, "password": PASSWORD}, ["username", "password"])),
            "responses": _with_retry_after({**SESSION_OK, **error_responses(400, 401, 429, 503)}),
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
            "responses": _with_retry_after(
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
            "responses": _with_retry_after(
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
