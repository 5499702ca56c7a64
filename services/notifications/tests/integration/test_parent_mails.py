"""Mails about a student reach that student's parents, once, in their language, as they chose."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select

from cartable.documents.v1 import events_pb2 as documents_events
from cartable.finance.v1 import events_pb2 as finance_events
from cartable.orders.v1 import events_pb2 as orders_events
from kit.service import make_consumer
from kit.testing import wait_for
from services.notifications.db import outgoing_mails
from services.notifications.tests.conftest import (
    add_parent,
    choose,
    drain,
    event_body,
    html_of,
    make_rt,
    text_of,
)


def by_recipient(catcher) -> dict:
    return {rcpt[0]: msg for rcpt, msg in catcher.messages}


@pytest.fixture
def family(consumer):
    """Emma has two parents (fr and en); Lucas's parent speaks Dutch."""
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-john", "john@example.be", "en", {"stu-emma": "Emma"}, "John Smith")
    add_parent(consumer, "acc-els", "els@example.be", "nl", {"stu-lucas": "Lucas"}, "Els Peeters")


def invoice() -> finance_events.InvoiceIssued:
    return finance_events.InvoiceIssued(
        invoice_id="inv-1",
        student_id="stu-emma",
        number="2026-0042",
        title="Visite à Bruges",
        total_cents=2350,
        due_on="2026-12-15",
        structured_communication="010806817183",
        student_name="Emma Dupont",
    )


def test_new_document_mail_reaches_each_parent_of_the_student_in_their_language(
    family, consumer, mailer, smtp_catcher
):
    ev = documents_events.DocumentDeposited(
        document_id="doc-1", student_id="stu-emma", title="Bulletin de Noël"
    )
    consumer.handle(event_body("documents.document.deposited.v1", ev))
    drain(mailer)
    got = by_recipient(smtp_catcher)
    assert set(got) == {"marie@example.be", "john@example.be"}  # not Lucas's parent
    assert got["marie@example.be"]["Subject"] == "Nouveau document pour Emma : Bulletin de Noël"
    assert got["marie@example.be"]["Content-Language"] == "fr"
    assert got["john@example.be"]["Subject"] == "New document for Emma: Bulletin de Noël"
    assert "Hello John Smith," in text_of(got["john@example.be"])
    assert "https://cartable.example/" in text_of(got["marie@example.be"])


def test_invoice_mail_gives_number_title_amount_due_date_and_structured_communication(
    family, consumer, mailer, smtp_catcher
):
    consumer.handle(event_body("finance.invoice.issued.v1", invoice()))
    drain(mailer)
    msg = by_recipient(smtp_catcher)["marie@example.be"]
    assert msg["Subject"] == "Nouvelle facture 2026-0042 : Visite à Bruges"
    text = text_of(msg)
    for expected in (
        "2026-0042",
        "Visite à Bruges",
        "23,50\u00a0€",
        "15 décembre 2026",
        "+++010/8068/17183+++",
    ):
        assert expected in text, expected
    en = text_of(by_recipient(smtp_catcher)["john@example.be"])
    assert "€23.50" in en and "15 December 2026" in en and "+++010/8068/17183+++" in en


def test_payment_received_mail_says_what_was_paid(family, consumer, mailer, smtp_catcher):
    ev = finance_events.PaymentReceived(
        payment_id="pay-1",
        student_id="stu-lucas",
        amount_cents=2000,
        method="online",
        purpose="top_up",
        wallet_id="w-1",
        wallet_name="Repas",
        balance_after_cents=2650,
    )
    consumer.handle(event_body("finance.payment.received.v1", ev))
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["els@example.be"]
    assert msg["Subject"] == "Betaling ontvangen: €\u00a020,00"
    text = text_of(msg)
    assert 'portefeuille "Repas"' in text and "€\u00a026,50" in text


