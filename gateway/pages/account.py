"""Web pages: sign in, connection token (first connection or after a reset), forgotten password,
child choice, password change, sign out (chapters 1° to 3° of the parent guide). The second factor's
pages (the code at sign-in, setting it up) are in ``gateway.pages.security``.

Other page modules protect their views with ``login_required`` (signed in) or ``parent_page`` (a
parent with a child chosen); both make ``g.session`` and ``g.active_child`` available, and every
template gets ``session_info`` and ``active_child``.
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

import gateway.pages.sealed as sealed
from gateway.calls.account import (
    activate,
    change_password,
    check_connection_token,
    request_password_reset,
    select_child,
    sign_in,
    sign_out,
)
from gateway.pages.account_messages import (
    disabled_message,
    lockout_message,
    otp_missing_message,
    otp_wrong_message,
    password_message,
    token_message,
    unavailable_message,
)
from gateway.web import (
    SESSION_COOKIE,
    clear_session_cookie,
    load_session,
    session_token_from_request,
    set_session_cookie,
)
from kit.errors import (
    AppError,
    Conflict,
    Forbidden,
    InvalidRequest,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("gateway.pages.account")

bp = Blueprint("account", __name__)

# The connection token between the two steps of /jeton (pages/sealed.py), good for this long.
ACTIVATION_KEY = "activation_token"
ACTIVATION_TTL = 30 * 60
# The username and password between the two steps of a sign-in with a second factor (auth wants both
# again with the code): kept briefly, dropped once used (pages/security.py reads them).
SIGN_IN_KEY = "sign_in_pending"
SIGN_IN_TTL = 5 * 60
ACTIVATION_WHO_KEY = "activation_account"  # username and name, shown at the second step
RESET_SENT_KEY = "password_reset_sent"
TOKEN_ERROR_CODES = {"invalid_token", "token_invalid", "unknown_token", "token_unknown", "token_revoked"}
NOT_AFTER_SIGN_IN = {
    "/connexion",
    "/connexion/code",
    "/jeton",
    "/jeton/mot-de-passe",
    "/deconnexion",
    "/mot-de-passe-oublie",
}
SETUP_PAGE = "security.index"  # where a session still to set its second factor up is sent
STAFF_HOMES = ("staff.index", "staff.home", "staff.dashboard", "documents.staff_deposit")


# -- what other page modules use ----------------------------------------------------------------


def current_child():
    """The signed-in parent's active child (the auth ``Child`` message), or None."""
    if "active_child" in g:
        return g.active_child
    sess = g.get("session")
    child = None
    if sess is not None and sess.active_child_id:
        child = next((c for c in sess.children if c.id == sess.active_child_id), None)
    g.active_child = child
    return child


@bp.app_context_processor
def _account_globals() -> dict[str, Any]:
    return {"active_child": current_child() if g.get("session") is not None else None}


def _sign_in_redirect():
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("account.sign_in", next=target))


def login_required(view):
    """Signed-in pages: without a valid session, go to /connexion (and come back afterwards)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        sess = load_session()
        if sess is None:
            return _sign_in_redirect()
        if sess.second_factor_setup_required:
            return redirect(url_for(SETUP_PAGE))
        g.pop("active_child", None)
        current_child()
        return view(*args, **kwargs)

    return wrapper


def parent_page(view):
    """Parents' pages about one child: signed in as a parent with a child chosen, else /enfants."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        sess = load_session()
        if sess is None:
            return _sign_in_redirect()
        if sess.account.role != "parent":
            home = landing_url(sess)
            if home != url_for("home.index"):  # staff: to their own pages
                return redirect(home)
            raise Forbidden(_("Cette page est réservée aux parents."))
        g.pop("active_child", None)
        if current_child() is None:
            return redirect(url_for("account.children"))
        return view(*args, **kwargs)

    return wrapper


def landing_url(sess) -> str:
    """Where a session lands after signing in: the dashboard, the child choice, or staff's home (the
    second factor's set-up first when the school requires one and the account has none)."""
    if sess.second_factor_setup_required:
        return url_for(SETUP_PAGE)
    if sess.account.role == "staff":
        for endpoint in STAFF_HOMES:
            if endpoint in current_app.view_functions:
                return url_for(endpoint)
        return url_for("home.index")
    if sess.active_child_id:
        return url_for("portal.dashboard")
    return url_for("account.children")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or ``https://``), to avoid open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    # browsers drop tabs and newlines from a URL ("/\t/evil.example" becomes "//evil.example")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if target.split("?")[0].rstrip("/") in NOT_AFTER_SIGN_IN:
        return None
    return target


def signed_in_redirect(sess, target: str | None = None):
    if sess.second_factor_setup_required:
        target = None  # nothing else works until it is set up
    resp = redirect(target or landing_url(sess), code=303)
    sealed.drop(ACTIVATION_KEY, ACTIVATION_WHO_KEY, SIGN_IN_KEY)
    return set_session_cookie(resp, sess)


