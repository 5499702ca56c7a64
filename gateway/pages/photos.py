"""Web pages: photos.

Parents: /photos (the albums of the active child's class and of the whole school), /photos/albums/<id>
(a grid of small thumbnails, lazily loaded, 60 a page), /photos/<id> (one photo at display size with
the previous and next ones and "Télécharger"). The image files themselves: /photos/<id>/miniature,
/image and /telecharger. Staff: /gestion/photos (albums, a form to create one) and
/gestion/photos/albums/<id> (upload several photos at once, publish, withdraw a photo or the album,
offer it in an ordering period).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.calls.account import list_students
from gateway.calls.photos import (
    PHOTO_PAGE,
    add_photos,
    create_album,
    get_album,
    get_photo,
    list_albums,
    offer_album,
    offerable_periods,
    photo_file,
    publish_album,
    withdraw_album,
    withdraw_photo,
)
from gateway.i18n import form_cents
from gateway.pages.account import current_child, login_required, parent_page
from gateway.web import error_response, load_session, require_staff
from kit.errors import AppError, Conflict, InvalidRequest, NotFound, TooLarge

bp = Blueprint("photos", __name__)


def _day(iso: str) -> str:
    try:
        return format_date(date.fromisoformat(iso[:10]), format="long")
    except ValueError:
        return ""


def alt_text(photo, album_title: str) -> str:
    """What a screen reader says for a photo: its number (what parents order by) and its title, else
    its number in the album."""
    if photo.title:
        return _("Photo %(n)d : %(title)s", n=photo.number, title=photo.title)
    return _("Photo %(n)d de l'album « %(album)s »", n=photo.number, album=album_title)


def _photo_view(p, album_title: str) -> dict:
    return {
        "id": p.id,
        "number": p.number,
        "title": p.title,
        "alt": alt_text(p, album_title),
        "width": p.width,
        "height": p.height,
        "thumb_width": p.thumb_width,
        "thumb_height": p.thumb_height,
        "size_kb": max(1, round(p.size_bytes / 1024)),
    }


def _album_view(a) -> dict:
    return {
        "id": a.id,
        "title": a.title,
        "event": a.event,
        "day": _day(a.taken_on) if a.taken_on else "",
        "classes": ", ".join(a.class_names),
        "photo_count": a.photo_count,
        "draft": not a.published_at,
        "cover": _photo_view(a.cover, a.title) if a.HasField("cover") else None,
        "offered_period_ids": list(a.offered_period_ids),
    }


def _cursor() -> str:
    value = request.args.get("apres", "")
    return value if value.isdigit() and len(value) < 10 else ""


# -- parents ---------------------------------------------------------------------------------------


@bp.get("/photos")
@parent_page
def index():
    child = current_child()
    resp = list_albums(child.id, limit=50, cursor=_cursor())
    return render_template(
        "photos/index.html",
        albums=[_album_view(a) for a in resp.albums],
        child=child,
        next_cursor=resp.next_cursor,
        first_page=not _cursor(),
        nav_active="photos",
    )


@bp.get("/photos/albums/<album_id>")
@parent_page
def album(album_id: str):
    child = current_child()
    resp = get_album(album_id, child.id, PHOTO_PAGE, _cursor())
    a = _album_view(resp.album)
    return render_template(
        "photos/album.html",
        album=a,
        photos=[_photo_view(p, a["title"]) for p in resp.photos],
        next_cursor=resp.next_cursor,
        first_page=not _cursor(),
        nav_active="photos",
    )


@bp.get("/photos/<photo_id>")
@parent_page
def photo(photo_id: str):
    child = current_child()
    resp = get_photo(photo_id, child.id)
    a = _album_view(resp.album)
    return render_template(
        "photos/photo.html",
        album=a,
        photo=_photo_view(resp.photo, a["title"]),
        previous_id=resp.previous_photo_id,
        next_id=resp.next_photo_id,
        nav_active="photos",
    )


@bp.get("/photos/<photo_id>/miniature")
@login_required
def thumbnail(photo_id: str):
    return photo_file(photo_id, "thumbnail")


@bp.get("/photos/<photo_id>/image")
@login_required
def display(photo_id: str):
    return photo_file(photo_id, "display")


@bp.get("/photos/<photo_id>/telecharger")
@login_required
def download(photo_id: str):
    return photo_file(photo_id, "download")


# -- staff -----------------------------------------------------------------------------------------


def _classes() -> list[str]:
    students = list_students()
    return sorted({s.class_name for s in students if s.class_name})


def _album_errors(fields: dict[str, str]) -> dict[str, str]:
    messages = {
        "title": _("Indiquez un titre (200 caractères au plus)."),
        "event": _("L'évènement compte 200 caractères au plus."),
        "taken_on": _("Indiquez une date valable."),
        "class_names": _("Choisissez des classes existantes."),
    }
    return {k: messages.get(k, _("Vérifiez le formulaire.")) for k in fields} or {
        "form": _("Vérifiez le formulaire.")
    }


@bp.route("/gestion/photos", methods=["GET", "POST"])
@login_required
def staff_index():
    require_staff()
    errors: dict[str, str] = {}
    if request.method == "POST":
        f = request.form
        try:
            made = create_album(
                f.get("title", ""),
                f.get("event", ""),
                f.get("taken_on", ""),
                f.getlist("class_names"),
                publish=False,
            )
        except InvalidRequest as err:
            errors = _album_errors(err.fields)
        else:
            flash(
                _("Album « %(title)s » créé. Ajoutez-y des photos, puis publiez-le.", title=made.title),
                "success",
            )
            return redirect(url_for("photos.staff_album", album_id=made.id), code=303)
    albums = [_album_view(a) for a in list_albums("", limit=200).albums]
    return render_template(
        "photos/staff_index.html", albums=albums, classes=_classes(), errors=errors, form=request.form
    ), (400 if errors else 200)


def _staff_album_page(album_id: str, errors: dict[str, str] | None = None, status: int = 200, form=None):
    resp = get_album(album_id, "", limit=200, cursor=_cursor())
    a = _album_view(resp.album)
    try:
        periods = [p for p in offerable_periods(resp.album) if p.id not in a["offered_period_ids"]]
    except AppError:
        periods = []  # orders unavailable: the offer form waits
    return render_template(
        "photos/staff_album.html",
        album=a,
        photos=[_photo_view(p, a["title"]) for p in resp.photos],
        next_cursor=resp.next_cursor,
        periods=periods,
        errors=errors or {},
        form=form or {},
    ), status


@bp.get("/gestion/photos/albums/<album_id>")
@login_required
def staff_album(album_id: str):
    require_staff()
    return _staff_album_page(album_id)


@bp.post("/gestion/photos/albums/<album_id>/photos")
@login_required
def staff_upload(album_id: str):
    require_staff()
    try:
        made = add_photos(album_id, request.files.getlist("files"), [])
    except TooLarge:
        return _staff_album_page(album_id, {"files": _too_large()}, 413)
    except InvalidRequest as err:
        refused = [v for k, v in sorted(err.fields.items()) if k.startswith("files[")]
        message = (
            _(
                "Aucune photo n'a été ajoutée. Fichiers refusés (JPEG ou PNG lisibles uniquement) : %(names)s.",
                names=", ".join(v.split(": ", 1)[0] for v in refused),
            )
            if refused
            else _("Choisissez au moins une photo (JPEG ou PNG).")
        )
        return _staff_album_page(album_id, {"files": message}, 400)
    flash(ngettext("%(num)d photo ajoutée.", "%(num)d photos ajoutées.", len(made)), "success")
    return redirect(url_for("photos.staff_album", album_id=album_id), code=303)


def _too_large() -> str:
    return _("Trop lourd : envoyez au plus 20 Mo de photos à la fois (en plusieurs envois si besoin).")


@bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_exc):
    """More than the gateway's 20 MiB a request (refused before the view runs, by the CSRF check): the
    album page says so, instead of a bare error page."""
    err = TooLarge(_too_large())
    if request.endpoint == "photos.staff_upload" and load_session() is not None:
        try:
            require_staff()
            return _staff_album_page(
                (request.view_args or {}).get("album_id", ""), {"files": err.message}, 413
            )
        except AppError:
            pass
    return error_response(err)


@bp.post("/gestion/photos/albums/<album_id>/publier")
@login_required
def staff_publish(album_id: str):
    require_staff()
    a = publish_album(album_id)
    flash(_("Album « %(title)s » publié : les parents le voient.", title=a.title), "success")
    return redirect(url_for("photos.staff_album", album_id=album_id), code=303)


@bp.post("/gestion/photos/<photo_id>/retirer")
@login_required
def staff_withdraw_photo(photo_id: str):
    require_staff()
    album_id = request.form.get("album_id", "")[:64]
    try:
        withdraw_photo(photo_id)
    except NotFound:
        flash(_("Cette photo a déjà été retirée."), "error")
    else:
        flash(_("Photo retirée."), "success")
    if album_id:
        return redirect(url_for("photos.staff_album", album_id=album_id), code=303)
    return redirect(url_for("photos.staff_index"), code=303)


@bp.post("/gestion/photos/albums/<album_id>/retirer")
@login_required
def staff_withdraw_album(album_id: str):
    require_staff()
    n = withdraw_album(album_id)
    flash(ngettext("Album retiré avec sa photo.", "Album retiré avec ses %(num)d photos.", n), "success")
    return redirect(url_for("photos.staff_index"), code=303)


@bp.post("/gestion/photos/albums/<album_id>/vente")
@login_required
def staff_offer(album_id: str):
    require_staff()
    period_id = request.form.get("period_id", "").strip()[:64]
    try:
        cents = form_cents(request.form.get("price", ""), message="not an amount")
    except InvalidRequest:  # "abc", "nan", "inf", empty
        cents = -1
    if not period_id or not 0 <= cents <= 10_000_000:
        return _staff_album_page(
            album_id,
            {"offer": _("Choisissez une période de commande et un prix (par exemple 3,50).")},
            400,
            request.form,
        )
    try:
        made = offer_album(album_id, period_id, cents, request.form.get("comment", "").strip()[:2000])
    except Conflict as err:
        message = {
            "already_offered": _("Cet album est déjà en vente dans cette période."),
            "period_closed": _("Cette période de commande est close."),
            "album_empty": _("L'album n'a pas encore de photo."),
            "album_not_published": _("Publiez l'album avant de le mettre en vente."),
            "classes_mismatch": _(
                "Cette période sert des classes qui ne voient pas cet album : "
                "choisissez une période réservée à ses classes."
            ),
            "idempotency_key_reused": _(
                "Une mise en vente interrompue de cet album a commencé à un autre prix : "
                "reprenez-la au même prix."
            ),
        }.get(err.code, err.message)
        return _staff_album_page(album_id, {"offer": message}, 409, request.form)
    except NotFound:
        return _staff_album_page(
            album_id, {"offer": _("Cette période de commande n'existe pas.")}, 404, request.form
        )
    flash(ngettext("%(num)d photo mise en vente.", "%(num)d photos mises en vente.", len(made)), "success")
    return redirect(url_for("photos.staff_album", album_id=album_id), code=303)
