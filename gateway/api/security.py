"""JSON API: the second factor (TOTP) of the signed-in account, and the school's sign-in security
settings (``require_second_factor``). The calls to auth are in ``gateway.calls.account``.

A staff session of a school that requires a second factor, while its owner has none, only serves
to set one up (auth gives it no identity token): every other API call answers 403
``second_factor_setup_required`` before any service is called (``_setup_first``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from gateway.api.account import OTP, PASSWORD, SESSION_OK, field_otp, field_password, session_answer
from gateway.api.account import with_retry_after as retry_after
from gateway.calls.account import (
    begin_second_factor_setup,
    confirm_second_factor_setup,
    disable_second_factor,
    get_security_settings,
    update_security_settings,
)
from gateway.openapi import error_responses, obj, ok, ref
from gateway.openapi import json_body as body_schema
from gateway.shapes import security_settings_json, session_json
from gateway.web import (
    is_api,
    json_body,
    load_session,
    require_session,
    require_staff,
    session_token_from_request,
    set_session_cookie,
)
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("api_security", __name__)

# What a session limited to setting up its second factor may still call (auth serves these with the
# session token alone): signing in and out, first connection and reset, the password, the set-up.
SETUP_OPEN = frozenset(
    [
        ("POST", "/api/v1/session"),
        ("DELETE", "/api/v1/session"),
        ("POST", "/api/v1/activation"),
        ("POST", "/api/v1/password-reset"),
        ("PUT", "/api/v1/password"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/second-factor"),
        ("POST", "/api/v1/second-factor/setup"),
        ("POST", "/api/v1/second-factor/confirm"),
        ("POST", "/api/v1/second-factor/disable"),
    ]
)


@bp.before_app_request
def _setup_first():
    """403 ``second_factor_setup_required`` for a session that must set its second factor up first,
    on every API call but those of ``SETUP_OPEN`` (the services would refuse it anyway: it carries
    no identity token)."""
    if not is_api() or (request.method, request.path.rstrip("/")) in SETUP_OPEN:
        return
    token, _how = session_token_from_request()
    if not token:
        return
    sess = load_session()
    if sess is not None and sess.second_factor_setup_required:
        raise Forbidden(
            "your school requires a second factor: set it up first (POST /api/v1/second-factor/setup)",
            code="second_factor_setup_required",
        )


# -- one's own second factor -------------------------------------------------------------------------


@bp.get("/api/v1/second-factor")
def second_factor_state():
    sess = require_session()
    return jsonify(
        enabled=sess.account.second_factor_enabled, setup_required=sess.second_factor_setup_required
    )


@bp.post("/api/v1/second-factor/setup")
def second_factor_setup():
    require_session()
    begun = begin_second_factor_setup()
    return jsonify(secret=begun.secret, provisioning_uri=begun.provisioning_uri), 201


@bp.post("/api/v1/second-factor/confirm")
def second_factor_confirm():
    require_session()
    code = field_otp(json_body(), "code", required=True)
    codes = confirm_second_factor_setup(code)
    resp = jsonify(recovery_codes=codes, session=session_json(g.session))
    return set_session_cookie(resp, g.session)


@bp.post("/api/v1/second-factor/disable")
def second_factor_disable():
    require_session()
    data = json_body()
    otp = field_otp(data)
    password = field_password(data, "password") if not otp and data.get("password") else ""
    if not otp and not password:
        raise InvalidRequest(
            "a code from the app (otp) or the password is required",
            fields={"otp": "required", "password": "required"},
        )
    return session_answer(disable_second_factor(otp, password))


# -- the school's settings (staff) --------------------------------------------------------------------


@bp.get("/api/v1/admin/security-settings")
def admin_security_settings():
    require_staff()
    return jsonify(security_settings_json(get_security_settings()))


@bp.put("/api/v1/admin/security-settings")
def admin_security_settings_update():
    require_staff()
    data = json_body()
    required = data.get("require_second_factor")
    if not isinstance(required, bool):
        raise InvalidRequest(
            "require_second_factor must be true or false", fields={"require_second_factor": "a boolean"}
        )
    return jsonify(security_settings_json(update_security_settings(required)))


# -- OpenAPI ---------------------------------------------------------------------------------------

S = {"type": "string"}
B = {"type": "boolean"}
SETTINGS = obj(
    {"require_second_factor": B, "staff_without_second_factor": {"type": "integer"}},
    ["require_second_factor", "staff_without_second_factor"],
)

OPENAPI: dict[str, Any] = {
    "/api/v1/second-factor": {
        "get": {
            "summary": "Whether the signed-in account has a second factor, or must set one up first",
            "responses": {
                **ok(obj({"enabled": B, "setup_required": B}, ["enabled", "setup_required"])),
                **error_responses(401, 503),
            },
        }
    },
    "/api/v1/second-factor/setup": {
        "post": {
            "summary": "Start setting up a second factor (TOTP): a secret for the authenticator app",
            "description": "`provisioning_uri` (otpauth://) is what a QR code carries; `secret` is typed "
            "by hand. Nothing changes until `/confirm`; starting again replaces the secret. 409 "
            "`second_factor_enabled` when the account has one (turn it off first).",
            "responses": {
                **ok(obj({"secret": S, "provisioning_uri": S}, ["secret", "provisioning_uri"]), status=201),
                **error_responses(401, 409, 503),
            },
        }
    },
    "/api/v1/second-factor/confirm": {
        "post": {
            "summary": "Turn the second factor on with the code the app shows now",
            "description": "Answers the 10 recovery codes, shown this once (each signs in once in place "
            "of a code), and the session refreshed; the account's other sessions end. 400 `invalid_otp` "
            "(fields.code); 409 `no_setup_pending`.",
            "requestBody": body_schema(obj({"code": OTP}, ["code"])),
            "responses": {
                **ok(
                    obj(
                        {"recovery_codes": {"type": "array", "items": S}, "session": ref("Session")},
                        ["recovery_codes", "session"],
                    ),
                    "the factor is on; sets the cartable_session cookie",
                ),
                **error_responses(400, 401, 409, 503),
            },
        }
    },
    "/api/v1/second-factor/disable": {
        "post": {
            "summary": "Turn one's second factor off, with a code (or a recovery code) or the password",
            "description": "400 `invalid_otp` (fields.otp) or `invalid_credentials` (fields.password), "
            "throttled like sign-ins (429 `rate_limited`); 409 `second_factor_not_enabled`. A staff "
            "member of a school that requires one is then limited to setting one up again.",
            "requestBody": body_schema(obj({"otp": OTP, "password": PASSWORD})),
            "responses": retry_after({**SESSION_OK, **error_responses(400, 401, 409, 429, 503)}),
        }
    },
    "/api/v1/admin/security-settings": {
        "get": {
            "summary": "The school's sign-in security: is a second factor required of every staff account",
            "description": "`staff_without_second_factor`: enabled staff accounts that have none yet.",
            "responses": {**ok(SETTINGS), **error_responses(401, 403, 503)},
        },
        "put": {
            "summary": "Require (or no longer require) a second factor of every staff account",
            "description": "Once required, staff without one sign in to a session that only serves to "
            "set it up (other calls: 403 `second_factor_setup_required`).",
            "requestBody": body_schema(obj({"require_second_factor": B}, ["require_second_factor"])),
            "responses": {**ok(SETTINGS), **error_responses(400, 401, 403, 503)},
        },
    },
}
