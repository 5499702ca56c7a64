"""The mailer logs in to a relay that requires it, with the credentials of SMTP_URL."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kit.service import make_consumer
from services.notifications.mailer import Mailer
from services.notifications.tests.conftest import CatchingHandler, add_parent, drain, free_port, make_rt
from services.notifications.tests.integration.test_mail_failures import _document, _mails

# A relay that demands AUTH over plain text is what the test needs; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer@school",
        b"s3cr:t",
    )
    return AuthResult(success=ok, handled=False)


def _relay_requiring_auth() -> tuple[CatchingHandler, Controller]:
    """A started SMTP relay that accepts mail only after AUTH as mailer@school."""
    handler = CatchingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    return handler, controller


def test_credentials_in_the_smtp_url_log_in_to_a_relay_that_requires_them(databases, keys, clock):
    handler, controller = _relay_requiring_auth()
    rts = []
    try:
        good = make_rt(
            databases,
            keys,
            controller.port,
            clock,
            SMTP_URL=f"smtp://mailer%40school:s3cr%3At@127.0.0.1:{controller.port}",
        )
        rts.append(good)
        consumer = make_consumer(good)
        add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
        consumer.handle(_document())
        mailer = Mailer.from_runtime(good)
        assert [o.status for o in drain(mailer)] == ["sent"]
        mailer.transport.close()
        assert len(handler.messages) == 1
    finally:
        controller.stop()
        for rt in rts:
            rt.db.dispose()


def test_wrong_relay_credentials_are_retried_not_failed_at_once(databases, keys, clock):
    handler, controller = _relay_requiring_auth()
    rt = make_rt(
        databases,
        keys,
        controller.port,
        clock,
        SMTP_URL=f"smtp://mailer%40school:wrong@127.0.0.1:{controller.port}",
    )
    try:
        consumer = make_consumer(rt)
        add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
        consumer.handle(_document())
        mailer = Mailer.from_runtime(rt)
        assert [o.status for o in drain(mailer)] == ["retry"]  # the relay's setup, not this mail
        assert "SMTPAuthenticationError: 535" in _mails(rt)[0]["last_error"]
        assert handler.messages == []
    finally:
        controller.stop()
        rt.db.dispose()
