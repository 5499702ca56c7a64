"""A mail that cannot be sent is retried with backoff, then kept as failed for the manager."""

from __future__ import annotations

import threading
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import select

from cartable.documents.v1 import events_pb2 as documents_events
from cartable.events.v1 import envelope_pb2
from cartable.notifications.v1 import events_pb2 as notifications_events
from cartable.notifications.v1 import notifications_pb2 as pb
from kit.service import make_consumer
from services.notifications import db
from services.notifications.db import outbox, outgoing_mails
from services.notifications.mailer import Mailer
from services.notifications.tests.conftest import (
    SCHOOL,
    add_parent,
    auth_metadata,
    drain,
    event_body,
    free_port,
    make_rt,
)
from services.notifications.tests.integration.test_token_mail import TOKEN, token_event


def _document(n: int = 1) -> bytes:
    ev = documents_events.DocumentDeposited(
        document_id=f"doc-{n}", student_id="stu-emma", title=f"Circulaire {n}"
    )
    return event_body("documents.document.deposited.v1", ev)


def _mails(rt) -> list[dict]:
    with rt.db.unit_of_work() as s:
        return [
            dict(r)
            for r in s.execute(select(outgoing_mails).order_by(outgoing_mails.c.created_at)).mappings()
        ]


def _failed_events(rt) -> list[tuple[str, notifications_events.MailFailed]]:
    out = []
    with rt.db.unit_of_work() as s:
        for body in s.execute(
            select(outbox.c.body).where(outbox.c.event_name == "notifications.mail.failed.v1")
        ).scalars():
            env = envelope_pb2.Envelope()
            env.ParseFromString(body)
            ev = notifications_events.MailFailed()
            env.payload.Unpack(ev)
            out.append((env.school_id, ev))
    return out


@pytest.fixture
def unreachable_rt(databases, keys, clock):
    """SMTP_URL names a port where nothing listens: every connection is refused."""
    rt = make_rt(databases, keys, free_port(), clock)
    yield rt
    rt.db.dispose()


