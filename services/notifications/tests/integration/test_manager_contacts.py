"""The managers' contact book: each school's staff as auth announces them (auth.staff.updated.v1), so a
security mail (the IBAN changed) reaches every manager. Upserted by account id; a disabled manager is
kept but marked, so nothing is sent to them; a redelivered event changes nothing (the inbox)."""

from __future__ import annotations

from sqlalchemy import select

from services.notifications import db
from services.notifications.tests.conftest import SCHOOL, event_body, staff_updated


def book(rt) -> dict[str, dict]:
    with rt.db.unit_of_work() as s:
        rows = s.execute(select(db.managers)).mappings().all()
    return {
        r["account_id"]: {k: v for k, v in r.items() if k not in ("account_id", "updated_at")} for r in rows
    }


def active(rt, school_id: str = SCHOOL) -> list[str]:
    with rt.db.unit_of_work() as s:
        return [m.email for m in db.active_managers(s, school_id)]


def test_a_staff_account_announced_by_auth_enters_the_managers_book(consumer, notifications_rt):
    body = event_body(
        "auth.staff.updated.v1", staff_updated("boss-1", "claire@school.be", "Claire Direction")
    )
    assert consumer.handle(body) == "handled"
    assert book(notifications_rt) == {
        "boss-1": {
            "school_id": SCHOOL,
            "email": "claire@school.be",
            "display_name": "Claire Direction",
            "language": "fr",
            "disabled": False,
        }
    }
    assert active(notifications_rt) == ["claire@school.be"]


def test_the_book_follows_the_account_and_keeps_one_row_per_account(consumer, notifications_rt):
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("boss-1", "claire@school.be")))
    changed = staff_updated("boss-1", "c.direction@school.be", "Claire Dupont", language="nl-BE")
    assert consumer.handle(event_body("auth.staff.updated.v1", changed)) == "handled"
    row = book(notifications_rt)["boss-1"]
    assert (row["email"], row["display_name"], row["language"]) == (
        "c.direction@school.be",
        "Claire Dupont",
        "nl",
    )
    assert len(book(notifications_rt)) == 1


def test_an_unknown_language_reads_as_french(consumer, notifications_rt):
    consumer.handle(
        event_body("auth.staff.updated.v1", staff_updated("boss-1", "c@school.be", language="de"))
    )
    assert book(notifications_rt)["boss-1"]["language"] == "fr"


def test_a_disabled_manager_is_kept_but_marked_and_enabled_again_is_active(consumer, notifications_rt):
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("boss-1", "claire@school.be")))
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("luc-1", "luc@school.be")))
    off = event_body("auth.staff.updated.v1", staff_updated("luc-1", "luc@school.be", disabled=True))
    assert consumer.handle(off) == "handled"
    assert book(notifications_rt)["luc-1"]["disabled"] is True
    assert active(notifications_rt) == ["claire@school.be"]
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("luc-1", "luc@school.be")))
    assert sorted(active(notifications_rt)) == ["claire@school.be", "luc@school.be"]


def test_each_school_has_its_own_managers(consumer, notifications_rt):
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("boss-1", "claire@school.be")))
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("boss-2", "ann@other.be"), "school-2"))
    assert active(notifications_rt) == ["claire@school.be"]
    assert active(notifications_rt, "school-2") == ["ann@other.be"]


def test_a_redelivered_event_is_handled_once(consumer, notifications_rt):
    consumer.handle(event_body("auth.staff.updated.v1", staff_updated("boss-1", "claire@school.be")))
    later = event_body("auth.staff.updated.v1", staff_updated("boss-1", "new@school.be"))
    assert consumer.handle(later) == "handled"
    disabled = event_body("auth.staff.updated.v1", staff_updated("boss-1", "new@school.be", disabled=True))
    assert consumer.handle(disabled) == "handled"
    # the earlier event delivered again: the inbox knows it, the book stays as the latest said
    assert consumer.handle(later) == "duplicate"
    assert book(notifications_rt)["boss-1"]["disabled"] is True
