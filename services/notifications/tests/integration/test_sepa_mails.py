"""Finance's SEPA events become mails: the mandate's confirmation to the parent who signed, the notice
of an automatic top-up, a debit the bank returned and a refund to the student's parents, and a
collection's pre-notification to the signer (all of it) and the other parents (their children's part),
each once per event, in each parent's language."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cartable.finance.v1 import events_pb2 as fin
from services.notifications import db_reminders
from services.notifications.db import outgoing_mails
from services.notifications.tests.conftest import (
    SCHOOL,
    add_parent,
    choose,
    drain,
    event_body,
    html_of,
    text_of,
)

EMMA, LUCAS = "stu-emma", "stu-lucas"


def by_recipient(catcher) -> dict:
    return {rcpt[0]: msg for rcpt, msg in catcher.messages}


def one_line(text: str) -> str:
    """The text on one line; no-break spaces (before € in French) stay."""
    return re.sub(r"[ \t\r\n]+", " ", text)


def family(consumer) -> None:
    """Emma has two parents (Marie speaks French, Els Dutch); Lucas is Marie's only; Tom is another
    family's parent."""
    add_parent(
        consumer, "acc-marie", "marie@example.be", "fr", {EMMA: "Emma", LUCAS: "Lucas"}, "Marie Dupont"
    )
    add_parent(consumer, "acc-els", "els@example.be", "nl", {EMMA: "Emma"}, "Els Peeters")
    add_parent(consumer, "acc-tom", "tom@example.be", "en", {"stu-other": "Zoe"}, "Tom Brown")


def mails_of(rt, kind: str) -> int:
    with rt.db.unit_of_work() as s:
        return s.execute(select(func.count()).where(outgoing_mails.c.kind == kind)).scalar_one()


def mandate_signed() -> fin.MandateSigned:
    return fin.MandateSigned(
        mandate_id="man-1",
        reference="CART-2026-000123",
        parent_account_id="acc-marie",
        student_ids=[EMMA, LUCAS],
        holder_name="Marie Dupont",
        iban_masked="BE68 **** **** 7034",
        bic="GKCCBEBB",
        signed_at="2026-12-01T20:32:00Z",
        signed_from="203.0.113.7",
        school_name="École Sainte-Marie",
        creditor_id="BE69ZZZ0123456789",
        mandate_text="En signant ce formulaire de mandat, vous autorisez …",
        language="fr",
    )


