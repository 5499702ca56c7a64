"""A notifications service on a throwaway database, an SMTP catcher speaking real SMTP on a free port,
a clock the test moves, and helpers to feed events to the consumer."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc
from kit.bus import make_envelope
from kit.clock import FakeClock
from kit.identity import Identity
from kit.service import bootstrap, make_consumer, start_grpc
from kit.testing import test_settings
from services.notifications import views
from services.notifications.app import spec, use_cases
from services.notifications.domain.mail import Preferences
from services.notifications.mailer import Mailer

SCHOOL = "school-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class CatchingHandler:
    """Keeps every message it accepts; a test can make it refuse recipients or data."""

    messages: list = field(default_factory=list)
    refuse_rcpt: str | None = None  # e.g. "550 5.1.1 no such user"
    refuse_data: str | None = None  # e.g. "451 4.3.0 try again later"
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos[:], msg))
        self.received.set()
        return "250 Message accepted"


@pytest.fixture
def smtp_catcher():
    handler = CatchingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))


def make_rt(databases, keys, smtp_port: int, clock: FakeClock, broker=None, **env):
    url = databases.migrated("notifications")
    sp = spec()
    values = {
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "MAIL_FROM": "École Sainte-Marie via Cartable <no-reply@cartable.example>",
        "PUBLIC_BASE_URL": "https://cartable.example",
        "MAIL_MAX_ATTEMPTS": 3,
        "MAIL_RETRY_BASE_SECONDS": 60,
        **env,
    }
    settings = test_settings("notifications", url, keys, broker, **values)
    rt = bootstrap(sp, settings)
    rt.clock = clock
    return rt


@pytest.fixture
def notifications_rt(databases, keys, smtp_catcher, clock):
    rt = make_rt(databases, keys, smtp_catcher.port, clock)
    yield rt
    rt.db.dispose()


@pytest.fixture
def consumer(notifications_rt):
    return make_consumer(notifications_rt)


@pytest.fixture
def mailer(notifications_rt, clock):
    m = Mailer.from_runtime(notifications_rt)
    yield m
    m.transport.close()


@pytest.fixture
def notifications_stub(notifications_rt):
    server = start_grpc(notifications_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield notifications_pb2_grpc.NotificationsServiceStub(channel)
    channel.close()
    server.stop(0)


def event_body(name: str, payload, school_id: str = SCHOOL) -> bytes:
    return make_envelope(name, payload, school_id).SerializeToString()


def add_parent(
    consumer, account_id: str, email_: str, language: str, students: dict[str, str], name: str = ""
):
    ev = auth_events.ParentCreated(
        account_id=account_id,
        email=email_,
        display_name=name or account_id.title(),
        language=language,
        student_ids=list(students),
        student_names=students,
    )
    assert consumer.handle(event_body("auth.parent.created.v1", ev)) == "handled"


def staff_updated(
    account_id: str, email_: str, name: str = "", *, language: str = "fr", disabled: bool = False
) -> auth_events.StaffUpdated:
    """A manager as auth announces them on auth.staff.updated.v1."""
    return auth_events.StaffUpdated(
        account_id=account_id,
        email=email_,
        display_name=name or account_id.title(),
        language=language,
        disabled=disabled,
    )


def add_manager(consumer, account_id: str, email_: str, language: str, name: str = "", school: str = SCHOOL):
    ev = staff_updated(account_id, email_, name, language=language)
    assert consumer.handle(event_body("auth.staff.updated.v1", ev, school)) == "handled"


def choose(rt, account_id: str, **prefs) -> pb.MailPreferences:
    """The parent ``account_id`` saves ``Preferences(**prefs)`` (every field sent, meetings too)."""
    parent = Identity(account_id=account_id, role="parent", school_id=SCHOOL)
    req = pb.UpdateMailPreferencesRequest(preferences=views.mail_preferences(Preferences(**prefs), ""))
    return use_cases(rt).mails.update_mail_preferences(parent, req).preferences


def drain(mailer) -> list:
    """Send everything due now; the outcomes."""
    outcomes = []
    while (o := mailer.send_next()) is not None:
        outcomes.append(o)
    return outcomes


def text_of(msg) -> str:
    """The plain-text part of a caught mail."""
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg) -> str:
    """The HTML part of a caught mail."""
    return msg.get_body(preferencelist=("html",)).get_content()


def auth_metadata(keys, **kw) -> list[tuple[str, str]]:
    return [("authorization", "Bearer " + keys.token(**kw))]


def snapshot(rt) -> dict[str, list[tuple]]:
    """Every row of every table of the service (outbox and inbox included): equal before and after a
    call when the call wrote nothing."""
    with rt.db.unit_of_work() as s:
        return {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr)
            for t in rt.spec.metadata.sorted_tables
        }
