"""Request plumbing shared by every blueprint: request id, the caller's session and its cookie, the
client's address, CSRF for the JSON API, the error format of API.md, JSON bodies and pagination."""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from cartable.auth.v1 import auth_pb2
from gateway.clients import rpc
from gateway.session_cache import SessionCache
from kit.errors import AppError, Conflict, Forbidden, InvalidRequest, Unauthenticated
from kit.logs import request_id_var
from kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("gateway")

SESSION_COOKIE = "cartable_session"  # API.md names it: the same name in every run
CSRF_COOKIE = "cartable_csrf"  # Flask's session (the pages' CSRF token, flashes); __Host- outside local
# A caller's X-Request-Id is echoed, sent as gRPC metadata and logged: only a plain token is taken
# (gRPC refuses non-ASCII metadata, and a control character would split a log line or a header).
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)  # Flask's, or a redirect's
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def is_api() -> bool:
    return request.path.startswith("/api/")


# Seconds a caller is asked to wait when a service did not answer (UNAVAILABLE, a deadline, a
# database refusing connections) and said nothing itself: a restarting pod is back within seconds.
RETRY_AFTER_UNAVAILABLE = 5


def error_response(err: AppError) -> Response:
    if is_api():
        resp = jsonify(err.to_json())
    else:
        resp = Response(render_template("error.html", error=err), mimetype="text/html")
    resp.status_code = err.http_status
    retry_after = err.retry_after
    if retry_after is None and err.http_status == 503:
        retry_after = RETRY_AFTER_UNAVAILABLE
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def session_token_from_request() -> tuple[str, str]:
    """(token, how): the Bearer token of an API client or the session cookie of a browser."""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "bearer"
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return (cookie, "cookie") if cookie else ("", "")


def session_cache() -> SessionCache:
    return current_app.extensions["cartable_session_cache"]


def load_session():
    """The caller's session (None when not signed in): resolved by auth once per request, or
    remembered from a few seconds ago (gateway/session_cache.py says when it is forgotten)."""
    if "session" in g:
        return g.session
    token, how = session_token_from_request()
    g.session, g.session_token, g.auth_via = None, token, how
    if token:
        cache = session_cache()
        g.session = cache.get(token)
        if g.session is None:
            generation = cache.generation()
            try:
                g.session = rpc(
                    "auth",
                    "ResolveSession",
                    auth_pb2.ResolveSessionRequest(session_token=token),
                    identity=False,
                ).session
            except Unauthenticated:
                g.session = None
            else:
                cache.put(token, g.session, generation)
    return g.session


def forget_changed_sessions() -> None:
    """After a request that may have changed something: the caller's account's sessions are
    resolved again, every session after a staff member's or an anonymous caller's (a sign-in, a
    password reset by mail, the provider's webhook)."""
    if request.method in SAFE_METHODS:
        return
    sess = g.get("session")
    cache = session_cache()
    if sess is None or sess.account.role != "parent":
        cache.forget_all()
    else:
        cache.forget_account(sess.account.id)


def require_session():
    sess = load_session()
    if sess is None:
        raise Unauthenticated("sign in first")
    if g.auth_via == "cookie" and request.method not in SAFE_METHODS and is_api():
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, sess.csrf_token):
            raise Forbidden("missing or wrong X-CSRF-Token", code="csrf_failed")
    return sess


def require_parent_child():
    """The signed-in parent's active child id (409 child_not_selected when several and none chosen)."""
    sess = require_session()
    if sess.account.role != "parent":
        raise Forbidden("this is for parents")
    if not sess.active_child_id:
        raise Conflict("choose a child first", code="child_not_selected")
    return sess, sess.active_child_id


def require_staff():
    sess = require_session()
    if sess.account.role != "staff":
        raise Forbidden("this is for the school's staff")
    return sess


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", fields={"body": "expected a JSON object"})
    return data


def field_str(data: dict, name: str, *, required: bool = True, max_len: int = 500) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", fields={name: "expected a string"})
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{name} is required", fields={name: "required"})
    if len(value) > max_len:
        raise InvalidRequest(f"{name} is too long", fields={name: f"at most {max_len} characters"})
    return value


def field_int(data: dict, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"{name} must be an integer", fields={name: "expected an integer"})
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"{name} is too small", fields={name: f"at least {minimum}"})
    if maximum is not None and value > maximum:
        raise InvalidRequest(f"{name} is too large", fields={name: f"at most {maximum}"})
    return value


def idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise InvalidRequest(
            "Idempotency-Key is too long", fields={"Idempotency-Key": "at most 200 characters"}
        )
    return key


def page_params() -> tuple[int, int]:
    """(limit, offset) from ``?limit=&cursor=`` (default 50, max 200; the cursor is opaque)."""
    raw = request.args.get("limit", "50")
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidRequest("limit must be an integer", fields={"limit": "1 to 200"}) from None
    if not 1 <= limit <= 200:
        raise InvalidRequest("limit must be between 1 and 200", fields={"limit": "1 to 200"})
    cursor = request.args.get("cursor")
    offset = 0
    if cursor:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())["o"])
            if offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"}) from None
    return limit, offset