def test_order_confirmed_mail_lists_the_items_and_the_total(family, consumer, mailer, smtp_catcher):
    ev = orders_events.OrderPlaced(
        order_id="ord-1",
        student_id="stu-emma",
        period_id="per-1",
        invoice_id="inv-9",
        grand_total_cents=4150,
        period_title="Manuels 2027",
        credit_cents=500,
        items=[
            orders_events.OrderedItem(
                subject="Mathématiques", title="Delta 1", type="purchase", price_cents=2450
            ),
            orders_events.OrderedItem(subject="Français", title="Bescherelle", type="loan", price_cents=2200),
        ],
    )
    consumer.handle(event_body("orders.order.placed.v1", ev))
    drain(mailer)
    msg = by_recipient(smtp_catcher)["marie@example.be"]
    assert msg["Subject"] == "Commande confirmée : Manuels 2027"
    text = text_of(msg)
    assert "Mathématiques – Delta 1 : 24,50\u00a0€" in text
    assert "Français – Bescherelle (location) : 22,00\u00a0€" in text
    assert "-5,00\u00a0€" in text and "Total : 41,50\u00a0€" in text


def test_values_from_events_are_escaped_in_the_html_part_and_kept_in_the_text_part(
    family, consumer, mailer, smtp_catcher
):
    title = '<script>alert("x")</script> & <b>co</b>'
    ev = documents_events.DocumentDeposited(document_id="doc-1", student_id="stu-emma", title=title)
    consumer.handle(event_body("documents.document.deposited.v1", ev))
    drain(mailer)
    msg = by_recipient(smtp_catcher)["marie@example.be"]
    html = html_of(msg)
    assert "<script>" not in html and "<b>co</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in html
    assert title in text_of(msg)


def test_parent_receives_only_the_kinds_of_mail_they_chose(
    family, consumer, mailer, smtp_catcher, notifications_rt
):
    choose(notifications_rt, "acc-marie", invoices=False, language="nl")
    consumer.handle(event_body("finance.invoice.issued.v1", invoice()))
    doc = documents_events.DocumentDeposited(
        document_id="doc-1", student_id="stu-emma", title="Journal de classe"
    )
    consumer.handle(event_body("documents.document.deposited.v1", doc))
    drain(mailer)
    sent = sorted((rcpt[0], msg["Subject"]) for rcpt, msg in smtp_catcher.messages)
    assert sent == [
        ("john@example.be", "New document for Emma: Journal de classe"),
        ("john@example.be", "New invoice 2026-0042: Visite à Bruges"),
        ("marie@example.be", "Nieuw document voor Emma: Journal de classe"),  # her language, her choice
    ]


def _paid_from_wallet(n: int, amount: int, after: int) -> bytes:
    ev = finance_events.PaymentReceived(
        payment_id=f"pay-{n}",
        student_id="stu-emma",
        amount_cents=amount,
        method="wallet",
        purpose="invoice",
        wallet_id="w-emma",
        wallet_name="Repas",
        invoice_id=f"inv-{n}",
        invoice_number=f"2026-{n:04d}",
        balance_after_cents=after,
    )
    return event_body("finance.payment.received.v1", ev)


def test_low_balance_alert_when_the_wallet_falls_below_the_parents_threshold(
    family, consumer, mailer, smtp_catcher, notifications_rt
):
    choose(notifications_rt, "acc-marie", low_balance_threshold_cents=500, payments=False)
    choose(notifications_rt, "acc-john", payments=False)  # John chose no threshold
    consumer.handle(_paid_from_wallet(1, 300, 800))  # 11,00 → 8,00: still above
    consumer.handle(_paid_from_wallet(2, 400, 400))  # 8,00 → 4,00: crosses 5,00 → one alert
    consumer.handle(_paid_from_wallet(3, 300, 100))  # 4,00 → 1,00: already below, no second alert
    drain(mailer)
    assert [(r[0], m["Subject"]) for r, m in smtp_catcher.messages] == [
        ("marie@example.be", "Solde bas : Repas (Emma)")
    ]
    text = text_of(smtp_catcher.messages[0][1])
    assert "4,00\u00a0€" in text and "5,00\u00a0€" in text

    # topped up (a credit never alerts), then paid from the wallet below the threshold again: a new alert,
    # beside the payment mails of a parent who wants them
    choose(notifications_rt, "acc-marie", low_balance_threshold_cents=500)
    choose(notifications_rt, "acc-john")
    top_up = finance_events.PaymentReceived(
        payment_id="pay-9",
        student_id="stu-emma",
        amount_cents=2000,
        method="online",
        purpose="top_up",
        wallet_id="w-emma",
        wallet_name="Repas",
        balance_after_cents=2100,
    )
    smtp_catcher.messages.clear()
    consumer.handle(event_body("finance.payment.received.v1", top_up))
    consumer.handle(_paid_from_wallet(4, 1800, 300))
    drain(mailer)
    marie = sorted(m["Subject"] for r, m in smtp_catcher.messages if r == ["marie@example.be"])
    assert marie == [
        "Paiement reçu : 18,00\u00a0€",
        "Paiement reçu : 20,00\u00a0€",
        "Solde bas : Repas (Emma)",
    ]
    john = [m["Subject"] for r, m in smtp_catcher.messages if r == ["john@example.be"]]
    assert sorted(john) == ["Payment received: €18.00", "Payment received: €20.00"]


