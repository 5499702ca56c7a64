"""Queries of photo albums, photos, the children tagged in them and photo consents (tables in db.py).

Photo consent (issue #21): a photo showing a child whose parent refused that other families see it
(``photo_consents.share_with_other_families`` false) is shown only to staff and to the parents whose
identity names that child; ``viewer`` is that identity's children (None for staff) and every query a
parent's call makes about photos takes it, so such a photo is, for anyone else, as if it did not
exist: not counted, not a cover, not a neighbour, not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import and_, delete, exists, func, or_, select, true, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.documents.db import (
    photo_album_classes,
    photo_album_offers,
    photo_albums,
    photo_consents,
    photo_subjects,
    photos,
)


def shown_to(viewer: Collection[str] | None):
    """The condition on ``photos`` of the photos ``viewer`` sees (None: staff, every photo): none of
    the children tagged in it is refused by their parents, unless the viewer is that child's family.
    One NOT EXISTS, correlated to ``photos``."""
    if viewer is None:
        return true()
    ps, pc = photo_subjects, photo_consents
    refused = (
        select(ps.c.photo_id)
        .join(pc, and_(pc.c.school_id == ps.c.school_id, pc.c.student_id == ps.c.student_id))
        .where(ps.c.photo_id == photos.c.id, pc.c.share_with_other_families.is_(False))
    )
    if viewer:
        refused = refused.where(ps.c.student_id.not_in(list(viewer)))
    return ~exists(refused)


# -- album queries ---------------------------------------------------------------------------------


def visible_albums(school_id: str, audience: list[str] | None):
    """The condition on ``photo_albums`` of the albums an audience sees: None for staff (every album of
    their school, drafts included); else the classes whose published albums count, with the albums for
    the whole school (no class)."""
    a, c = photo_albums, photo_album_classes
    conds = [a.c.school_id == school_id, a.c.withdrawn_at.is_(None)]
    if audience is not None:
        for_classes = select(c.c.album_id).where(c.c.album_id == a.c.id)
        conds += [
            a.c.published_at.is_not(None),
            or_(~exists(for_classes), exists(for_classes.where(c.c.class_name.in_(audience)))),
        ]
    return and_(*conds)


def find_album(s: Session, school_id: str, album_id: str, audience: list[str] | None, *, lock: bool = False):
    q = select(photo_albums).where(photo_albums.c.id == album_id, visible_albums(school_id, audience))
    if lock:
        q = q.with_for_update()
    return s.execute(q).first()


def album_page(
    s: Session,
    school_id: str,
    audience: list[str] | None,
    limit: int,
    offset: int,
    viewer: Collection[str] | None = None,
) -> Sequence[Row]:
    """Up to ``limit`` visible albums from ``offset``, newest first, each with its ``photo_count`` of
    the photos ``viewer`` sees; for parents (an audience) only those with photos."""
    a = photo_albums
    counts = (
        select(photos.c.album_id, func.count().label("n"))
        .where(photos.c.school_id == school_id, photos.c.withdrawn_at.is_(None), shown_to(viewer))
        .group_by(photos.c.album_id)
        .subquery()
    )
    n = func.coalesce(counts.c.n, 0)
    q = (
        select(a, n.label("photo_count"))
        .outerjoin(counts, counts.c.album_id == a.c.id)
        .where(visible_albums(school_id, audience))
    )
    if audience is not None:
        q = q.where(n > 0)
    q = q.order_by(func.coalesce(a.c.published_at, a.c.created_at).desc(), a.c.id).limit(limit).offset(offset)
    return s.execute(q).all()


def album_classes(s: Session, album_ids: list[str]) -> dict[str, list[str]]:
    """Each album's classes, sorted (no entry: the whole school)."""
    out: dict[str, list[str]] = {}
    for r in s.execute(
        select(photo_album_classes)
        .where(photo_album_classes.c.album_id.in_(album_ids))
        .order_by(photo_album_classes.c.class_name)
    ):
        out.setdefault(r.album_id, []).append(r.class_name)
    return out


