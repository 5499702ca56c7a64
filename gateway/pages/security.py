"""Web pages of the second factor (TOTP): the code asked at sign-in (or a recovery code), and the
account's security page where staff, and parents who opt in, set it up (a QR code of auth's
otpauth:// URI, the secret as text, a first code), see their recovery codes once, or turn it off.

A staff session of a school that requires a second factor, while its owner has none, only serves to
set one up: every other page sends it to the security page (``_setup_first``), as the API answers 403
``second_factor_setup_required``.
"""

from __future__ import annotations

from functools import wraps

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

import gateway.pages.sealed as sealed
from gateway.calls.account import (
    begin_second_factor_setup,
    confirm_second_factor_setup,
    disable_second_factor,
    sign_in,
)
from gateway.pages.account import SIGN_IN_KEY, SIGN_IN_TTL, landing_url, signed_in_redirect
from gateway.pages.account_messages import (
    account_error_message,
    disabled_message,
    lockout_message,
    otp_missing_message,
    otp_wrong_message,
    unavailable_message,
)
from gateway.web import is_api, load_session, set_session_cookie
from kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidRequest,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

bp = Blueprint("security", __name__)

SETUP_KEY, SETUP_TTL = "second_factor_setup", 15 * 60  # the secret being set up
CODES_KEY, CODES_TTL = "recovery_codes", 30 * 60  # the recovery codes until "I saved them"
MAX_CODE_CHARS = 64
# What a session still to set its factor up may open (the rest sends it here).
SETUP_OPEN = frozenset(
    {
        "account.sign_in",
        "account.token",
        "account.token_password",
        "account.forgot",
        "account.sign_out_page",
        "security.sign_in_code",
        "security.index",
        "security.begin",
        "security.setup",
        "security.confirm",
        "security.recovery_codes",
    }
)


@bp.before_app_request
def _setup_first():
    if is_api() or not request.blueprint or request.blueprint.startswith("api_"):
        return None  # the API answers 403 itself (gateway/api/security.py); static files pass
    if request.endpoint in SETUP_OPEN or not request.cookies.get("cartable_session"):
        return None
    sess = load_session()
    if sess is not None and sess.second_factor_setup_required:
        return redirect(url_for("security.index"))
    return None


def layout_for(sess) -> str:
    return "staff_base.html" if sess.account.role == "staff" else "portal_base.html"


def signed_in(view):
    """Pages for any signed-in session, set-up sessions included (``login_required`` sends those
    here); without one, to /connexion and back."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if load_session() is None:
            return redirect(url_for("account.sign_in", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def _page(template: str, status: int = 200, retry_after: int | None = None, **ctx):
    sess = g.session
    ctx.setdefault("errors", {})
    resp = current_app.make_response(
        (render_template(template, layout=layout_for(sess), sess=sess, **ctx), status)
    )
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def qr_svg(uri: str, title: str) -> Markup:
    """The otpauth:// URI as an inline SVG QR code, named for screen readers by its ``<title>``."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, title=title, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own markup, the title escaped


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand (apps ignore the spaces)."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# -- sign-in: the second step -------------------------------------------------------------------------


@bp.route("/connexion/code", methods=["GET", "POST"])
def sign_in_code():
    pending = sealed.kept(SIGN_IN_KEY, "sign in", SIGN_IN_TTL)
    if pending is None:
        flash(_("Introduisez à nouveau votre nom d'utilisateur et votre mot de passe."), "error")
        return redirect(url_for("account.sign_in"), code=303)
    recovery = request.values.get("secours") == "1"
    ctx = {"recovery": recovery, "username": pending["u"]}
    if request.method == "GET":
        return render_template("account/sign_in_code.html", errors={}, **ctx)
    otp = request.form.get("otp", "").strip()[:MAX_CODE_CHARS]
    if not otp:
        return _code_page(400, {"otp": otp_missing_message()}, **ctx)
    try:
        sess = sign_in(pending["u"], pending["p"], otp)
    except Unauthenticated as err:
        if err.code == "invalid_otp":
            return _code_page(401, {"otp": otp_wrong_message()}, **ctx)
        sealed.drop(SIGN_IN_KEY)  # the password no longer opens (changed meanwhile): start again
        flash(_("Nom d'utilisateur ou mot de passe incorrect."), "error")
        return redirect(url_for("account.sign_in"), code=303)
    except Forbidden as err:
        if err.code != "account_disabled":
            raise
        sealed.drop(SIGN_IN_KEY)
        return _code_page(403, {"form": disabled_message()}, **ctx)
    except RateLimited as err:
        return _code_page(429, {"form": lockout_message(err)}, err.retry_after, **ctx)
    except Unavailable:
        return _code_page(503, {"form": unavailable_message()}, **ctx)
    return signed_in_redirect(sess, pending.get("next"))