EVENTS = {
    "documents.document.deposited.v1": documents_events.DocumentDeposited(
        document_id="doc-1", student_id="stu-emma", title="Bulletin"
    ),
    "finance.invoice.issued.v1": invoice(),
    "finance.payment.received.v1": finance_events.PaymentReceived(
        payment_id="pay-1",
        student_id="stu-emma",
        amount_cents=1000,
        method="transfer",
        purpose="invoice",
        invoice_id="inv-1",
    ),
    "orders.order.placed.v1": orders_events.OrderPlaced(
        order_id="ord-1", student_id="stu-emma", period_id="per-1", grand_total_cents=1000
    ),
}


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_each_mail_is_sent_once_for_a_redelivered_event(
    family, consumer, mailer, smtp_catcher, notifications_rt, name
):
    body = event_body(name, EVENTS[name])
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    # Even past the inbox (a handler run twice), the unique (event_id, kind, recipient) holds.
    env, payload = _decode(consumer, body)
    with notifications_rt.db.unit_of_work() as s:
        consumer.bindings[name].handler(s, env, payload)
    drain(mailer)
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    assert sorted(r[0] for r, _m in smtp_catcher.messages) == ["john@example.be", "marie@example.be"]


def _decode(consumer, body: bytes):
    from cartable.events.v1 import envelope_pb2

    env = envelope_pb2.Envelope()
    env.ParseFromString(body)
    payload = consumer.bindings[env.event_name].payload_type()
    env.payload.Unpack(payload)
    return env, payload


@pytest.mark.broker
def test_event_published_twice_on_the_broker_makes_one_mail_per_parent(
    databases, keys, broker, smtp_catcher, clock, caplog
):
    caplog.set_level(logging.INFO, logger="kit.bus")
    rt = make_rt(databases, keys, smtp_catcher.port, clock, broker)
    broker.queue("notifications.events")  # deleted with the namespace
    consumer = make_consumer(rt)
    consumer.declare_on(broker.url)
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {"stu-emma": "Emma"})
    body = event_body("finance.invoice.issued.v1", invoice())

    def publish_twice(ch):
        for _ in range(2):
            ch.basic_publish(broker.exchange, "finance.invoice.issued.v1", body)

    broker.channel_call(publish_twice)
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        # Wait for the consumer to have handled both deliveries (its log says how each went), then
        # stop it: with the queue empty once it has stopped, nothing more can come.
        def outcomes() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if getattr(r, "event_name", "") == "finance.invoice.issued.v1"
            ]

        wait_for(lambda: len(outcomes()) >= 2, 60, what="both deliveries handled", describe=outcomes)
        stop.set()
        worker.join(30)
        assert not worker.is_alive()
        assert sorted(outcomes()) == ["event already handled", "event handled"]
        assert broker.message_count(consumer.queue) == 0  # both acked: none came back on stopping
        with rt.db.unit_of_work() as s:
            assert s.execute(select(func.count()).select_from(outgoing_mails)).scalar_one() == 1
        from services.notifications.mailer import Mailer

        m = Mailer.from_runtime(rt)
        drain(m)
        m.transport.close()
        assert [r for r, _m in smtp_catcher.messages] == [["marie@example.be"]]
    finally:
        stop.set()
        worker.join(10)
        rt.db.dispose()
