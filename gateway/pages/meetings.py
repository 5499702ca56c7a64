"""Web pages: parent meetings ("Réunions de parents").

Parents (/reunions): each teacher of the active child with the free slots as radio buttons and
"Réserver", their own bookings with "Annuler". Staff (/gestion/reunions): the evenings, a form to
open one, and each teacher's printable schedule.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from gateway.calls.meetings import (
    book,
    cancel,
    create_evening,
    evening_request,
    list_evenings,
    my_bookings,
    open_evenings,
)
from gateway.calls.meetings import schedule as get_schedule
from gateway.pages.account import current_child, login_required, parent_page
from gateway.web import require_session, require_staff
from kit.errors import AppError, Conflict, InvalidRequest, NotFound

bp = Blueprint("meetings", __name__)


def _hm(instant: str) -> str:
    """ "18:10" from an RFC 3339 instant already in the school's offset."""
    return instant[11:16]


def _day(iso_date: str) -> str:
    return format_date(date.fromisoformat(iso_date[:10]), format="full")


def _when(instant: str) -> str:
    """ "mercredi 14 octobre 2026 à 12:00"."""
    return _("%(day)s à %(time)s", day=_day(instant), time=_hm(instant))


def _booking_view(b) -> dict:
    return {
        "id": b.id,
        "teacher": b.teacher_name,
        "room": b.room,
        "evening": b.evening_title,
        "day": _day(b.slot.starts_at),
        "start": _hm(b.slot.starts_at),
        "end": _hm(b.slot.ends_at),
        "cancellable": b.cancellable,
        "closes": _when(b.closes_at),
    }


def _booking_error(err: AppError) -> str:
    if err.code == "slot_taken":
        return _("Ce créneau vient d'être réservé par un autre parent. Choisissez-en un autre.")
    if err.code == "booking_closed":
        return _("Les réservations pour cette réunion sont closes.")
    if err.code == "already_booked":
        return _(
            "Vous avez déjà un rendez-vous avec cet enseignant pour cet enfant. Annulez-le d'abord pour en choisir un autre."
        )
    if err.code == "overlapping_booking":
        return _("Vous avez déjà un rendez-vous à cette heure-là. Choisissez un autre créneau.")
    if isinstance(err, NotFound):
        return _("Ce créneau n'est plus proposé.")
    if err.http_status == 503:
        return _("Le service des réunions ne répond pas pour le moment. Réessayez dans quelques instants.")
    return _("La réservation n'a pas pu être enregistrée.")


# -- parents ---------------------------------------------------------------------------------------


@bp.get("/reunions")
@parent_page
def index():
    child = current_child()
    evenings = []
    for oe in open_evenings(child.id):
        e = oe.evening
        evenings.append(
            {
                "id": e.id,
                "title": e.title,
                "day": _day(e.date),
                "start": _hm(e.starts_at),
                "end": _hm(e.ends_at),
                "closes": _when(e.closes_at),
                "teachers": [
                    {
                        "id": t.teacher.id,
                        "name": t.teacher.name,
                        "room": t.teacher.room,
                        "slots": [
                            {"id": s.id, "start": _hm(s.starts_at), "end": _hm(s.ends_at)}
                            for s in t.free_slots
                        ],
                        "booking": _booking_view(t.my_booking) if t.HasField("my_booking") else None,
                        "key": uuid.uuid4().hex,
                    }
                    for t in oe.teachers
                ],
            }
        )
    mine = [_booking_view(b) for b in my_bookings(child.id)]
    return render_template(
        "meetings/index.html", evenings=evenings, bookings=mine, child=child, nav_active="meetings"
    )


@bp.post("/reunions/reserver")
@parent_page
def reserve():
    sess = require_session()
    child = current_child()
    slot_id = request.form.get("slot_id", "").strip()[:64]
    teacher_id = request.form.get("teacher_id", "").strip()[:64]
    anchor = f"enseignant-{teacher_id}" if teacher_id else None
    if not slot_id:
        flash(_("Choisissez un créneau avant de réserver."), "error")
        return redirect(url_for("meetings.index", _anchor=anchor), code=303)
    try:
        b = book(sess, child.id, slot_id, request.form.get("key", "").strip()[:200])
    except (Conflict, NotFound, InvalidRequest) as err:
        flash(_booking_error(err), "error")
    except AppError as err:
        if err.http_status < 500:
            raise
        flash(_booking_error(err), "error")
    else:
        flash(
            _(
                "Rendez-vous réservé avec %(teacher)s le %(day)s à %(time)s.",
                teacher=b.teacher_name,
                day=_day(b.slot.starts_at),
                time=_hm(b.slot.starts_at),
            ),
            "success",
        )
        anchor = "mes-rendez-vous"
    return redirect(url_for("meetings.index", _anchor=anchor), code=303)


@bp.post("/reunions/rendez-vous/<booking_id>/annuler")
@parent_page
def cancel_booking(booking_id: str):
    try:
        b = cancel(booking_id)
    except Conflict as err:
        if err.code == "booking_closed":
            flash(
                _(
                    "Ce rendez-vous ne peut plus être annulé : les réservations sont closes. Contactez l'école."
                ),
                "error",
            )
        else:
            flash(_("Le rendez-vous n'a pas pu être annulé."), "error")
    except NotFound:
        flash(_("Ce rendez-vous n'existe pas ou plus."), "error")
    else:
        flash(
            _(
                "Rendez-vous avec %(teacher)s du %(day)s à %(time)s annulé.",
                teacher=b.teacher_name,
                day=_day(b.slot.starts_at),
                time=_hm(b.slot.starts_at),
            ),
            "success",
        )
    return redirect(url_for("meetings.index", _anchor="mes-rendez-vous"), code=303)