def _code_page(status: int, errors: dict[str, str], retry_after: int | None = None, **ctx):
    resp = current_app.make_response(
        (render_template("account/sign_in_code.html", errors=errors, **ctx), status)
    )
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


# -- the account's security page ------------------------------------------------------------------------


@bp.get("/compte/securite")
@signed_in
def index():
    return _page("account/security.html")


@bp.post("/compte/securite/configurer")
@signed_in
def begin():
    try:
        begun = begin_second_factor_setup()
    except Conflict as err:
        flash(account_error_message(err) or err.message, "error")
        return redirect(url_for("security.index"), code=303)
    sealed.keep(SETUP_KEY, {"secret": begun.secret, "uri": begun.provisioning_uri}, "second factor")
    return redirect(url_for("security.setup"), code=303)


@bp.get("/compte/securite/configurer")
@signed_in
def setup():
    return _setup_page(200, {})


def _setup_page(status: int, errors: dict[str, str]):
    pending = sealed.kept(SETUP_KEY, "second factor", SETUP_TTL)
    if pending is None:
        flash(_("La configuration a expiré ou n'a pas été commencée. Recommencez-la."), "error")
        return redirect(url_for("security.index"), code=303)
    qr = qr_svg(pending["uri"], _("Code QR à scanner avec votre application d'authentification"))
    return _page(
        "account/security_setup.html", status, errors=errors, qr=qr, secret=grouped(pending["secret"])
    )


@bp.post("/compte/securite/confirmer")
@signed_in
def confirm():
    code = request.form.get("code", "").strip()[:MAX_CODE_CHARS]
    if not code:
        return _setup_page(400, {"code": otp_missing_message()})
    try:
        codes = confirm_second_factor_setup(code)
    except InvalidRequest as err:
        if err.code != "invalid_otp":
            raise
        return _setup_page(400, {"code": otp_wrong_message()})
    except Conflict as err:
        sealed.drop(SETUP_KEY)
        flash(account_error_message(err) or err.message, "error")
        return redirect(url_for("security.index"), code=303)
    sealed.drop(SETUP_KEY)
    sealed.keep(CODES_KEY, codes, "recovery codes")
    resp = redirect(url_for("security.recovery_codes"), code=303)
    return set_session_cookie(resp, g.session)  # refreshed: no longer limited to the set-up


@bp.route("/compte/securite/codes-de-secours", methods=["GET", "POST"])
@signed_in
def recovery_codes():
    codes = sealed.kept(CODES_KEY, "recovery codes", CODES_TTL)
    if codes is None:  # shown once: gone once saved (or after half an hour)
        return redirect(url_for("security.index"), code=303)
    if request.method == "POST":
        if request.form.get("saved") != "yes":
            errors = {
                "saved": _("Cochez la case une fois les codes enregistrés : ils ne seront plus affichés.")
            }
            return _page("account/recovery_codes.html", 400, codes=codes, errors=errors)
        sealed.drop(CODES_KEY)
        flash(_("La validation en deux étapes est activée."), "success")
        return redirect(landing_url(g.session), code=303)
    return _page("account/recovery_codes.html", codes=codes)


@bp.post("/compte/securite/desactiver")
@signed_in
def disable():
    otp = request.form.get("otp", "").strip()[:MAX_CODE_CHARS]
    password = request.form.get("password", "")
    if not otp and not password:
        message = _("Indiquez un code de votre application (ou un code de secours), ou votre mot de passe.")
        return _page("account/security.html", 400, errors={"otp": message})
    try:
        new = disable_second_factor(otp, "" if otp else password)
    except (InvalidRequest, RateLimited) as err:
        field = (
            "form"
            if isinstance(err, RateLimited)
            else ("otp" if err.code == "invalid_otp" or otp else "password")
        )
        return _page(
            "account/security.html",
            429 if isinstance(err, RateLimited) else 400,
            err.retry_after,
            errors={field: account_error_message(err) or err.message},
        )
    except Conflict as err:
        flash(account_error_message(err) or err.message, "error")
        return redirect(url_for("security.index"), code=303)
    except AppError as err:
        if not isinstance(err, Unavailable):
            raise
        return _page("account/security.html", 503, errors={"form": unavailable_message()})
    flash(_("La validation en deux étapes est désactivée."), "success")
    return set_session_cookie(redirect(landing_url(new), code=303), new)
