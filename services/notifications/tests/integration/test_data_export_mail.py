"""The mail that a family's data export is ready (documents.data_export.ready.v1): to the parent it is
about, once, in their language, with the link to their account's "Mes données" page and the last day of download, and
never the file (no attachment, nothing of its contents: the event carries none)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cartable.documents.v1 import events_pb2 as documents_events
from cartable.events.v1 import envelope_pb2
from services.notifications.db import outgoing_mails
from services.notifications.tests.conftest import add_parent, choose, drain, event_body, html_of, text_of

READY = "documents.data_export.ready.v1"


@pytest.fixture
def parents(consumer):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-john", "john@example.be", "en", {"stu-emma": "Emma"}, "John Smith")
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"}, "Els Peeters")


def ready(parent: str = "acc-marie", school: str = "school-1", export_id: str = "exp-1") -> bytes:
    ev = documents_events.DataExportReady(
        export_id=export_id, parent_id=parent, expires_at="2026-12-05T14:00:00+00:00"
    )
    return event_body(READY, ev, school)


def queued(rt) -> int:
    with rt.db.unit_of_work() as s:
        return s.execute(select(func.count()).select_from(outgoing_mails)).scalar_one()


def test_the_parent_is_told_where_and_until_when_to_download_their_export(
    parents, consumer, mailer, smtp_catcher
):
    assert consumer.handle(ready()) == "handled"
    assert [o.status for o in drain(mailer)] == ["sent"]
    [(rcpt, msg)] = smtp_catcher.messages  # not John, Emma's other parent: the export is Marie's
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == "Votre export de données est prêt"
    assert msg["Content-Language"] == "fr"
    text = text_of(msg)
    assert "Bonjour Marie Dupont," in text
    assert "https://cartable.example/compte/donnees" in text
    assert "jusqu’au 5 décembre 2026 à 15:00 (heure de Bruxelles)" in text  # Brussels time
    html = html_of(msg)
    assert 'href="https://cartable.example/compte/donnees"' in html and "5 décembre 2026 à 15:00" in html
    # never the file: a text part and an HTML part, nothing attached, no link to the archive itself
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert not list(msg.iter_attachments())
    assert "exp-1" not in text + html and "/fichier" not in text + html and "/file" not in text + html


@pytest.mark.parametrize(
    ("parent", "address", "subject", "until"),
    [
        ("acc-els", "els@example.be", "Uw gegevensexport is klaar", "tot 5 december 2026 om 15:00"),
        ("acc-john", "john@example.be", "Your data export is ready", "until 5 December 2026 at 15:00"),
    ],
)
def test_the_mail_is_in_the_parents_language(
    parents, consumer, mailer, smtp_catcher, parent, address, subject, until
):
    assert consumer.handle(ready(parent)) == "handled"
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == [address] and msg["Subject"] == subject
    assert until in text_of(msg) and "https://cartable.example/compte/donnees" in text_of(msg)


def test_the_language_the_parent_chose_wins_and_no_switch_turns_the_mail_off(
    parents, consumer, mailer, smtp_catcher, notifications_rt
):
    choose(
        notifications_rt,
        "acc-marie",
        language="en",
        documents=False,
        invoices=False,
        payments=False,
        orders=False,
        meetings=False,
    )
    assert consumer.handle(ready()) == "handled"
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["marie@example.be"] and msg["Subject"] == "Your data export is ready"
    assert "You choose which e-mails" not in text_of(msg)  # asked for: not one of the optional mails


def test_a_redelivered_event_makes_one_mail(parents, consumer, mailer, smtp_catcher, notifications_rt):
    body = ready()
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    # Even past the inbox (the handler run twice), the unique (event_id, kind, recipient) holds.
    env = envelope_pb2.Envelope()
    env.ParseFromString(body)
    payload = documents_events.DataExportReady()
    env.payload.Unpack(payload)
    with notifications_rt.db.unit_of_work() as s:
        consumer.bindings[READY].handler(s, env, payload)
    assert queued(notifications_rt) == 1
    drain(mailer)
    assert [r for r, _m in smtp_catcher.messages] == [["marie@example.be"]]


def test_each_new_export_has_its_own_mail(parents, consumer, mailer, smtp_catcher):
    assert consumer.handle(ready(export_id="exp-1")) == "handled"
    assert consumer.handle(ready(export_id="exp-2")) == "handled"
    drain(mailer)
    assert [r for r, _m in smtp_catcher.messages] == [["marie@example.be"], ["marie@example.be"]]


def test_a_parent_unknown_to_the_book_or_of_another_school_gets_nothing(
    parents, consumer, mailer, smtp_catcher, notifications_rt
):
    assert consumer.handle(ready("acc-nobody")) == "handled"
    assert consumer.handle(ready("acc-marie", school="school-2")) == "handled"
    assert queued(notifications_rt) == 0
    assert drain(mailer) == [] and smtp_catcher.messages == []
