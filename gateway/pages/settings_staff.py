"""Staff pages: the school's payment settings (IBAN, beneficiary, how parents top up, reminders, SEPA
creditor id, enterprise number) and its wallet types. The same calls as ``PUT /api/v1/admin/settings``
and ``/api/v1/admin/wallet-types`` (``gateway.calls.finance``); finance owns every rule, and asks the
manager's password again before the IBAN changes (the form always offers the field; it is needed only
then, and finance says so)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cartable.finance.v1 import finance_pb2 as pb
from gateway.calls.finance import create_wallet_type, get_settings, list_wallet_types, update_settings
from gateway.calls.notifications import reminder_settings
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.errors import Forbidden, InvalidRequest, Unavailable

bp = Blueprint("settings_staff", __name__)

TEXT_FIELDS = ("iban", "bic", "beneficiary", "school_name", "creditor_id", "enterprise_number")
ADDRESS_FIELDS = ("street", "postal_code", "city")  # the form's address_street, ... (tax certificates)
NUMBER_FIELDS = ("first_after_days", "repeat_every_days", "max_count")
TOP_UP_METHODS = ("online", "transfer")


def _field_messages() -> dict[str, str]:
    """What the page says of a field finance refused (its own words stay in the log)."""
    return {
        "iban": _("Indiquez un IBAN valide, par exemple BE68 5390 0754 7034."),
        "bic": _("Indiquez un BIC valide (8 ou 11 caractères), ou laissez vide."),
        "beneficiary": _("Indiquez le nom du bénéficiaire des virements."),
        "school_name": _("Ce nom est trop long."),
        "creditor_id": _(
            "Indiquez un identifiant de créancier SEPA valide, par exemple BE69ZZZ050D000000008."
        ),
        "enterprise_number": _(
            "Indiquez un numéro d'entreprise BCE valide (10 chiffres, par exemple 0203.201.340)."
        ),
        "address_street": _("Indiquez la rue et le numéro (200 caractères au plus)."),
        "address_postal_code": _("Indiquez un code postal belge : 4 chiffres, de 1000 à 9999."),
        "address_city": _("Indiquez la commune (100 caractères au plus)."),
        "top_up_methods": _(
            "Choisissez au moins une façon de recharger, ou aucune si les recharges sont fermées."
        ),
        "first_after_days": _("Un nombre de jours entre 1 et 180."),
        "repeat_every_days": _("Un nombre de jours entre 1 et 180."),
        "max_count": _("Un nombre de rappels entre 1 et 10."),
        "current_password": _("Le mot de passe n'est pas le bon : l'IBAN n'a pas été changé."),
        "payment_plan_contact": _("300 caractères au plus."),
    }


def _form_of(st: pb.Settings) -> dict:
    return {
        **{name: getattr(st, name) for name in TEXT_FIELDS},
        **{f"address_{name}": getattr(st.address, name) for name in ADDRESS_FIELDS},
        "top_up_methods": list(st.top_up_methods),
        "internal_wallet_payments": st.internal_wallet_payments,
        "online_payment_for_orders": st.online_payment_for_orders,
        "reminders_enabled": st.reminders.enabled,
        **{name: str(getattr(st.reminders, name) or "") for name in NUMBER_FIELDS},
        "payment_plan_contact": _contact(),
    }


def _contact() -> str:
    """Whom parents contact to spread a payment (kept by notifications, said in secondary schools'
    reminders); empty when notifications does not answer: the page still shows."""
    try:
        return reminder_settings().payment_plan_contact
    except Unavailable:
        return ""


def _posted() -> dict:
    f = request.form
    return {
        **{name: f.get(name, "").strip() for name in TEXT_FIELDS},
        **{f"address_{name}": f.get(f"address_{name}", "").strip() for name in ADDRESS_FIELDS},
        "top_up_methods": [m for m in TOP_UP_METHODS if m in f.getlist("top_up_methods")],
        "internal_wallet_payments": f.get("internal_wallet_payments") == "on",
        "online_payment_for_orders": f.get("online_payment_for_orders") == "on",
        "reminders_enabled": f.get("reminders_enabled") == "on",
        **{name: f.get(name, "").strip() for name in NUMBER_FIELDS},
        "payment_plan_contact": f.get("payment_plan_contact", "").strip()[:300],
    }


def _settings_of(form: dict) -> tuple[pb.Settings, dict[str, str]]:
    """The settings message from the posted form, and the page's own errors (numbers that are none)."""
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name in NUMBER_FIELDS:
        text = form[name]
        if not text:
            numbers[name] = 0
        elif text.isdigit() and len(text) <= 4:
            numbers[name] = int(text)
        else:
            errors[name] = _field_messages()[name]
    enabled = bool(form["reminders_enabled"])
    if enabled:
        for name in NUMBER_FIELDS:
            if name not in errors and numbers[name] == 0:
                errors[name] = _field_messages()[name]
    settings = pb.Settings(
        iban=form["iban"],
        bic=form["bic"],
        beneficiary=form["beneficiary"],
        school_name=form["school_name"],
        top_up_methods=form["top_up_methods"],
        internal_wallet_payments=form["internal_wallet_payments"],
        online_payment_for_orders=form["online_payment_for_orders"],
        creditor_id=form["creditor_id"],
        enterprise_number=form["enterprise_number"],
        address=pb.SchoolAddress(**{name: form[f"address_{name}"] for name in ADDRESS_FIELDS}),
    )
    settings.reminders.CopyFrom(pb.ReminderSettings(enabled=enabled, **numbers))
    return settings, errors


