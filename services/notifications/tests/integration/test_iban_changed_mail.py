"""The school's IBAN changed (finance.settings.iban_changed.v1): one mail to every active manager of the
school, in their language, with the masked IBANs, who and when, and what to do if it was not them.
A security notice: no preference turns it off; a redelivered event makes no second mail."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select

from cartable.finance.v1 import events_pb2 as finance_events
from kit.service import make_consumer
from kit.testing import wait_for
from services.notifications.db import outgoing_mails
from services.notifications.mailer import Mailer
from services.notifications.tests.conftest import (
    SCHOOL,
    add_manager,
    add_parent,
    choose,
    drain,
    event_body,
    html_of,
    make_rt,
    staff_updated,
    text_of,
)

CHANGED = "finance.settings.iban_changed.v1"


def changed(actor: str = "boss-claire", old: str = "BE** **** **** 7034") -> finance_events.IbanChanged:
    return finance_events.IbanChanged(
        school_id=SCHOOL,
        account_id=actor,
        old_iban_masked=old,
        new_iban_masked="BE** **** **** 6769",
        old_iban_last4=old[-4:] if old else "",
        new_iban_last4="6769",
        changed_at="2026-12-01T21:32:00Z",
        school_name="École Sainte-Marie",
    )


@pytest.fixture
def staff(consumer):
    """Claire (fr) and Luc (nl) manage the school; Anne (en) did, and is disabled; another school has
    its own manager; a parent of the school is not a manager."""
    add_manager(consumer, "boss-claire", "claire@school.be", "fr", "Claire Direction")
    add_manager(consumer, "boss-luc", "luc@school.be", "nl", "Luc Peeters")
    add_manager(consumer, "boss-anne", "anne@school.be", "en", "Anne Smith")
    off = staff_updated("boss-anne", "anne@school.be", "Anne Smith", language="en", disabled=True)
    assert consumer.handle(event_body("auth.staff.updated.v1", off)) == "handled"
    add_manager(consumer, "boss-other", "boss@other.be", "fr", "Autre Direction", school="school-2")
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"}, "Marie Dupont")


def by_recipient(catcher) -> dict:
    return {rcpt[0]: msg for rcpt, msg in catcher.messages}


def test_every_active_manager_of_the_school_is_mailed_in_their_language(
    staff, consumer, mailer, smtp_catcher
):
    assert consumer.handle(event_body(CHANGED, changed())) == "handled"
    drain(mailer)
    got = by_recipient(smtp_catcher)
    # not the disabled manager, not another school's, not a parent
    assert sorted(got) == ["claire@school.be", "luc@school.be"]
    fr, nl = got["claire@school.be"], got["luc@school.be"]
    assert fr["Subject"] == "Sécurité : l’IBAN de l’école a été modifié (École Sainte-Marie)"
    assert fr["Content-Language"] == "fr" and nl["Content-Language"] == "nl"
    assert nl["Subject"] == "Beveiliging: het IBAN van de school is gewijzigd (École Sainte-Marie)"
    text = text_of(fr)
    for expected in (
        "Bonjour Claire Direction,",
        "Ancien IBAN : BE** **** **** 7034",
        "Nouvel IBAN : BE** **** **** 6769",
        "Modifié par : Claire Direction",
        # 21:32 UTC on 1 December is 22:32 in Brussels
        "Quand : 1 décembre 2026 à 22:32 (heure de Bruxelles)",
        "Prévenez sans attendre les autres gestionnaires",
        "changez votre mot de passe : https://cartable.example/mot-de-passe",
    ):
        assert expected in text, expected
    assert "Courriels" not in text  # not optional: no "choose your mails" footer
    assert "BE68539007547034" not in text + html_of(fr)  # masked only
    assert "Gewijzigd door: Claire Direction" in text_of(nl)
    assert "1 december 2026 om 22:32 (Brusselse tijd)" in text_of(nl)
    assert 'href="https://cartable.example/mot-de-passe"' in html_of(nl)


def test_an_actor_the_book_does_not_know_is_a_member_of_the_staff(staff, consumer, mailer, smtp_catcher):
    # the other school's manager is not named in this school's mail, nor is an unknown account
    for actor in ("boss-other", "someone-unknown"):
        consumer.handle(event_body(CHANGED, changed(actor=actor, old="")))
    drain(mailer)
    texts = [text_of(m) for rcpt, m in smtp_catcher.messages if rcpt == ["claire@school.be"]]
    assert len(texts) == 2
    for text in texts:
        assert "Modifié par : un membre de l’équipe" in text and "Ancien IBAN : aucun" in text
        assert "Autre Direction" not in text


def test_a_disabled_manager_enabled_again_is_mailed_again(staff, consumer, mailer, smtp_catcher):
    on = staff_updated("boss-anne", "anne@school.be", "Anne Smith", language="en")
    consumer.handle(event_body("auth.staff.updated.v1", on))
    consumer.handle(event_body(CHANGED, changed()))
    drain(mailer)
    assert sorted(by_recipient(smtp_catcher)) == ["anne@school.be", "claire@school.be", "luc@school.be"]
    assert "Changed by: Claire Direction" in text_of(by_recipient(smtp_catcher)["anne@school.be"])


def test_no_preference_turns_it_off(staff, consumer, mailer, smtp_catcher, notifications_rt):
    # even an account with every switch off (a manager has no preferences page; the rule holds anyway)
    choose(
        notifications_rt,
        "boss-luc",
        documents=False,
        invoices=False,
        payments=False,
        orders=False,
        meetings=False,
    )
    consumer.handle(event_body(CHANGED, changed()))
    drain(mailer)
    assert "luc@school.be" in by_recipient(smtp_catcher)


def test_the_event_delivered_twice_makes_one_mail_per_manager(staff, consumer, mailer, smtp_catcher):
    body = event_body(CHANGED, changed())
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    assert sorted(r[0] for r, _m in smtp_catcher.messages) == ["claire@school.be", "luc@school.be"]


@pytest.mark.broker
def test_both_routing_keys_reach_the_consumer_on_the_broker_and_twice_is_once(
    databases, keys, broker, smtp_catcher, clock, caplog
):
    """Through real RabbitMQ: the consumer binds its queue to auth.staff.updated.v1 and
    finance.settings.iban_changed.v1; each IBAN event published twice mails each manager once."""
    caplog.set_level(logging.INFO, logger="kit.bus")
    rt = make_rt(databases, keys, smtp_catcher.port, clock, broker)
    broker.queue("notifications.events")  # deleted with the namespace
    consumer = make_consumer(rt)
    consumer.declare_on(broker.url)
    staff_events = [
        event_body("auth.staff.updated.v1", staff_updated("boss-claire", "claire@school.be", "Claire D")),
        event_body(
            "auth.staff.updated.v1", staff_updated("boss-luc", "luc@school.be", "Luc P", language="nl")
        ),
    ]
    iban = event_body(CHANGED, changed())

    def publish(ch, key: str, bodies: list[bytes]) -> None:
        for body in bodies:
            ch.basic_publish(broker.exchange, key, body)

    def outcomes(name: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if getattr(r, "event_name", "") == name]

    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        broker.channel_call(lambda ch: publish(ch, "auth.staff.updated.v1", staff_events))
        wait_for(lambda: len(outcomes("auth.staff.updated.v1")) >= 2, 60, what="both managers handled")
        broker.channel_call(lambda ch: publish(ch, CHANGED, [iban, iban]))
        wait_for(
            lambda: len(outcomes(CHANGED)) >= 2,
            60,
            what="both deliveries handled",
            describe=lambda: outcomes(CHANGED),
        )
        stop.set()
        worker.join(30)
        assert not worker.is_alive()
        assert sorted(outcomes(CHANGED)) == ["event already handled", "event handled"]
        assert broker.message_count(consumer.queue) == 0
        with rt.db.unit_of_work() as s:
            assert s.execute(select(func.count()).select_from(outgoing_mails)).scalar_one() == 2
        m = Mailer.from_runtime(rt)
        drain(m)
        m.transport.close()
        assert sorted(r[0] for r, _m in smtp_catcher.messages) == ["claire@school.be", "luc@school.be"]
        assert "Gewijzigd door: Claire D" in text_of(by_recipient(smtp_catcher)["luc@school.be"])
    finally:
        stop.set()
        worker.join(10)
        rt.db.dispose()