def keyset_params(default: int = 50, maximum: int = 200) -> tuple[int, str]:
    """(limit, cursor) of a list the service pages itself: limit 1-``maximum`` (``default`` when not
    given); the cursor as the service gave it (the service answers 400 ``cursor`` for any other)."""
    raw = request.args.get("limit", str(default)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidRequest(
            f"limit must be an integer from 1 to {maximum}", fields={"limit": f"1 to {maximum}"}
        )
    cursor = request.args.get("cursor", "").strip()
    if len(cursor) > 1000:
        raise InvalidRequest("invalid cursor", fields={"cursor": "use next_cursor as given"})
    return int(raw), cursor


def paginate(items: list, limit: int, offset: int) -> dict[str, Any]:
    page = items[offset : offset + limit]
    nxt = None
    if offset + limit < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode()).decode()
    return {"items": page, "next_cursor": nxt}


# -- the session cookie and the caller's address (pages and API) ------------------------------------


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


def set_session_cookie(resp: AnyResponse, sess) -> AnyResponse:
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


def clear_session_cookie(resp: AnyResponse) -> AnyResponse:
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


# -- headers every answer carries ------------------------------------------------------------------


def content_security_policy(form_targets: list[str]) -> str:
    """The pages' policy: scripts and styles from this origin only (no inline ones: gateway/static/),
    images from here or data: URLs, never framed. ``form_targets``: origins a form may end up at
    besides ours (a form's 303 to the payment provider's checkout is checked by form-action)."""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": " ".join(["'self'", *form_targets]),
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def checkout_origins(mollie_api_url: str, *, local: bool) -> list[str]:
    """Where a page's form may be redirected to pay: the provider's checkout. Mollie's API is on
    api.mollie.com and its checkout on www.mollie.com; the local stand-in serves both on one origin.
    Local and test runs start the stand-in on any port of this machine."""
    if local:
        return ["http://127.0.0.1:*", "http://localhost:*"]
    parts = urlsplit(mollie_api_url)
    if parts.hostname in ("api.mollie.com", "mollie.com", "www.mollie.com"):
        return ["https://www.mollie.com", "https://*.mollie.com"]
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


def security_headers(resp: Response) -> None:
    """What the browser is told about every answer; a header a route set itself is kept."""
    headers, cfg = resp.headers, current_app.config
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if cfg.get("HSTS_SECONDS"):
        headers.setdefault(
            "Strict-Transport-Security", f"max-age={int(cfg['HSTS_SECONDS'])}; includeSubDomains"
        )
    if not (resp.mimetype or "").startswith("image/"):
        headers.setdefault("X-Frame-Options", "DENY")
    if resp.mimetype == "text/html" and cfg.get("CONTENT_SECURITY_POLICY"):
        headers.setdefault("Content-Security-Policy", cfg["CONTENT_SECURITY_POLICY"])
    if request.endpoint == "static":
        return
    # Nothing personal is kept by the browser or a shared cache: every API answer, and every answer
    # to a caller who showed a session (a signed-in page, or the one that signs in or out).
    if is_api() or g.get("session") is not None or g.get("session_token") or _sets_session(resp):
        headers.setdefault("Cache-Control", "no-store")


def _sets_session(resp: Response) -> bool:
    return any(c.startswith(f"{SESSION_COOKIE}=") for c in resp.headers.getlist("Set-Cookie"))


def request_id_from_header(sent: str) -> str:
    """The caller's request id when it is a safe token, else a new one."""
    sent = sent.strip()
    return sent if SAFE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        rid = request_id_from_header(request.headers.get("X-Request-Id", ""))
        g.request_id = rid
        g.started = time.perf_counter()
        g.rid_token = request_id_var.set(rid)

    @app.after_request
    def _finish(resp: Response):
        resp.headers["X-Request-Id"] = g.get("request_id", "")
        security_headers(resp)
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(endpoint, str(resp.status_code)).inc()
        if "started" in g:
            HTTP_LATENCY.labels(endpoint).observe(time.perf_counter() - g.started)
        return resp

    @app.teardown_request
    def _reset(_exc):
        forget_changed_sessions()
        tok = g.pop("rid_token", None)
        if tok is not None:
            request_id_var.reset(tok)

    @app.errorhandler(AppError)
    def _app_error(err: AppError):
        if err.http_status >= 500:
            log.warning("service error", extra={"code": err.code, "path": request.path})
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        err = AppError(exc.description or exc.name, code=_HTTP_CODES.get(code, "error"))
        err.http_status = code
        if not is_api() and code == 400 and "CSRF" in (exc.description or ""):
            err.message = "La session du formulaire a expiré. Rechargez la page et réessayez."
        return error_response(err)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        err = AppError("internal error", code="internal")
        return error_response(err)
