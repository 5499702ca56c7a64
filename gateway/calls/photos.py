"""Photos (documents) and putting an album on sale (orders): albums, photos and their files, staff's
uploads, publishing, withdrawals and offers. See services/documents/PHOTOS.md."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from flask import Response, request

from cartable.documents.v1 import documents_pb2
from gateway.calls import orders
from gateway.clients import rpc
from kit.errors import Conflict, InvalidRequest, NotFound

UPLOAD_TIMEOUT = 60  # seconds: decoding and resizing 20 MiB of photos
PHOTO_PAGE = 60
MAX_OFFERED_PHOTOS = 1000
# A photo's files never change (a new upload is a new photo), but a withdrawn photo must disappear at
# once, from every device: browsers keep the image yet ask each time, and a still-visible photo is
# answered 304 after a visibility check that reads no file.
IMAGE_CACHE = "private, no-cache"


def list_albums(child_id: str, limit: int = 50, cursor: str = ""):
    return rpc(
        "documents",
        "ListAlbums",
        documents_pb2.ListAlbumsRequest(student_id=child_id, limit=limit, cursor=cursor),
    )


def get_album(album_id: str, child_id: str, limit: int = PHOTO_PAGE, cursor: str = ""):
    return rpc(
        "documents",
        "GetAlbum",
        documents_pb2.GetAlbumRequest(album_id=album_id, student_id=child_id, limit=limit, cursor=cursor),
    )


def get_photo(photo_id: str, child_id: str):
    return rpc("documents", "GetPhoto", documents_pb2.GetPhotoRequest(photo_id=photo_id, student_id=child_id))


def photo_file(photo_id: str, variant: str) -> Response:
    """``thumbnail`` or ``display`` inline (kept by the browser, revalidated on each use), or
    ``download``: the full size as an attachment under the photo's file name."""
    etag = f"{photo_id}-{variant}"
    if variant != "download" and request.if_none_match.contains(etag):
        # still visible to this caller? (NotFound once withdrawn, or for another family); no file read
        rpc(
            "documents",
            "OpenPhoto",
            documents_pb2.OpenPhotoRequest(photo_id=photo_id, variant=variant, without_content=True),
        )
        unchanged = Response(status=304)
        unchanged.set_etag(etag)
        unchanged.headers["Cache-Control"] = IMAGE_CACHE
        return unchanged
    resp = rpc(
        "documents",
        "OpenPhoto",
        documents_pb2.OpenPhotoRequest(
            photo_id=photo_id, variant="full" if variant == "download" else variant
        ),
        timeout=10,
    )
    out = Response(resp.content, mimetype=resp.content_type or "image/jpeg")
    if variant == "download":
        name = resp.photo.filename or f"photo-{resp.photo.number}.jpg"
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
        out.headers["Content-Disposition"] = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        )
        out.headers["Cache-Control"] = "private, no-store"
    else:
        out.headers["Content-Disposition"] = "inline"
        out.headers["Cache-Control"] = IMAGE_CACHE
        out.set_etag(etag)
    out.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return out


def create_album(title: str, event: str, taken_on: str, class_names: list[str], publish: bool):
    return rpc(
        "documents",
        "CreateAlbum",
        documents_pb2.CreateAlbumRequest(
            title=title, event=event, taken_on=taken_on, class_names=class_names, publish=publish
        ),
    ).album


def publish_album(album_id: str):
    return rpc("documents", "PublishAlbum", documents_pb2.PublishAlbumRequest(album_id=album_id)).album


def add_photos(album_id: str, uploads, titles: list[str]):
    """The multipart ``files`` (several) with their optional ``titles`` (same order), all or nothing."""
    files = [f for f in uploads if f is not None and f.filename]
    if not files:
        raise InvalidRequest("choose at least one photo", fields={"files": "at least one JPEG or PNG file"})
    parts = [
        documents_pb2.PhotoUpload(
            filename=f.filename, content=f.read(), title=titles[i] if i < len(titles) else ""
        )
        for i, f in enumerate(files)
    ]
    return rpc(
        "documents",
        "AddPhotos",
        documents_pb2.AddPhotosRequest(album_id=album_id, files=parts),
        timeout=UPLOAD_TIMEOUT,
    ).photos


