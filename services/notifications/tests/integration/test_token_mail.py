"""The connection-token mail (auth.token.issued.v1) over a real SMTP conversation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from services.notifications.db import outgoing_mails
from services.notifications.tests.conftest import add_parent, choose, drain, event_body, html_of, text_of

TOKEN = "Zq7-vX2p-Lm9Tk4R-wQ8eHs"
EXPIRES = int(datetime(2026, 12, 12, 13, 30, tzinfo=UTC).timestamp())  # 14:30 in Brussels


def token_event(language: str = "fr", reason: str = "created", **kw) -> auth_events.TokenIssued:
    values: dict[str, Any] = dict(
        account_id="acc-marie",
        username="marie.dupont",
        email="marie@example.be",
        display_name="Marie Dupont",
        language=language,
        token=TOKEN,
        reason=reason,
        expires_at=EXPIRES,
    )
    values.update(kw)
    return auth_events.TokenIssued(**values)


@pytest.mark.parametrize(
    ("language", "subject", "words"),
    [
        (
            "fr",
            "Vos identifiants Cartable",
            ["Nom d’utilisateur : marie.dupont", "Jeton de connexion : " + TOKEN, "12 décembre 2026 à 14:30"],
        ),
        (
            "nl",
            "Uw Cartable-aanmeldgegevens",
            ["Gebruikersnaam: marie.dupont", "Verbindingscode: " + TOKEN, "12 december 2026 om 14:30"],
        ),
        (
            "en",
            "Your Cartable sign-in details",
            ["Username: marie.dupont", "Connection token: " + TOKEN, "12 December 2026 at 14:30"],
        ),
    ],
)
def test_token_mail_arrives_with_username_and_token_in_the_parents_language(
    consumer, mailer, smtp_catcher, language, subject, words
):
    assert consumer.handle(event_body("auth.token.issued.v1", token_event(language))) == "handled"
    assert [o.status for o in drain(mailer)] == ["sent"]

    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == subject
    assert msg["To"] == "Marie Dupont <marie@example.be>"
    assert msg["From"] == "École Sainte-Marie via Cartable <no-reply@cartable.example>"
    assert msg["Content-Language"] == language
    assert msg["Message-ID"].endswith("@cartable.example>")
    assert msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    text, html = text_of(msg), html_of(msg)
    for w in words:
        assert w in text
    assert "https://cartable.example/jeton" in text
    assert TOKEN in html and "marie.dupont" in html and 'href="https://cartable.example/jeton"' in html
    assert f'<html lang="{language}">' in html
    assert TOKEN not in msg["Subject"]


def test_token_mail_wording_follows_the_reason(consumer, mailer, smtp_catcher):
    for reason in ("reissued", "password_reset"):
        consumer.handle(event_body("auth.token.issued.v1", token_event("fr", reason)))
    drain(mailer)
    subjects = sorted(m["Subject"] for _r, m in smtp_catcher.messages)
    assert subjects == [
        "Cartable : votre nouveau jeton de connexion",
        "Cartable : votre nouveau jeton pour redéfinir votre mot de passe",
    ]
    by_subject = {m["Subject"]: text_of(m) for _r, m in smtp_catcher.messages}
    assert (
        "Le jeton précédent ne fonctionne plus" in by_subject["Cartable : votre nouveau jeton de connexion"]
    )
    assert (
        "Vous avez demandé à redéfinir votre mot de passe"
        in by_subject["Cartable : votre nouveau jeton pour redéfinir votre mot de passe"]
    )


def test_token_mail_is_sent_once_when_the_event_is_delivered_twice(consumer, mailer, smtp_catcher):
    body = event_body("auth.token.issued.v1", token_event())
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    assert len(smtp_catcher.messages) == 1


def test_language_the_parent_chose_wins_over_the_one_in_the_token_event(
    consumer, mailer, smtp_catcher, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    choose(notifications_rt, "acc-marie", language="nl")
    consumer.handle(event_body("auth.token.issued.v1", token_event("fr", "password_reset")))
    drain(mailer)
    [(_rcpt, msg)] = smtp_catcher.messages
    assert msg["Content-Language"] == "nl"


def test_token_never_reaches_the_logs_and_leaves_no_copy_once_sent(
    consumer, mailer, smtp_catcher, notifications_rt, caplog
):
    caplog.set_level(logging.WARNING, logger="mail.log")  # the test's own SMTP catcher traces DATA
    caplog.set_level(logging.DEBUG)  # last: set_level also sets the capturing handler's level
    consumer.handle(event_body("auth.token.issued.v1", token_event()))
    drain(mailer)
    assert len(smtp_catcher.messages) == 1
    assert caplog.records, "the handler and mailer do log"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.__dict__)
    assert TOKEN not in caplog.text
    with notifications_rt.db.unit_of_work() as s:
        row = s.execute(select(outgoing_mails)).mappings().one()
    assert row["status"] == "sent"
    assert TOKEN not in row["text_body"] + row["html_body"] + row["subject"]


def test_token_mail_goes_even_when_the_parent_turned_every_other_mail_off(
    consumer, mailer, smtp_catcher, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    choose(notifications_rt, "acc-marie", documents=False, invoices=False, payments=False, orders=False)
    consumer.handle(event_body("auth.token.issued.v1", token_event(reason="password_reset")))
    drain(mailer)
    assert len(smtp_catcher.messages) == 1
