"""A periodic statement filed in a child's documents (documents.periodic_statement.filed.v1, issue #19)
becomes one mail to each of the child's parents, in their language (fr, nl, en), with the period and what
was invoiced, paid and remains; once per event; a parent who turned document mails off gets none."""

from __future__ import annotations

import re

from cartable.documents.v1 import statements_pb2 as dpb
from services.notifications.tests.conftest import add_parent, choose, drain, event_body, html_of, text_of

EMMA = "stu-emma"


def one_line(text: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", text)


def subject(msg) -> str:
    """The subject unfolded (a long one is folded over two header lines)."""
    return one_line(str(msg["Subject"])).strip()


def filed() -> dpb.PeriodicStatementFiled:
    return dpb.PeriodicStatementFiled(
        document_id="doc-1",
        student_id=EMMA,
        title="Décompte périodique du 1 septembre 2026 au 31 octobre 2026 – Emma Dupont",
        from_date="2026-09-01",
        to_date="2026-10-31",
        total_cents=7200,
        paid_cents=4500,
        open_cents=2700,
        student_name="Emma Dupont",
    )


def test_each_parent_gets_the_statement_mail_once_in_their_language(
    consumer, notifications_rt, mailer, smtp_catcher
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {EMMA: "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-els", "els@example.be", "nl", {EMMA: "Emma"}, "Els Peeters")
    add_parent(consumer, "acc-tom", "tom@example.be", "en", {EMMA: "Emma"}, "Tom Brown")
    add_parent(consumer, "acc-zoe", "zoe@example.be", "fr", {"stu-other": "Zoé"}, "Zoé Martin")
    body = event_body("documents.periodic_statement.filed.v1", filed())
    assert consumer.handle(body) == "handled"
    assert consumer.handle(body) == "duplicate"
    drain(mailer)
    got = {rcpt[0]: msg for rcpt, msg in smtp_catcher.messages}
    assert sorted(got) == ["els@example.be", "marie@example.be", "tom@example.be"]
    fr = got["marie@example.be"]
    assert subject(fr) == "Décompte périodique de Emma : du 1 septembre 2026 au 31 octobre 2026"
    text = one_line(text_of(fr))
    for expected in (
        "Total facturé : 72,00\u00a0€",
        "Payé : 45,00\u00a0€",
        "Reste à payer : 27,00\u00a0€",
        "obligatoire ou facultatif",
        "ne peut pas être réclamé",
        "module Documents",
    ):
        assert expected in text, expected
    assert "Reste à payer : 27,00\u00a0€" in one_line(html_of(fr))
    assert (
        subject(got["els@example.be"])
        == "Periodieke afrekening van Emma: van 1 september 2026 tot 31 oktober 2026"
    )
    assert "Nog te betalen: € 27,00" in one_line(text_of(got["els@example.be"])).replace("\u00a0", " ")
    assert (
        subject(got["tom@example.be"]) == "Periodic statement for Emma: 1 September 2026 to 31 October 2026"
    )
    assert "Left to pay: €27.00" in one_line(text_of(got["tom@example.be"]))


def test_a_parent_who_turned_document_mails_off_gets_no_statement_mail(
    consumer, notifications_rt, mailer, smtp_catcher
):
    add_parent(consumer, "acc-marie", "marie@example.be", "fr", {EMMA: "Emma"}, "Marie Dupont")
    add_parent(consumer, "acc-els", "els@example.be", "nl", {EMMA: "Emma"}, "Els Peeters")
    choose(notifications_rt, "acc-els", documents=False)
    assert consumer.handle(event_body("documents.periodic_statement.filed.v1", filed())) == "handled"
    drain(mailer)
    assert [rcpt for rcpt, _ in smtp_catcher.messages] == [["marie@example.be"]]
