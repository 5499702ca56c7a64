"""The web gateway: parent portal, staff back office and the JSON API, over the services' gRPC APIs.

Where things are (a route reaches its use case in two hops: route -> ``calls/<area>.py`` -> service):

- ``api/<area>.py``: the JSON routes of API.md with their OpenAPI paths (``OPENAPI``, documented once,
  beside the route); ``api/<area>_staff.py`` the school's side of a large area.
- ``shapes.py``: every JSON shape of the API (protobuf message -> dict), pure.
- ``pages/<area>.py``: the web pages (templates/, translations/<area>/).
- ``calls/<area>.py``: every call to a service, shared by a page and its API route. The services own
  the rules; the gateway checks shapes and passes their refusals through.
- ``web.py`` request plumbing (session and its cookie, CSRF, errors, JSON bodies, pagination);
  ``i18n.py`` languages and money (kit.money) for the pages; ``clients.py`` gRPC channels and
  deadlines; ``openapi.py`` the document's builder.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from gateway.i18n import LANG_COOKIE, LANGUAGES, current_lang, eur, select_locale
from kit.settings import load_settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the gateway. ``config`` overrides settings (tests pass service targets and timeouts)."""
    from gateway import web
    from gateway.api import ALL as API_AREAS
    from gateway.clients import Clients
    from gateway.pages import ALL as PAGE_AREAS
    from gateway.ratelimit import SlidingWindow
    from gateway.session_cache import SessionCache

    settings = load_settings("gateway")
    app = Flask(__name__)
    secret = settings.gateway_secret_key
    if not secret:
        if settings.env == "production":
            raise RuntimeError("GATEWAY_SECRET_KEY is required in production")
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        SETTINGS=settings,
        GRPC_TARGETS=dict(settings.grpc_targets),
        GRPC_TIMEOUT=settings.gateway_grpc_timeout,
        DASHBOARD_DEADLINE=settings.dashboard_deadline,
        SESSION_CACHE_SECONDS=settings.gateway_session_cache_seconds,
        WEBHOOK_TIMEOUT=settings.gateway_webhook_timeout,
        SECURE_COOKIES=not settings.is_local,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        BABEL_DEFAULT_LOCALE="fr",
        # One catalog directory per area (gateway/translations/<area>/<lang>/LC_MESSAGES), merged.
        BABEL_TRANSLATION_DIRECTORIES=";".join(
            str(p) for p in sorted((Path(__file__).parent / "translations").iterdir()) if p.is_dir()
        ),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        PUBLIC_BASE_URL=settings.public_base_url,
        # (calls, seconds): Mollie calls once per status change, and retries what we refuse.
        WEBHOOK_RATE_LIMIT=(120, 60.0),
        # HTTPS only, for two years, subdomains too: outside local and test runs (plain HTTP there).
        HSTS_SECONDS=0 if settings.is_local else 2 * 365 * 86400,
        CONTENT_SECURITY_POLICY=web.content_security_policy(
            web.checkout_origins(settings.mollie_api_url, local=settings.is_local)
        ),
    )
    if config:
        app.config.update(config)
    # Flask's own cookie carries the pages' CSRF token and flashed messages. Outside local runs it is
    # a __Host- cookie (Secure, Path=/, no Domain: no subdomain can set or overwrite it). The session
    # cookie keeps its name, cartable_session, which API.md fixes; it has the same attributes.
    secure = bool(app.config["SECURE_COOKIES"])
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["SESSION_COOKIE_NAME"] = ("__Host-" if secure else "") + web.CSRF_COOKIE
    app.extensions["cartable_clients"] = Clients(app.config["GRPC_TARGETS"], app.config["GRPC_TIMEOUT"])
    app.extensions["cartable_session_cache"] = SessionCache(float(app.config["SESSION_CACHE_SECONDS"]))
    # The provider's webhook, per client address and per worker (gateway/ratelimit.py says why).
    limit, window = app.config["WEBHOOK_RATE_LIMIT"]
    app.extensions["cartable_webhook_limit"] = SlidingWindow(int(limit), float(window))
    app.extensions["cartable_api_areas"] = API_AREAS  # what /api/v1/openapi.json documents

    Babel(app, locale_selector=select_locale)
    csrf = CSRFProtect(app)
    web.install(app)

    for area in API_AREAS:
        csrf.exempt(area.bp)  # the JSON API has its own rule: X-CSRF-Token for cookie callers
        app.register_blueprint(area.bp)
    for area in PAGE_AREAS:
        app.register_blueprint(area.bp)

    @app.after_request
    def _lang_cookie(resp):
        lang = g.get("set_lang_cookie")
        if lang:
            resp.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", secure=app.config["SECURE_COOKIES"]
            )
        return resp

    # Money in every template: kit.money in the reader's language.
    app.jinja_env.globals["eur"] = eur

    @app.context_processor
    def _globals():
        return {"current_lang": current_lang(), "languages": LANGUAGES, "session_info": g.get("session")}

    return app