def _take_off_sale(photo_ids: list[str]) -> None:
    """The photos' items leave every ordering period's catalog. Done before the withdrawal in documents
    (both are idempotent): if orders cannot be reached the withdrawal fails whole and is tried again,
    so a withdrawn photo is never left on sale."""
    if photo_ids:
        orders.withdraw_items([f"photo:{i}" for i in photo_ids])


def withdraw_photo(photo_id: str) -> None:
    found = rpc("documents", "GetPhoto", documents_pb2.GetPhotoRequest(photo_id=photo_id))  # 404 first
    if found.album.offered_period_ids:
        _take_off_sale([photo_id])
    rpc("documents", "WithdrawPhoto", documents_pb2.WithdrawPhotoRequest(photo_id=photo_id))


def withdraw_album(album_id: str) -> int:
    page = get_album(album_id, "", limit=200)
    if page.album.offered_period_ids:
        ids = [p.id for p in page.photos]
        while page.next_cursor:
            page = get_album(album_id, "", limit=200, cursor=page.next_cursor)
            ids += [p.id for p in page.photos]
        _take_off_sale(ids)
    return rpc(
        "documents", "WithdrawAlbum", documents_pb2.WithdrawAlbumRequest(album_id=album_id)
    ).photo_count


def offerable_periods(album=None) -> list:
    """The school's ordering periods that have not closed yet (open now or to come); with ``album``,
    only those whose catalog reaches no class outside the album's (see ``offer_refusal``)."""
    now = datetime.now(UTC)
    periods = orders.list_periods()
    return [
        p
        for p in periods
        if _instant(p.closes_at) > now and (album is None or offer_refusal(album, p) != "classes_mismatch")
    ]


def offer_refusal(album, period) -> str | None:
    """Why ``album`` cannot go on sale in ``period``, else None. A period's catalog is shown to every
    class it serves: photos of some classes may only be sold in a period for those classes alone (a
    period for the whole school would show them to everyone); a draft is not on sale."""
    if not album.published_at:
        return "album_not_published"
    if album.class_names and (
        not period.class_names or not set(period.class_names) <= set(album.class_names)
    ):
        return "classes_mismatch"
    return None


def _instant(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def item_title(photo) -> str:
    label = f"Photo {photo.number}"
    return f"{label} – {photo.title}"[:300] if photo.title else label


def offer_album(album_id: str, period_id: str, price_cents: int, comment: str = "") -> list[tuple[str, str]]:
    """One catalog item per photo in the period (orders.AddItem), then the offer recorded here.
    [(photo_id, item_id)]; 409 ``already_offered``, ``period_closed``, ``album_empty``."""
    first = get_album(album_id, "", limit=200)
    if period_id in first.album.offered_period_ids:
        raise Conflict("this album is already offered in this period", code="already_offered")
    periods = orders.list_periods()
    period = next((p for p in periods if p.id == period_id), None)
    if period is None:
        raise NotFound("no such ordering period")
    if _instant(period.closes_at) <= datetime.now(UTC):
        raise Conflict("this ordering period has closed", code="period_closed")
    refusal = offer_refusal(first.album, period)
    if refusal == "album_not_published":
        raise Conflict("publish the album before offering it", code=refusal)
    if refusal == "classes_mismatch":
        raise Conflict(
            "the period serves classes that may not see this album: choose a period for its classes only",
            code=refusal,
        )
    photos, page = list(first.photos), first
    while page.next_cursor and len(photos) < MAX_OFFERED_PHOTOS:
        page = get_album(album_id, "", limit=200, cursor=page.next_cursor)
        photos += page.photos
    if not photos:
        raise Conflict("the album has no photo to offer", code="album_empty")
    if len(photos) > MAX_OFFERED_PHOTOS:
        raise InvalidRequest(
            "too many photos to offer", fields={"album": f"at most {MAX_OFFERED_PHOTOS} photos"}
        )
    subject = f"Photos – {first.album.title}"[:120]
    made = []
    for p in photos:
        item_id = orders.add_item(
            period_id,
            subject=subject,
            title=item_title(p),
            comment=comment,
            type="purchase",
            price_cents=price_cents,
            # a retry after a failure half-way adds each photo's item once
            key=f"album-offer:{album_id}:{period_id}:{p.id}",
            reference=f"photo:{p.id}",
        )
        made.append((p.id, item_id))
    rpc(
        "documents",
        "RecordAlbumOffer",
        documents_pb2.RecordAlbumOfferRequest(
            album_id=album_id, period_id=period_id, price_cents=price_cents, item_count=len(made)
        ),
    )
    return made