def _render(form: dict, errors: dict[str, str], wallet_form: dict | None = None, status: int = 200):
    return render_template(
        "settings_staff/settings.html",
        form=form,
        errors=errors,
        wallet_types=list_wallet_types(),
        wallet_form=wallet_form or {"name": "", "error": ""},
        methods=TOP_UP_METHODS,
    ), status


@bp.get("/gestion/reglages")
@login_required
def settings_page():
    require_staff()
    return _render(_form_of(get_settings()), {})


@bp.post("/gestion/reglages")
@login_required
def settings_save():
    require_staff()
    form = _posted()
    settings, errors = _settings_of(form)
    if errors:
        return _render(form, errors, status=400)
    try:
        update_settings(settings, request.form.get("current_password", ""), form["payment_plan_contact"])
    except InvalidRequest as err:
        said = _field_messages()
        names = {k.removeprefix("reminders.").replace("address.", "address_"): k for k in err.fields}
        errors = {short: said[short] for short in names if short in said}
        return _render(form, errors or {"form": _("Les réglages n'ont pas été enregistrés.")}, status=400)
    except Forbidden as err:
        if err.code != "reauthentication_required":
            raise
        return _render(
            form,
            {
                "current_password": _(
                    "Pour changer l'IBAN, indiquez votre mot de passe : les versements des familles y iront."
                )
                if not request.form.get("current_password")
                else _field_messages()["current_password"]
            },
            status=403,
        )
    flash(_("Les réglages sont enregistrés."), "success")
    return redirect(url_for("settings_staff.settings_page"), 303)


@bp.post("/gestion/reglages/portefeuilles")
@login_required
def wallet_type_add():
    require_staff()
    name = request.form.get("name", "").strip()
    try:
        if not name:
            raise InvalidRequest("name is required", fields={"name": "required"})
        created = create_wallet_type(name)
    except InvalidRequest:
        wallet_form = {
            "name": name,
            "error": _("Indiquez un nom de portefeuille, de 100 caractères au plus."),
        }
        return _render(_form_of(get_settings()), {}, wallet_form, status=400)
    flash(_("Le portefeuille « %(name)s » est ouvert pour chaque élève.", name=created.name), "success")
    return redirect(url_for("settings_staff.settings_page") + "#portefeuilles", 303)
