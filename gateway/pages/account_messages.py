"""What the account pages tell a person when auth refuses something, in their language: a lockout,
a connection token, a new password, a disabled account, the second factor's codes."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import ngettext

from kit.errors import AppError, InvalidRequest

TOKEN_ERROR_CODES = {"invalid_token", "token_invalid", "unknown_token", "token_unknown", "token_revoked"}


def lockout_message(err: AppError) -> str:
    minutes = max(1, -(-(err.retry_after or 60) // 60))
    return ngettext(
        "Trop de tentatives. Par sécurité, réessayez dans %(num)d minute.",
        "Trop de tentatives. Par sécurité, réessayez dans %(num)d minutes.",
        minutes,
    )


def token_message(err: AppError) -> str | None:
    """The message for a connection token refused by auth, or None when the token was not the issue."""
    if err.code == "token_expired":
        return _(
            "Ce jeton de connexion a expiré : celui d'une première connexion est valable 14 jours, "
            "celui d'un mot de passe oublié 1 heure. Demandez-en un nouveau avec "
            "« Mot de passe oublié ? » ou auprès de votre établissement scolaire."
        )
    if err.code == "token_used":
        return _(
            "Ce jeton de connexion a déjà été utilisé. Connectez-vous avec votre nom d'utilisateur et "
            "votre mot de passe, ou demandez un nouveau jeton avec « Mot de passe oublié ? »."
        )
    if err.code in TOKEN_ERROR_CODES or (isinstance(err, InvalidRequest) and "token" in err.fields):
        return _(
            "Ce jeton de connexion n'est pas reconnu. Recopiez-le depuis le dernier courriel reçu : "
            "un jeton plus ancien ne fonctionne plus."
        )
    return None


def password_message(err: AppError) -> tuple[str, str]:
    """(field, message) for a new password refused by auth's policy (its codes or its English text)."""
    text = " ".join([err.code, err.message, *err.fields.keys(), *map(str, err.fields.values())]).lower()
    if "mismatch" in text or "differ" in text:
        return "password_confirm", _("Les deux mots de passe sont différents.")
    if "too_short" in text or "at least" in text:
        found = re.search(r"at least (\d+)", text)
        return "password", _(
            "Le mot de passe doit compter au moins %(num)d caractères.",
            num=int(found.group(1)) if found else 8,
        )
    if "too_long" in text or "at most" in text:
        found = re.search(r"at most (\d+)", text)
        return "password", _(
            "Le mot de passe peut compter au plus %(num)d caractères.",
            num=int(found.group(1)) if found else 128,
        )
    if "common" in text:
        return "password", _(
            "Ce mot de passe est trop courant. Choisissez-en un autre, par exemple une phrase de quelques mots."
        )
    if "username" in text or "mail" in text:
        return "password", _(
            "Le mot de passe ne peut contenir ni votre nom d'utilisateur ni votre adresse e-mail."
        )
    return "password", _("Ce mot de passe ne peut pas être choisi. Choisissez-en un autre.")


def disabled_message() -> str:
    return _(
        "Ce compte a été désactivé par l'établissement scolaire. Pour le réactiver, contactez le "
        "secrétariat de l'école."
    )


def unavailable_message() -> str:
    return _("Le service est momentanément indisponible. Réessayez dans quelques instants.")


# -- the second factor, and the school's actions on accounts -----------------------------------------


def otp_missing_message() -> str:
    return _("Indiquez le code à 6 chiffres affiché par votre application d'authentification.")


def otp_wrong_message() -> str:
    return _(
        "Ce code n'est pas le bon. Saisissez le code affiché maintenant par votre application "
        "(il change toutes les 30 secondes), ou un code de secours."
    )


def account_error_message(err: AppError) -> str | None:
    """The page's words for auth's refusal of a second-factor step or of a staff action on an account
    (None when it is none of these)."""
    if err.code == "rate_limited":
        return lockout_message(err)
    if err.code == "unavailable":
        return unavailable_message()
    messages = {
        "cannot_disable_self": _(
            "Vous ne pouvez pas désactiver votre propre compte : un ou une collègue doit le faire."
        ),
        "cannot_reset_self": _(
            "Vous ne pouvez pas réinitialiser votre propre validation en deux étapes : désactivez-la "
            "depuis « Sécurité du compte »."
        ),
        "account_disabled": _("Ce compte est désactivé : réactivez-le d'abord."),
        "account_erased": _(
            "Cette famille a été effacée : son compte ne peut plus servir. Créez un nouveau compte si elle revient."
        ),
        "second_factor_enabled": _("La validation en deux étapes est déjà activée sur ce compte."),
        "no_setup_pending": _("La configuration a expiré ou n'a pas été commencée. Recommencez-la."),
        "second_factor_not_enabled": _("La validation en deux étapes n'est pas activée sur ce compte."),
        "invalid_otp": otp_wrong_message(),
        "invalid_credentials": _("Le mot de passe est incorrect."),
        "not_found": _("Ce compte n'existe pas ou n'appartient pas à votre établissement."),
    }
    return messages.get(err.code)