# -- staff -----------------------------------------------------------------------------------------


def _timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SETTINGS"].meetings_timezone)


def _local_instant(value: str) -> str:
    """A ``datetime-local`` field (the school's wall-clock) as an RFC 3339 instant; as typed if odd."""
    value = (value or "").strip()
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (dt if dt.tzinfo else dt.replace(tzinfo=_timezone())).isoformat()


def _teacher_lines(text: str) -> list[dict]:
    """One teacher a line: ``Nom ; classes séparées par des virgules ; local (facultatif)``."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        classes = [
            c.strip() for c in (parts[1] if len(parts) > 1 else "").replace(" ", ",").split(",") if c.strip()
        ]
        out.append({"name": parts[0], "class_names": classes, "room": parts[2] if len(parts) > 2 else ""})
    return out


FORM_FIELDS = ("title", "date", "start_time", "end_time", "slot_minutes", "opens_at", "closes_at", "teachers")


def _form_errors(fields: dict[str, str]) -> dict[str, str]:
    messages = {
        "title": _("Indiquez un titre (200 caractères au plus)."),
        "date": _("Indiquez la date de la réunion."),
        "start_time": _("Indiquez l'heure de début (HH:MM)."),
        "end_time": _("L'heure de fin doit suivre l'heure de début (12 heures au plus)."),
        "slot_minutes": _("La durée d'un rendez-vous va de 5 à 60 minutes et doit tenir dans la soirée."),
        "opens_at": _("Indiquez quand les réservations s'ouvrent."),
        "closes_at": _(
            "Les réservations doivent se clore après leur ouverture et au plus tard au début de la réunion."
        ),
    }
    out: dict[str, str] = {}
    for key in fields:
        if key in messages:
            out[key] = messages[key]
        elif key.startswith("teachers["):
            n = int(key[len("teachers[") :].split("]")[0]) + 1
            out.setdefault("teachers", "")
            out["teachers"] += (" " if out["teachers"] else "") + _(
                "Ligne %(n)d : indiquez le nom (une seule fois) et au moins une classe.", n=n
            )
        elif key == "teachers":
            out["teachers"] = _("Indiquez au moins un enseignant.")
        else:
            out["form"] = _("Vérifiez le formulaire.")
    return out


@bp.route("/gestion/reunions", methods=["GET", "POST"])
@login_required
def staff_index():
    require_staff()
    errors: dict[str, str] = {}
    if request.method == "POST":
        f = request.form
        try:
            minutes = int(f.get("slot_minutes", "0") or 0)
        except ValueError:
            minutes = 0
        data = {
            "title": f.get("title", ""),
            "date": f.get("date", ""),
            "start_time": f.get("start_time", ""),
            "end_time": f.get("end_time", ""),
            "slot_minutes": minutes,
            "opens_at": _local_instant(f.get("opens_at", "")),
            "closes_at": _local_instant(f.get("closes_at", "")),
            "teachers": _teacher_lines(f.get("teachers", "")),
        }
        try:
            made = create_evening(evening_request(data))
        except InvalidRequest as err:
            errors = _form_errors(err.fields) or {"form": err.message}
        else:
            flash(
                _(
                    "Réunion « %(title)s » ouverte : %(n)d créneaux pour %(t)d enseignant(s).",
                    title=made.evening.title,
                    n=made.slot_count,
                    t=len(made.teachers),
                ),
                "success",
            )
            return redirect(url_for("meetings.staff_schedule", evening_id=made.evening.id), code=303)
    evenings = [
        {
            "id": s.evening.id,
            "title": s.evening.title,
            "day": _day(s.evening.date),
            "start": _hm(s.evening.starts_at),
            "end": _hm(s.evening.ends_at),
            "teachers": s.teacher_count,
            "slots": s.slot_count,
            "booked": s.booked_count,
        }
        for s in list_evenings()
    ]
    return render_template(
        "meetings/staff_index.html", evenings=evenings, errors=errors, form=request.form
    ), (400 if errors else 200)


@bp.get("/gestion/reunions/<evening_id>/horaire")
@login_required
def staff_schedule(evening_id: str):
    require_staff()
    teacher_id = request.args.get("enseignant", "").strip()[:64]
    resp = get_schedule(evening_id, teacher_id)
    everyone = get_schedule(evening_id).teachers if teacher_id else resp.teachers
    e = resp.evening
    teachers = [
        {
            "id": t.teacher.id,
            "name": t.teacher.name,
            "room": t.teacher.room,
            "classes": ", ".join(t.teacher.class_names),
            "slots": [
                {
                    "start": _hm(s.slot.starts_at),
                    "end": _hm(s.slot.ends_at),
                    "child": s.booking.child_name if s.HasField("booking") else "",
                    "class_name": s.booking.class_name if s.HasField("booking") else "",
                    "parent": s.booking.parent_name if s.HasField("booking") else "",
                }
                for s in t.slots
            ],
        }
        for t in resp.teachers
    ]
    return render_template(
        "meetings/schedule.html",
        evening={"id": e.id, "title": e.title, "day": _day(e.date)},
        teachers=teachers,
        everyone=[{"id": t.teacher.id, "name": t.teacher.name} for t in everyone],
        teacher_id=teacher_id,
    )
