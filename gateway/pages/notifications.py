"""Web pages: "Mon compte › Courriels" (which mails a parent receives); for staff, the school's events
(/gestion/evenements: a list of the upcoming ones or of a range of days, a form to publish one or
change it, a confirmation page to delete it). Parents' dashboards read the same events: a change
shows there at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gateway.calls.notifications import (
    create_event,
    delete_event,
    get_event,
    get_preferences,
    list_school_events,
    school_today,
    update_event,
    update_preferences,
)
from gateway.i18n import current_lang, form_cents
from gateway.pages.account import login_required
from gateway.shapes import mail_switches
from gateway.web import load_session, require_staff
from kit.dates import BRUSSELS, format_date, format_instant, format_time, format_weekday_date
from kit.errors import Forbidden, InvalidRequest

bp = Blueprint("notifications", __name__)


def threshold_cents(text: str) -> int:
    """The low-balance threshold as typed, in cents; left empty, 0 (no alert)."""
    if not (text or "").strip():
        return 0
    return form_cents(
        text,
        message=_("Montant invalide."),
        fields={"threshold": _("Un montant en euros, par exemple 5,00.")},
    )


@bp.route("/compte/courriels", methods=["GET", "POST"])
@login_required
def preferences():
    if load_session().account.role != "parent":
        raise Forbidden(_("Cette page est réservée aux parents."))
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name) == "on" for name in mail_switches()}
        values["language"] = request.form.get("language", "fr")
        try:
            values["low_balance_threshold_cents"] = threshold_cents(request.form.get("threshold", ""))
            update_preferences(values)
        except InvalidRequest as err:
            errors = dict(err.fields) or {"form": err.message}
        else:
            flash(_("Vos préférences sont enregistrées."), "success")
            return redirect(url_for("notifications.preferences"))
    prefs = get_preferences()
    return render_template(
        "notifications/preferences.html", p=prefs, switches=mail_switches(), errors=errors
    ), (400 if errors else 200)


# -- staff: the school's events (/gestion/evenements) ----------------------------------------------

EVENT_ERRORS = {
    "title": lambda: _("Indiquez un titre de 200 caractères au plus."),
    "description": lambda: _("La description compte 5000 caractères au plus."),
    "starts_at": lambda: _("Indiquez la date et l'heure du début."),
    "ends_at": lambda: _("Indiquez une date et une heure de fin valides."),
    "class_names": lambda: _("Chaque classe compte 40 caractères au plus, séparées par des virgules."),
}


def _local(instant: str) -> datetime:
    return datetime.fromisoformat(instant).astimezone(BRUSSELS)


def _when(e) -> str:
    """ "samedi 5 décembre 2026, 10:00 – 16:00", or both instants when it spans several days."""
    lang, start, end = current_lang(), _local(e.starts_at), _local(e.ends_at)
    day = format_weekday_date(start.date(), lang)
    if end == start:
        return f"{day}, {format_time(start, lang)}"
    if end.date() == start.date():
        return f"{day}, {format_time(start, lang)} – {format_time(end, lang)}"
    return f"{format_instant(start, lang)} – {format_instant(end, lang)}"


def _event_view(e) -> dict:
    return {
        "id": e.id,
        "title": e.title,
        "description": e.description,
        "when": _when(e),
        "starts_at": e.starts_at,
        "classes": ", ".join(e.class_names) or _("Toute l'école"),
    }


def _wall_clock(value: str) -> str:
    """A ``datetime-local`` field (the school's clock) as an RFC 3339 instant; as typed if odd (the
    service then names the field)."""
    value = (value or "").strip()
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (dt if dt.tzinfo else dt.replace(tzinfo=BRUSSELS)).isoformat()


def _event_form(e=None) -> dict[str, str]:
    """The form's fields: as posted, or those of the stored event ``e`` (instants on the school's clock)."""
    if e is None:
        return {
            k: request.form.get(k, "") for k in ("title", "description", "starts_at", "ends_at", "classes")
        }
    return {
        "title": e.title,
        "description": e.description,
        "starts_at": _local(e.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": _local(e.ends_at).strftime("%Y-%m-%dT%H:%M") if e.ends_at != e.starts_at else "",
        "classes": ", ".join(e.class_names),
    }


def _event_values(form: dict[str, str]) -> dict:
    return {
        "title": form["title"],
        "description": form["description"],
        "starts_at": _wall_clock(form["starts_at"]),
        "ends_at": _wall_clock(form["ends_at"]),
        "class_names": [c for c in re.split(r"[,;]", form["classes"]) if c.strip()],
    }


def _field_errors(err: InvalidRequest) -> dict[str, str]:
    """The service's fields as the page says them; the classes' field is named ``classes`` here."""
    out = {}
    for name, said in err.fields.items():
        if name == "ends_at" and "before" in said:
            out["ends_at"] = _("La fin ne peut pas précéder le début.")
        elif name in EVENT_ERRORS:
            out["classes" if name == "class_names" else name] = EVENT_ERRORS[name]()
    return out or {"form": _("L'évènement n'a pas pu être enregistré. Vérifiez le formulaire.")}


def _render_form(form: dict, errors: dict, event_id: str = ""):
    return render_template("notifications/event_form.html", form=form, errors=errors, event_id=event_id), (
        400 if errors else 200
    )


def _list_url(starts_at: str) -> str:
    """The list showing an event just saved: from today, or from its day when it is past."""
    first = min(school_today(), _local(starts_at).date().isoformat())
    return url_for("notifications.staff_events") + "?" + urlencode({"from": first})


@bp.get("/gestion/evenements")
@login_required
def staff_events():
    require_staff()
    # Upcoming by default; the filter sent with an empty "from" means from the very first event.
    first = request.args.get("from", school_today()).strip()[:10]
    last = request.args.get("to", "").strip()[:10]
    errors: dict[str, str] = {}
    try:
        events = [_event_view(e) for e in list_school_events(first, last)]
    except InvalidRequest as err:
        events = []
        for name in ("from", "to"):
            if name in err.fields:
                errors[name] = (
                    _("La date de fin ne peut pas précéder la date de début.")
                    if "before" in err.fields[name]
                    else _("Indiquez une date valide (jour, mois, année).")
                )
    first_label = format_date(date.fromisoformat(first), current_lang()) if first and not errors else ""
    return render_template(
        "notifications/events.html",
        events=events,
        first=first,
        last=last,
        first_label=first_label,
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/gestion/evenements/nouveau", methods=["GET", "POST"])
@login_required
def staff_new_event():
    require_staff()
    if request.method == "GET":
        return _render_form(
            dict.fromkeys(("title", "description", "starts_at", "ends_at", "classes"), ""), {}
        )
    form = _event_form()
    values = _event_values(form)
    try:
        create_event(**values)
    except InvalidRequest as err:
        return _render_form(form, _field_errors(err))
    flash(_("Évènement « %(title)s » publié.", title=values["title"].strip()), "success")
    return redirect(_list_url(values["starts_at"]), code=303)


@bp.route("/gestion/evenements/<event_id>/modifier", methods=["GET", "POST"])
@login_required
def staff_edit_event(event_id: str):
    require_staff()
    if request.method == "GET":
        return _render_form(_event_form(get_event(event_id)), {}, event_id)
    form = _event_form()
    try:
        saved = update_event(event_id, _event_values(form))
    except InvalidRequest as err:
        return _render_form(form, _field_errors(err), event_id)
    flash(_("Évènement « %(title)s » modifié.", title=saved.title), "success")
    return redirect(_list_url(saved.starts_at), code=303)


@bp.route("/gestion/evenements/<event_id>/supprimer", methods=["GET", "POST"])
@login_required
def staff_delete_event(event_id: str):
    """A confirmation page first (no script needed); its form deletes."""
    require_staff()
    event = get_event(event_id)
    if request.method == "GET":
        return render_template("notifications/event_delete.html", event=_event_view(event))
    delete_event(event_id)
    flash(
        _("Évènement « %(title)s » supprimé : les parents ne le voient plus.", title=event.title), "success"
    )
    return redirect(url_for("notifications.staff_events"), code=303)
