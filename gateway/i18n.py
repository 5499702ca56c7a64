"""The pages' languages: which one a request is answered in, and money as its reader writes it."""

from __future__ import annotations

from flask import g, request

LANGUAGES = ("fr", "nl", "en")
LANG_COOKIE = "cartable_lang"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        g.set_lang_cookie = asked
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    sess = g.get("session")
    if sess is not None and sess.account.language in LANGUAGES:
        return sess.account.language
    return request.accept_languages.best_match(LANGUAGES, default="fr") or "fr"