@bp.after_app_request
def _renew_session_cookie(resp):
    """Auth prolongs a session while it is used: the browser's cookie follows its new end."""
    sess = g.get("session")
    if (
        sess is not None
        and g.get("auth_via") == "cookie"
        and getattr(sess, "expires_at", 0)
        and sess.session_token
        and sess.session_token == g.get("session_token")
        and not any(h.startswith(SESSION_COOKIE + "=") for h in resp.headers.getlist("Set-Cookie"))
    ):
        set_session_cookie(resp, sess)
    return resp


def _render(template: str, status: int = 200, retry_after: int | None = None, **ctx):
    resp = current_app.make_response((render_template(template, **ctx), status))
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


# -- the connection token between the two steps ----------------------------------------------------


def _keep_token(token: str) -> None:
    sealed.keep(ACTIVATION_KEY, token, "activation token")


def _kept_token() -> str | None:
    return sealed.kept(ACTIVATION_KEY, "activation token", ACTIVATION_TTL)


# -- sign in ---------------------------------------------------------------------------------------


@bp.route("/connexion", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        sess = load_session()
        if sess is not None:
            return redirect(target or landing_url(sess))
        return render_template("account/sign_in.html", form={}, errors={}, next=target)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("Indiquez votre nom d'utilisateur.")
    if not password:
        errors["password"] = _("Indiquez votre mot de passe.")
    if errors:
        return _render("account/sign_in.html", 400, form={"username": username}, errors=errors, next=target)
    try:
        sess = sign_in(username, password)
    except RateLimited as err:
        errors["form"] = lockout_message(err)
        return _render(
            "account/sign_in.html",
            429,
            err.retry_after,
            form={"username": username},
            errors=errors,
            next=target,
        )
    except Unauthenticated as err:
        if err.code == "second_factor_required":  # the password was right: the code, next page
            sealed.keep(SIGN_IN_KEY, {"u": username, "p": password, "next": target}, "sign in")
            return redirect(url_for("security.sign_in_code"), code=303)
        errors["form"] = _("Nom d'utilisateur ou mot de passe incorrect.")
        return _render("account/sign_in.html", 401, form={"username": username}, errors=errors, next=target)
    except InvalidRequest:
        errors["form"] = _("Nom d'utilisateur ou mot de passe incorrect.")
        return _render("account/sign_in.html", 401, form={"username": username}, errors=errors, next=target)
    except Forbidden as err:
        if err.code != "account_disabled":
            raise
        errors["form"] = disabled_message()
        return _render("account/sign_in.html", 403, form={"username": username}, errors=errors, next=target)
    except Unavailable:
        errors["form"] = unavailable_message()
        return _render("account/sign_in.html", 503, form={"username": username}, errors=errors, next=target)
    return signed_in_redirect(sess, target)


# -- connection token: step 1 (the token), step 2 (the password) ------------------------------------


@bp.route("/jeton", methods=["GET", "POST"])
def token():
    if request.method == "GET":
        # a token refused at the second step comes back here: shown on the field, as an alert
        refused = get_flashed_messages(category_filter=["error"])
        return render_template("account/token.html", errors={"token": refused[0]} if refused else {})
    value = request.form.get("token", "").strip()
    if not value:
        return _render(
            "account/token.html",
            400,
            errors={"token": _("Indiquez le jeton de connexion reçu par courriel.")},
        )
    try:
        found = check_connection_token(value)
    except RateLimited as err:
        return _render("account/token.html", 429, err.retry_after, errors={"token": lockout_message(err)})
    except Unavailable:
        return _render("account/token.html", 503, errors={"token": unavailable_message()})
    except Forbidden as err:
        if err.code != "account_disabled":
            raise
        return _render("account/token.html", 403, errors={"token": disabled_message()})
    except AppError as err:
        message = token_message(err)
        if not message:
            raise
        return _render(
            "account/token.html", 409 if isinstance(err, Conflict) else 400, errors={"token": message}
        )
    session[ACTIVATION_WHO_KEY] = {
        "username": found.username,
        "display_name": found.display_name,
        "second_factor": found.second_factor_required,  # the account has one: its code is asked too
    }
    _keep_token(value)
    return redirect(url_for("account.token_password"), code=303)


@bp.route("/jeton/mot-de-passe", methods=["GET", "POST"])
def token_password():
    kept = _kept_token()
    if kept is None:
        flash(_("Introduisez d'abord le jeton de connexion reçu par courriel."), "error")
        return redirect(url_for("account.token"), code=303)
    who = session.get(ACTIVATION_WHO_KEY) or {}
    if request.method == "GET":
        return render_template("account/set_password.html", errors={}, who=who)
    password = request.form.get("password", "")
    confirm = request.form.get("password_confirm", "")
    otp = request.form.get("otp", "").strip()[:64]
    errors: dict[str, str] = {}
    if not password:
        errors["password"] = _("Choisissez un mot de passe.")
    elif password != confirm:
        errors["password_confirm"] = _("Les deux mots de passe sont différents.")
    if who.get("second_factor") and not otp:
        errors["otp"] = otp_missing_message()
    if errors:
        return _render("account/set_password.html", 400, errors=errors, who=who)
    try:
        sess = activate(kept, password, confirm, otp)
    except Unauthenticated as err:
        if err.code not in ("second_factor_required", "invalid_otp"):
            raise
        # the account has a factor (set up since the token was checked, or the code was wrong)
        who = {**who, "second_factor": True}
        session[ACTIVATION_WHO_KEY] = who
        text = otp_missing_message() if err.code == "second_factor_required" else otp_wrong_message()
        return _render("account/set_password.html", 401, errors={"otp": text}, who=who)
    except Forbidden as err:
        if err.code != "account_disabled":
            raise
        sealed.drop(ACTIVATION_KEY, ACTIVATION_WHO_KEY)
        return _render("account/set_password.html", 403, errors={"form": disabled_message()}, who={})
    except RateLimited as err:
        return _render(
            "account/set_password.html", 429, err.retry_after, errors={"form": lockout_message(err)}, who=who
        )
    except Unavailable:
        return _render("account/set_password.html", 503, errors={"form": unavailable_message()}, who=who)
    except AppError as err:
        message = token_message(err)
        if message:
            sealed.drop(ACTIVATION_KEY, ACTIVATION_WHO_KEY)
            flash(message, "error")
            return redirect(url_for("account.token"), code=303)
        if not isinstance(err, InvalidRequest):
            raise
        field, text = password_message(err)
        return _render("account/set_password.html", 400, errors={field: text}, who=who)
    return signed_in_redirect(sess)


# -- forgotten password ----------------------------------------------------------------------------


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot():
    if request.method == "GET":
        sent = bool(session.pop(RESET_SENT_KEY, False))
        return render_template("account/forgot.html", sent=sent, form={}, errors={})
    email = request.form.get("email", "").strip()
    if not email or "@" not in email or len(email) > 320:
        errors = {"email": _("Indiquez l'adresse e-mail que vous avez communiquée à l'école.")}
        return _render("account/forgot.html", 400, sent=False, form={"email": email}, errors=errors)
    try:
        request_password_reset(email)
    except RateLimited as err:
        return _render(
            "account/forgot.html",
            429,
            err.retry_after,
            sent=False,
            form={"email": email},
            errors={"form": lockout_message(err)},
        )
    except InvalidRequest:
        errors = {"email": _("Indiquez l'adresse e-mail que vous avez communiquée à l'école.")}
        return _render("account/forgot.html", 400, sent=False, form={"email": email}, errors=errors)
    session[RESET_SENT_KEY] = True
    return redirect(url_for("account.forgot"), code=303)


# -- signed in: child choice, password, sign out ----------------------------------------------------


@bp.route("/enfants", methods=["GET", "POST"])
@login_required
def children():
    sess = g.session
    if sess.account.role != "parent":
        raise Forbidden(_("Cette page est réservée aux parents."))
    if request.method == "POST":
        new = select_child(sess, request.form.get("child_id", "").strip())
        return signed_in_redirect(new, url_for("portal.dashboard"))
    if len(sess.children) == 1:
        only = sess.children[0]
        new = sess if sess.active_child_id == only.id else select_child(sess, only.id)
        return signed_in_redirect(new, url_for("portal.dashboard"))
    return render_template("account/children.html", children=list(sess.children))


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "GET":
        return render_template("account/change_password.html", errors={})
    current = request.form.get("current_password", "")
    new = request.form.get("password", "")
    confirm = request.form.get("password_confirm", "")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = _("Indiquez votre mot de passe actuel.")
    if not new:
        errors["password"] = _("Choisissez un nouveau mot de passe.")
    elif new != confirm:
        errors["password_confirm"] = _("Les deux mots de passe sont différents.")
    if errors:
        return _render("account/change_password.html", 400, errors=errors)
    try:
        change_password(current, new, confirm)
    except RateLimited as err:
        return _render(
            "account/change_password.html", 429, err.retry_after, errors={"form": lockout_message(err)}
        )
    except InvalidRequest as err:
        if "current_password" in err.fields:
            return _render(
                "account/change_password.html",
                400,
                errors={"current_password": _("Le mot de passe actuel est incorrect.")},
            )
        field, text = password_message(err)
        return _render("account/change_password.html", 400, errors={field: text})
    flash(_("Votre mot de passe a été modifié."), "success")
    return redirect(landing_url(g.session), code=303)


@bp.post("/deconnexion")
def sign_out_page():
    token, how = session_token_from_request()
    if token and how == "cookie":
        try:
            sign_out(token)
        except (Unauthenticated, Unavailable) as err:
            # the cookie goes anyway; an unreachable auth lets the session expire on its own
            log.warning("sign-out not confirmed by auth", extra={"code": err.code})
    session.clear()
    flash(_("Vous êtes déconnecté."), "success")
    return clear_session_cookie(redirect(url_for("account.sign_in"), code=303))