def album_covers(s: Session, album_ids: list[str], viewer: Collection[str] | None = None) -> dict:
    """Each album's first live photo ``viewer`` sees (no entry: none)."""
    first = (
        select(photos.c.album_id, func.min(photos.c.number).label("n"))
        .where(photos.c.album_id.in_(album_ids), photos.c.withdrawn_at.is_(None), shown_to(viewer))
        .group_by(photos.c.album_id)
        .subquery()
    )
    return {
        r.album_id: r
        for r in s.execute(
            select(photos).join(
                first, and_(first.c.album_id == photos.c.album_id, first.c.n == photos.c.number)
            )
        )
    }


def album_offers(s: Session, album_ids: list[str]) -> dict[str, list[str]]:
    """The ordering periods each album was offered in, in the order it was offered."""
    out: dict[str, list[str]] = {}
    for r in s.execute(
        select(photo_album_offers.c.album_id, photo_album_offers.c.period_id)
        .where(photo_album_offers.c.album_id.in_(album_ids))
        .order_by(photo_album_offers.c.offered_at)
    ):
        out.setdefault(r.album_id, []).append(r.period_id)
    return out


def insert_album(
    s: Session,
    *,
    album_id: str,
    school_id: str,
    title: str,
    event: str,
    taken_on: date | None,
    class_names: list[str],
    created_by: str,
    created_at: datetime,
    published_at: datetime | None,
) -> None:
    s.execute(
        photo_albums.insert().values(
            id=album_id,
            school_id=school_id,
            title=title,
            event=event,
            taken_on=taken_on,
            created_by=created_by,
            created_at=created_at,
            published_at=published_at,
            withdrawn_at=None,
            withdrawn_by=None,
            next_number=1,
        )
    )
    if class_names:
        s.execute(
            photo_album_classes.insert(), [{"album_id": album_id, "class_name": c} for c in class_names]
        )


def publish_album(s: Session, album_id: str, at: datetime) -> None:
    s.execute(
        update(photo_albums)
        .where(photo_albums.c.id == album_id, photo_albums.c.published_at.is_(None))
        .values(published_at=at)
    )


def class_names_of(s: Session, album_id: str) -> list[str]:
    return list(
        s.execute(select(photo_album_classes.c.class_name).where(photo_album_classes.c.album_id == album_id))
        .scalars()
        .all()
    )


def withdraw_album(s: Session, album_id: str, by: str, at: datetime) -> Sequence[Row]:
    """The album and its live photos withdrawn; the blob keys of those photos (a row each)."""
    live = and_(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None))
    keys = s.execute(select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(live)).all()
    s.execute(update(photos).where(live).values(withdrawn_at=at, withdrawn_by=by))
    s.execute(
        update(photo_albums).where(photo_albums.c.id == album_id).values(withdrawn_at=at, withdrawn_by=by)
    )
    return keys


def insert_offer(
    s: Session, album_id: str, period_id: str, price_cents: int, item_count: int, by: str, at: datetime
) -> None:
    """Raises IntegrityError when the album is already offered in the period."""
    s.execute(
        photo_album_offers.insert().values(
            album_id=album_id,
            period_id=period_id,
            price_cents=price_cents,
            item_count=item_count,
            offered_by=by,
            offered_at=at,
        )
    )


# -- photo queries ---------------------------------------------------------------------------------


def live_photo_count(s: Session, album_id: str, viewer: Collection[str] | None = None) -> int:
    return s.execute(
        select(func.count()).where(
            photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None), shown_to(viewer)
        )
    ).scalar_one()


def photos_after(
    s: Session, album_id: str, after: int, limit: int, viewer: Collection[str] | None = None
) -> Sequence[Row]:
    """Up to ``limit`` live photos ``viewer`` sees of the album numbered after ``after``, in upload
    order."""
    return s.execute(
        select(photos)
        .where(
            photos.c.album_id == album_id,
            photos.c.withdrawn_at.is_(None),
            photos.c.number > after,
            shown_to(viewer),
        )
        .order_by(photos.c.number)
        .limit(limit)
    ).all()


def find_live_photo(s: Session, school_id: str, photo_id: str, viewer: Collection[str] | None = None):
    return s.execute(
        select(photos).where(
            photos.c.id == photo_id,
            photos.c.school_id == school_id,
            photos.c.withdrawn_at.is_(None),
            shown_to(viewer),
        )
    ).first()