def test_the_signing_parent_alone_gets_the_mandate_confirmation_once(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    choose(notifications_rt, "acc-marie", payments=False, invoices=False)  # cannot turn it off
    body = event_body("finance.mandate.signed.v1", mandate_signed())
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages  # not Els, though the mandate covers Emma too
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == "Mandat de domiciliation signé : CART-2026-000123"
    text = one_line(text_of(msg))
    for expected in (
        "Bonjour Marie Dupont,",
        "en faveur de École Sainte-Marie",
        "Référence du mandat : CART-2026-000123",
        "identifiant BE69ZZZ0123456789",
        "Compte débité : BE68 **** **** 7034 (Marie Dupont)",
        "Signé le : 1 décembre 2026 à 21:32 (heure de Bruxelles)",
        "de Emma, Lucas",
        "Vous serez prévenu par courriel avant chaque prélèvement",
        "https://cartable.example/",
    ):
        assert expected in text, expected
    assert "Courriels" not in text  # no "choose your mails" footer: it is not optional
    assert "<strong>CART-2026-000123</strong>" in html_of(msg)


def test_an_automatic_top_up_tells_each_parent_what_will_be_collected(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    ev = fin.AutoTopUpTriggered(
        wallet_id="w-1",
        student_id=EMMA,
        wallet_name="Repas",
        balance_cents=350,
        threshold_cents=500,
        amount_cents=2000,
        mandate_reference="CART-2026-000123",
    )
    body = event_body("finance.auto_top_up.triggered.v1", ev)
    consumer.handle(body)
    consumer.handle(body)
    drain(mailer)
    got = by_recipient(smtp_catcher)
    assert set(got) == {"marie@example.be", "els@example.be"}  # Emma's parents, once each
    assert mails_of(notifications_rt, "auto_top_up") == 2
    fr = got["marie@example.be"]
    assert fr["Subject"] == "Recharge automatique de 20,00\u00a0€ : Repas (Emma)"
    text = one_line(text_of(fr))
    for expected in (
        "Le solde du portefeuille « Repas » de Emma est de 3,50\u00a0€",
        "seuil de recharge automatique de 5,00\u00a0€",
        "Montant qui sera prélevé : 20,00\u00a0€",
        "au prochain prélèvement de l’école, par domiciliation",
        "Mandat : CART-2026-000123",
    ):
        assert expected in text, expected
    nl = got["els@example.be"]
    assert nl["Subject"] == "Automatische oplading van €\u00a020,00: Repas (Emma)"
    nl_text = one_line(text_of(nl))
    assert "Bedrag dat wordt geïnd: €\u00a020,00" in nl_text and "Mandaat: CART-2026-000123" in nl_text
    assert nl["Content-Language"] == "nl"


def issue_invoice(consumer) -> None:
    ev = fin.InvoiceIssued(
        invoice_id="inv-1",
        student_id=EMMA,
        number="2026-0042",
        title="Visite à Bruges",
        total_cents=2350,
        due_on="2026-12-15",
        structured_communication="010806817183",
        school_name="École Sainte-Marie",
        beneficiary="École Sainte-Marie ASBL",
        iban="BE68539007547034",
        student_name="Emma Dupont",
    )
    consumer.handle(event_body("finance.invoice.issued.v1", ev))
    paid = fin.PaymentReceived(
        payment_id="pay-1",
        student_id=EMMA,
        amount_cents=2350,
        method="direct_debit",
        purpose="invoice",
        invoice_id="inv-1",
        invoice_number="2026-0042",
    )
    consumer.handle(event_body("finance.payment.received.v1", paid))


def test_a_returned_invoice_debit_says_why_and_how_to_pay_and_reopens_the_invoice(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    issue_invoice(consumer)
    drain(mailer)  # the invoice's and the payment's mails
    smtp_catcher.messages.clear()
    with notifications_rt.db.unit_of_work() as s:
        assert db_reminders.invoice(s, "inv-1").status == "paid"
    ev = fin.DirectDebitReturned(
        batch_id="b-1",
        item_id="it-1",
        kind="invoice",
        student_id=EMMA,
        amount_cents=2350,
        invoice_id="inv-1",
        invoice_number="2026-0042",
        reason_code="AM04",
        mandate_reference="CART-2026-000123",
    )
    body = event_body("finance.direct_debit.returned.v1", ev)
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    with notifications_rt.db.unit_of_work() as s:
        inv = db_reminders.invoice(s, "inv-1")
    assert (inv.status, inv.open_cents) == ("open", 2350)  # owed again: its reminders resume
    drain(mailer)
    got = by_recipient(smtp_catcher)
    assert set(got) == {"marie@example.be", "els@example.be"}
    assert mails_of(notifications_rt, "direct_debit_returned") == 2
    fr = got["marie@example.be"]
    assert fr["Subject"] == "Prélèvement refusé par la banque : facture 2026-0042 (Emma)"
    text = one_line(text_of(fr))
    for expected in (
        "La banque n’a pas payé le prélèvement de 23,50\u00a0€ pour Emma : la facture 2026-0042 – Visite à Bruges.",
        "Motif : provision insuffisante sur le compte (code AM04)",
        "Cette facture est donc de nouveau à payer.",
        "https://cartable.example/soldes/factures/inv-1/payer",
        "au compte BE68539007547034 au nom de École Sainte-Marie ASBL",
        "+++010/8068/17183+++",
        "Le mandat CART-2026-000123 reste actif",
    ):
        assert expected in text, expected
    assert "est annulé" not in text
    nl = one_line(text_of(got["els@example.be"]))
    assert (
        got["els@example.be"]["Subject"] == "Domiciliëring geweigerd door de bank: factuur 2026-0042 (Emma)"
    )
    assert "Reden: onvoldoende saldo op de rekening (code AM04)" in nl


def test_a_return_that_cancelled_the_mandate_says_so_and_asks_for_a_new_one(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    ev = fin.DirectDebitReturned(
        batch_id="b-1",
        item_id="it-2",
        kind="top_up",
        student_id=LUCAS,
        amount_cents=2000,
        wallet_id="w-2",
        wallet_name="Garderie",
        reason_code="md01",
        mandate_revoked=True,
        mandate_reference="CART-2026-000123",
    )
    consumer.handle(event_body("finance.direct_debit.returned.v1", ev))
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["marie@example.be"]  # Lucas's only parent
    assert msg["Subject"] == "Prélèvement refusé par la banque : recharge de Garderie (Lucas)"
    text = one_line(text_of(msg))
    for expected in (
        "la recharge du portefeuille « Garderie »",
        "Motif : pas de mandat valable à la banque, ou mandat annulé (code MD01)",
        "Cette recharge n’a pas abouti",
        "Le mandat de domiciliation CART-2026-000123 est annulé",
        "signez un nouveau mandat dans Cartable",
    ):
        assert expected in text, expected


def test_other_return_reasons_read_in_words_or_as_another_reason(
    consumer, notifications_rt, mailer, smtp_catcher
):
    add_parent(consumer, "acc-john", "john@example.be", "en", {EMMA: "Emma"}, "John Smith")
    words = {
        "AC04": "account closed",
        "AC06": "account blocked",
        "MS02": "refused by the account holder or their bank",
        "MS03": "refused by the account holder or their bank",
        "ZZ99": "another reason given by the bank",
    }
    for i, code in enumerate(words):
        ev = fin.DirectDebitReturned(
            item_id=f"it-{i}", kind="top_up", student_id=EMMA, amount_cents=100, reason_code=code
        )
        consumer.handle(event_body("finance.direct_debit.returned.v1", ev))
    drain(mailer)
    texts = [one_line(text_of(m)) for _r, m in smtp_catcher.messages]
    assert len(texts) == len(words)
    for code, said in words.items():
        assert any(f"Reason: {said} (code {code})" in t for t in texts), code


def test_a_refund_tells_the_parents_the_amount_and_the_masked_account(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    choose(notifications_rt, "acc-els", payments=False)  # a refund follows the payments choice
    ev = fin.RefundCreated(
        refund_id="ref-1",
        wallet_id="w-1",
        student_id=EMMA,
        wallet_name="Repas",
        amount_cents=1230,
        iban_masked="BE68 **** **** 7034",
        balance_after_cents=0,
    )
    body = event_body("finance.refund.created.v1", ev)
    consumer.handle(body)
    consumer.handle(body)
    drain(mailer)
    [(rcpt, msg)] = smtp_catcher.messages
    assert rcpt == ["marie@example.be"]
    assert msg["Subject"] == "Remboursement de 12,30\u00a0€ : Repas (Emma)"
    text = one_line(text_of(msg))
    assert "Vers le compte : BE68 **** **** 7034" in text
    assert "Solde du portefeuille après remboursement : 0,00\u00a0€" in text
    assert "BE68539007547034" not in text
    assert "Courriels" in text  # optional: the footer says where to choose


def scheduled(signer: str = "acc-marie") -> fin.DirectDebitScheduled:
    return fin.DirectDebitScheduled(
        school_id=SCHOOL,
        batch_id="b-1",
        mandate_id="man-1",
        mandate_reference="CART-2026-000123",
        parent_account_id=signer,
        holder_name="Marie Dupont",
        iban_last4="7034",
        iban_masked="BE68 **** **** 7034",
        creditor_id="BE69ZZZ0123456789",
        school_name="École Sainte-Marie",
        collection_date="2026-12-15",
        total_cents=3800,
        items=[
            fin.ScheduledCollection(
                kind="invoice",
                student_id=EMMA,
                amount_cents=1800,
                invoice_id="inv-1",
                invoice_number="2026-0042",
                invoice_title="Classe verte",
            ),
            fin.ScheduledCollection(
                kind="top_up", student_id=LUCAS, amount_cents=2000, wallet_id="w-2", wallet_name="Garderie"
            ),
        ],
    )


def test_a_scheduled_collection_tells_the_signer_all_of_it_and_another_parent_their_childs_part(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    choose(notifications_rt, "acc-marie", payments=False, invoices=False)  # cannot turn it off
    body = event_body("finance.direct_debit.scheduled.v1", scheduled())
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    got = by_recipient(smtp_catcher)
    assert set(got) == {"marie@example.be", "els@example.be"}  # not Tom: another family
    assert mails_of(notifications_rt, "direct_debit_scheduled") == 2
    fr = got["marie@example.be"]
    assert fr["Subject"] == "Prochain prélèvement : 38,00\u00a0€ le 15 décembre 2026"
    text = one_line(text_of(fr))
    for expected in (
        "École Sainte-Marie prélèvera 38,00\u00a0€ par domiciliation européenne SEPA le 15 décembre 2026",
        "Montant prélevé : 38,00\u00a0€",
        "Date du prélèvement : 15 décembre 2026",
        "Compte débité : BE68 **** **** 7034 (Marie Dupont)",
        "Référence du mandat : CART-2026-000123",
        "Créancier : École Sainte-Marie (identifiant BE69ZZZ0123456789)",
        "- facture 2026-0042 – Classe verte (Emma) : 18,00\u00a0€",
        "- recharge du portefeuille « Garderie » (Lucas) : 20,00\u00a0€",
        "https://cartable.example/",
    ):
        assert expected in text, expected
    assert "Seuls les prélèvements" not in text and "Courriels" not in text  # all of it; not optional
    assert "<strong>15 décembre 2026</strong>" in html_of(fr)

    nl = got["els@example.be"]  # Emma's other parent: Emma's collection only, in Dutch
    assert nl["Subject"] == "Volgende inning: €\u00a018,00 op 15 december 2026"
    nl_text = one_line(text_of(nl))
    for expected in (
        "Bedrag dat wordt geïnd: €\u00a018,00",
        "Datum van de inning: 15 december 2026",
        "Mandaatreferentie: CART-2026-000123",
        "identificatienummer BE69ZZZ0123456789",
        "- factuur 2026-0042 – Classe verte (Emma): €\u00a018,00",
        "Deze e-mail vermeldt alleen de inningen die uw kinderen betreffen.",
    ):
        assert expected in nl_text, expected
    assert "Garderie" not in nl_text and "Lucas" not in nl_text


def test_the_signer_is_told_of_a_scheduled_collection_even_when_the_book_lists_none_of_the_children(
    consumer, notifications_rt, mailer, smtp_catcher
):
    family(consumer)
    consumer.handle(event_body("finance.direct_debit.scheduled.v1", scheduled(signer="acc-tom")))
    drain(mailer)
    got = by_recipient(smtp_catcher)
    assert set(got) == {"marie@example.be", "els@example.be", "tom@example.be"}
    en = one_line(text_of(got["tom@example.be"]))
    assert got["tom@example.be"]["Subject"] == "Next collection: €38.00 on 15 December 2026"
    for expected in (
        "- invoice 2026-0042 – Classe verte (Emma): €18.00",
        '- top-up of the wallet "Garderie" (Lucas): €20.00',
        "Creditor: École Sainte-Marie (identifier BE69ZZZ0123456789)",
    ):
        assert expected in en, expected
    assert "only the collections" not in en