def test_unreachable_server_is_retried_with_backoff_then_the_mail_is_failed_and_listed_for_the_manager(
    unreachable_rt, clock, keys
):
    rt = unreachable_rt
    consumer = make_consumer(rt)
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    mailer = Mailer.from_runtime(rt)
    start = clock.now

    assert [o.status for o in drain(mailer)] == ["retry"]
    [mail] = _mails(rt)
    assert mail["attempts"] == 1 and mail["status"] == "pending"
    assert db.aware(mail["next_attempt_at"]) == start + timedelta(seconds=60)
    assert "ConnectionRefusedError" in mail["last_error"]
    assert drain(mailer) == []  # not due yet

    clock.advance(60)
    assert [o.status for o in drain(mailer)] == ["retry"]
    [mail] = _mails(rt)
    assert mail["attempts"] == 2
    assert db.aware(mail["next_attempt_at"]) == clock.now + timedelta(seconds=120)  # doubled
    clock.advance(119)
    assert drain(mailer) == []
    clock.advance(1)
    assert [o.status for o in drain(mailer)] == ["failed"]  # MAIL_MAX_ATTEMPTS=3
    [mail] = _mails(rt)
    assert mail["status"] == "failed" and mail["attempts"] == 3
    clock.advance(3600)
    assert drain(mailer) == []  # given up: never tried again by itself

    [(school, ev)] = _failed_events(rt)
    assert school == SCHOOL
    assert ev.mail_id == mail["id"] and ev.template == "document_deposited" and ev.attempts == 3
    assert ev.account_id == "acc-marie" and "ConnectionRefusedError" in ev.reason

    from cartable.notifications.v1 import notifications_pb2_grpc
    from kit.service import start_grpc

    server = start_grpc(rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
        answer = stub.ListFailedMails(pb.ListFailedMailsRequest(), metadata=auth_metadata(keys, role="staff"))
        [listed] = answer.mails
        assert listed.id == mail["id"] and listed.kind == "document_deposited"
        assert listed.recipient == "marie@example.be" and listed.student_id == "stu-emma"
        assert listed.subject == "Nouveau document pour Emma : Circulaire 1"
        assert listed.attempts == 3 and "ConnectionRefusedError" in listed.last_error
        assert listed.retryable and listed.failed_at
        other_school = stub.ListFailedMails(
            pb.ListFailedMailsRequest(), metadata=auth_metadata(keys, role="staff", school_id="school-2")
        )
        assert list(other_school.mails) == []
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListFailedMails(pb.ListFailedMailsRequest(), metadata=auth_metadata(keys, role="parent"))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        channel.close()
        server.stop(0)


def test_server_that_refuses_for_a_while_gets_the_mail_once_it_accepts_again(
    consumer, mailer, smtp_catcher, clock, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    smtp_catcher.refuse_data = "451 4.3.0 Try again later"
    assert [o.status for o in drain(mailer)] == ["retry"]
    assert "451" in _mails(notifications_rt)[0]["last_error"]
    smtp_catcher.refuse_data = None
    clock.advance(60)
    assert [o.status for o in drain(mailer)] == ["sent"]
    assert len(smtp_catcher.messages) == 1
    [mail] = _mails(notifications_rt)
    assert mail["status"] == "sent" and mail["attempts"] == 2 and mail["last_error"] is None


def test_recipient_refused_for_good_fails_at_once(consumer, mailer, smtp_catcher, notifications_rt):
    add_parent(consumer, "acc-marie", "nobody@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    smtp_catcher.refuse_rcpt = "550 5.1.1 No such user"
    assert [o.status for o in drain(mailer)] == ["failed"]
    [mail] = _mails(notifications_rt)
    assert mail["attempts"] == 1 and "550" in mail["last_error"]
    assert len(_failed_events(notifications_rt)) == 1


def test_manager_sends_a_failed_mail_again_but_a_token_mail_must_be_reissued(
    consumer, mailer, smtp_catcher, notifications_stub, keys, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    consumer.handle(event_body("auth.token.issued.v1", token_event()))
    smtp_catcher.refuse_rcpt = "550 5.1.1 Mailbox unavailable"
    assert sorted(o.status for o in drain(mailer)) == ["failed", "failed"]
    staff = auth_metadata(keys, role="staff")
    failed = {
        m.kind: m
        for m in notifications_stub.ListFailedMails(pb.ListFailedMailsRequest(), metadata=staff).mails
    }
    assert set(failed) == {"document_deposited", "token"}
    assert not failed["token"].retryable
    with notifications_rt.db.unit_of_work() as s:  # the token is not kept once the mail is given up
        token_row = s.execute(select(outgoing_mails).where(outgoing_mails.c.kind == "token")).mappings().one()
    assert TOKEN not in token_row["text_body"] + token_row["html_body"]

    with pytest.raises(grpc.RpcError) as refused:
        notifications_stub.RetryFailedMail(
            pb.RetryFailedMailRequest(mail_id=failed["token"].id), metadata=staff
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    smtp_catcher.refuse_rcpt = None
    notifications_stub.RetryFailedMail(
        pb.RetryFailedMailRequest(mail_id=failed["document_deposited"].id), metadata=staff
    )
    assert [o.status for o in drain(mailer)] == ["sent"]
    assert [m["Subject"] for _r, m in smtp_catcher.messages] == ["Nouveau document pour Emma : Circulaire 1"]
    left = notifications_stub.ListFailedMails(pb.ListFailedMailsRequest(), metadata=staff).mails
    assert [m.kind for m in left] == ["token"]
    with pytest.raises(grpc.RpcError) as again:  # no longer failed
        notifications_stub.RetryFailedMail(
            pb.RetryFailedMailRequest(mail_id=failed["document_deposited"].id), metadata=staff
        )
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_failed_list_pages_newest_first(consumer, mailer, smtp_catcher, notifications_stub, keys, clock):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    smtp_catcher.refuse_rcpt = "550 5.1.1 No such user"
    for n in range(5):
        consumer.handle(_document(n))
        drain(mailer)
        clock.advance(10)
    staff = auth_metadata(keys, role="staff")
    seen, cursor = [], ""
    while True:
        page = notifications_stub.ListFailedMails(
            pb.ListFailedMailsRequest(limit=2, cursor=cursor), metadata=staff
        )
        seen += [m.subject for m in page.mails]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [f"Nouveau document pour Emma : Circulaire {n}" for n in (4, 3, 2, 1, 0)]


def test_mailer_that_dies_before_recording_sends_again_after_the_lease_with_the_same_message_id(
    consumer, mailer, smtp_catcher, clock, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    with notifications_rt.db.unit_of_work() as s:  # a mailer claimed it, then died
        claimed = db.claim_due_mail(s, clock.now, clock.now + mailer.config.lease)
    assert claimed is not None
    assert drain(mailer) == []  # hidden while the lease runs
    clock.advance(mailer.config.lease.total_seconds())
    assert [o.status for o in drain(mailer)] == ["sent"]
    [(_r, msg)] = smtp_catcher.messages
    assert msg["Message-ID"] == claimed["message_id"]


def test_two_mailers_never_send_the_same_mail(consumer, smtp_catcher, notifications_rt):
    for n in range(8):
        add_parent(consumer, f"acc-{n}", f"parent{n}@example.be", "fr", {"stu-emma": "Emma"})
    for n in range(5):
        consumer.handle(_document(n))  # 40 mails
    mailers = [Mailer.from_runtime(notifications_rt) for _ in range(2)]
    threads = [threading.Thread(target=drain, args=(m,)) for m in mailers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for m in mailers:
        m.transport.close()
    ids = [msg["Message-ID"] for _r, msg in smtp_catcher.messages]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert {m["status"] for m in _mails(notifications_rt)} == {"sent"}


def test_mail_whose_every_attempt_kills_the_mailer_is_given_up(
    consumer, mailer, smtp_catcher, clock, notifications_rt
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    consumer.handle(_document())
    for _ in range(3):  # MAIL_MAX_ATTEMPTS claims, each by a mailer that died before any outcome
        with notifications_rt.db.unit_of_work() as s:
            assert db.claim_due_mail(s, clock.now, clock.now + mailer.config.lease) is not None
        clock.advance(mailer.config.lease.total_seconds())
    assert [o.status for o in drain(mailer)] == ["failed"]
    assert smtp_catcher.messages == []
    assert "stopped during each attempt" in _mails(notifications_rt)[0]["last_error"]