def neighbours(
    s: Session, album_id: str, number: int, viewer: Collection[str] | None = None
) -> tuple[str | None, str | None]:
    """The ids of the live photos ``viewer`` sees just before and just after ``number`` in the album
    (or None)."""
    live = and_(photos.c.album_id == album_id, photos.c.withdrawn_at.is_(None), shown_to(viewer))
    prev_id = s.execute(
        select(photos.c.id).where(live, photos.c.number < number).order_by(photos.c.number.desc()).limit(1)
    ).scalar_one_or_none()
    next_id = s.execute(
        select(photos.c.id).where(live, photos.c.number > number).order_by(photos.c.number).limit(1)
    ).scalar_one_or_none()
    return prev_id, next_id


def insert_photos(s: Session, album_id: str, rows: list[dict], next_number: int) -> None:
    """New photo rows, and the album's number for the next upload."""
    s.execute(photos.insert(), rows)
    s.execute(update(photo_albums).where(photo_albums.c.id == album_id).values(next_number=next_number))


def withdraw_photo(s: Session, photo_id: str, by: str, at: datetime) -> None:
    s.execute(
        update(photos)
        .where(photos.c.id == photo_id, photos.c.withdrawn_at.is_(None))
        .values(withdrawn_at=at, withdrawn_by=by)
    )


def withdrawn_photo_keys(s: Session) -> Sequence[Row]:
    """The blob keys of every withdrawn photo (a row each)."""
    return s.execute(
        select(photos.c.thumb_key, photos.c.display_key, photos.c.full_key).where(
            photos.c.withdrawn_at.is_not(None)
        )
    ).all()


# -- children in photos and consents -----------------------------------------------------------------


def subjects_of(s: Session, photo_ids: list[str]) -> dict[str, list[str]]:
    """The children tagged in each photo, sorted (no entry: none)."""
    out: dict[str, list[str]] = {}
    if not photo_ids:
        return out
    ps = photo_subjects
    for r in s.execute(
        select(ps.c.photo_id, ps.c.student_id)
        .where(ps.c.photo_id.in_(photo_ids))
        .order_by(ps.c.photo_id, ps.c.student_id)
    ):
        out.setdefault(r.photo_id, []).append(r.student_id)
    return out


def replace_subjects(
    s: Session, school_id: str, photo_id: str, student_ids: list[str], by: str, at: datetime
) -> None:
    """The photo's children become ``student_ids``; a child tagged before keeps their tag's date."""
    ps = photo_subjects
    s.execute(delete(ps).where(ps.c.photo_id == photo_id, ps.c.student_id.not_in(student_ids)))
    kept = set(s.execute(select(ps.c.student_id).where(ps.c.photo_id == photo_id)).scalars())
    new = [sid for sid in student_ids if sid not in kept]
    if new:
        s.execute(
            ps.insert(),
            [
                {
                    "photo_id": photo_id,
                    "student_id": sid,
                    "school_id": school_id,
                    "tagged_by": by,
                    "tagged_at": at,
                }
                for sid in new
            ],
        )


def consents(s: Session, school_id: str, student_ids: list[str] | None) -> Sequence[Row]:
    """The recorded consents of ``student_ids`` in the school (None: every one recorded there)."""
    pc = photo_consents
    q = select(pc).where(pc.c.school_id == school_id)
    if student_ids is not None:
        q = q.where(pc.c.student_id.in_(student_ids))
    return s.execute(q.order_by(pc.c.student_id)).all()


def set_consent(s: Session, school_id: str, student_id: str, share: bool, by: str, at: datetime) -> None:
    """Record a child's consent (one row per child of a school, replaced)."""
    pc = photo_consents
    mine = and_(pc.c.school_id == school_id, pc.c.student_id == student_id)
    values = {"share_with_other_families": share, "updated_at": at, "updated_by": by}
    if s.execute(update(pc).where(mine).values(**values)).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with s.begin_nested():
            s.execute(pc.insert().values(school_id=school_id, student_id=student_id, **values))
    except IntegrityError:  # the child's first choice recorded twice at once: the last one stands
        s.execute(update(pc).where(mine).values(**values))
