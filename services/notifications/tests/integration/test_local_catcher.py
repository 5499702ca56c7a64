"""The token mail through the local run's catcher (devtools.mailcatcher): it lands as an .eml file."""

from __future__ import annotations

import pytest

from kit.service import make_consumer
from services.notifications.mailer import Mailer
from services.notifications.tests.conftest import drain, event_body, make_rt
from services.notifications.tests.integration.test_token_mail import TOKEN, token_event

mailcatcher = pytest.importorskip("devtools.mailcatcher")
mailbox = pytest.importorskip("devtools.mailbox")


def test_token_mails_in_three_languages_land_in_the_local_catchers_mailbox(databases, keys, clock, tmp_path):
    catcher = mailcatcher.start_catcher("127.0.0.1", 0, tmp_path / "mail")
    rt = make_rt(databases, keys, catcher.port, clock)
    try:
        consumer = make_consumer(rt)
        for n, lang in enumerate(("fr", "nl", "en")):
            ev = token_event(
                lang, account_id=f"acc-{lang}", email=f"parent-{lang}@example.be", username=f"user.{n}"
            )
            consumer.handle(event_body("auth.token.issued.v1", ev))
        mailer = Mailer.from_runtime(rt)
        assert [o.status for o in drain(mailer)] == ["sent"] * 3
        mailer.transport.close()
        expected = {"fr": "Jeton de connexion : ", "nl": "Verbindingscode: ", "en": "Connection token: "}
        for n, lang in enumerate(("fr", "nl", "en")):
            msg = mailbox.wait_for_message(
                tmp_path / "mail",
                lambda m, lang=lang: mailbox.envelope_recipients(m) == [f"parent-{lang}@example.be"],
            )
            text = mailbox.body_text(msg)
            assert msg["Content-Language"] == lang
            assert f"user.{n}" in text and expected[lang] + TOKEN in text
        assert len(mailbox.read_messages(tmp_path / "mail")) == 3
    finally:
        catcher.stop()
        rt.db.dispose()
