"""The periodic statements' staff page in-process against fake services (issue #19): /gestion/decomptes
(a class or the school, a preset or two dates, the preview of one student's PDF, the sending once per
form key with CSRF, finance's refusal of the period said on its field, what was sent), its line in the
staff navigation, fr/nl/en, every French string translated, staff only."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2
from cartable.documents.v1 import statements_pb2 as dpb
from cartable.finance.v1 import finance_pb2
from cartable.finance.v1 import periodic_statements_pb2 as fpb
from gateway.pages.statements import SCHOOL, preset_period
from gateway.tests.conftest import form_fields
from kit.errors import InvalidRequest

PAGE = "/gestion/decomptes"
GATEWAY = Path(__file__).resolve().parents[1]
EMMA = auth_pb2.Student(id="s-emma", first_name="Emma", last_name="Peeters", class_name="3A", status="active")
SENT = dpb.StatementDocument(
    document_id="d-1",
    student_id="s-emma",
    title="Décompte périodique du 1 septembre 2026 au 31 octobre 2026 – Emma Peeters",
    from_date="2026-09-01",
    to_date="2026-10-31",
    deposited_at="2026-11-02T09:00:00+01:00",
)


def said(resp) -> str:
    text = htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@pytest.fixture
def staff(client, fakes):
    summary = finance_pb2.GetFinanceSummaryResponse(
        classes=[
            finance_pb2.ClassFinanceSummary(class_name="3A", students=12),
            finance_pb2.ClassFinanceSummary(class_name="5B", students=0),
        ]
    )
    fakes.on("finance", "GetFinanceSummary", summary)
    fakes.on("auth", "ListStudents", auth_pb2.ListStudentsResponse(students=[EMMA]))
    fakes.on(
        "auth",
        "ListParents",
        auth_pb2.ListParentsResponse(
            parents=[auth_pb2.ParentContact(id="p", language="nl", student_ids=["s-emma"])]
        ),
    )
    fakes.on(
        "statement_documents", "ListStatementDocuments", dpb.ListStatementDocumentsResponse(documents=[SENT])
    )
    fakes.on(
        "periodic_statements",
        "SendPeriodicStatements",
        lambda req: fpb.SendPeriodicStatementsResponse(sent=3, skipped=1, student_ids=["s-emma"]),
    )
    client.set_cookie("cartable_session", fakes.staff().token)
    return fakes


def test_presets_are_this_month_last_month_and_the_term():
    today = date(2026, 11, 17)
    assert preset_period("this_month", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert preset_period("last_month", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert preset_period("this_term", today) == (date(2026, 9, 1), date(2026, 12, 31))
    assert preset_period("last_month", date(2027, 1, 5)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert preset_period("this_term", date(2027, 2, 28)) == (date(2027, 1, 1), date(2027, 3, 31))
    assert preset_period("custom", today) is None


def test_the_page_offers_the_classes_and_lists_what_was_sent(client, staff):
    resp = client.get(PAGE)
    assert resp.status_code == 200
    text = said(resp)
    assert "Décomptes périodiques" in text and "Toute l'école" in text
    html = resp.get_data(as_text=True)
    assert '<option value="3A"' in html and '<option value="5B"' not in html  # a class without students
    assert SENT.title in text and "du 1 septembre 2026 au 31 octobre 2026" in text
    assert 'href="/gestion/decomptes" aria-current="page"' in html  # the staff navigation's line
    assert "Envoyer les décomptes" not in text  # nothing chosen yet


def test_a_class_and_custom_dates_offer_the_preview_and_the_send_form(client, staff):
    resp = client.get(
        PAGE, query_string={"scope": "3A", "preset": "custom", "from": "2026-09-01", "to": "2026-12-31"}
    )
    assert resp.status_code == 200
    text = said(resp)
    assert "Période du 1 septembre 2026 au 31 décembre 2026 — classe 3A" in text
    assert "Emma Peeters (3A)" in text
    form = form_fields(resp.get_data(as_text=True), "/gestion/decomptes/envoyer")
    assert (form["scope"], form["from"], form["to"]) == ("3A", "2026-09-01", "2026-12-31")
    assert form["csrf_token"] and len(form["key"]) == 36


def test_the_preview_is_the_students_pdf_in_the_parents_language(client, staff):
    staff.on(
        "periodic_statements",
        "GetPeriodicStatement",
        fpb.GetPeriodicStatementResponse(statement=fpb.PeriodicStatement(student_id="s-emma")),
    )
    staff.on(
        "statement_documents",
        "RenderPeriodicStatement",
        lambda req: dpb.RenderPeriodicStatementResponse(
            content=b"%PDF " + req.language.encode(), filename="d.pdf"
        ),
    )
    resp = client.get(
        f"{PAGE}/apercu",
        query_string={
            "scope": "3A",
            "preset": "custom",
            "from": "2026-09-01",
            "to": "2026-10-31",
            "student_id": "s-emma",
        },
    )
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data == b"%PDF nl"
    assert resp.headers["Content-Disposition"] == 'inline; filename="d.pdf"'
    (req,) = staff.requests("periodic_statements", "GetPeriodicStatement")
    assert (req.student_id, req.from_date, req.to_date) == ("s-emma", "2026-09-01", "2026-10-31")


def test_sending_a_class_passes_the_period_the_key_and_the_languages_once(client, staff):
    html = client.get(
        PAGE, query_string={"scope": "3A", "preset": "custom", "from": "2026-09-01", "to": "2026-10-31"}
    ).get_data(as_text=True)
    form = form_fields(html, "/gestion/decomptes/envoyer")
    resp = client.post(f"{PAGE}/envoyer", data=form)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gestion/decomptes#sent-title")
    (req,) = staff.requests("periodic_statements", "SendPeriodicStatements")
    assert (req.class_name, req.whole_school, req.from_date, req.to_date, req.idempotency_key) == (
        "3A",
        False,
        "2026-09-01",
        "2026-10-31",
        form["key"],
    )
    assert dict(req.languages) == {"s-emma": "nl"}
    assert "3 décompte(s) envoyé(s) pour la période du 1 septembre 2026 au 31 octobre 2026" in said(
        client.get(PAGE)
    )


def test_sending_the_whole_school(client, staff):
    html = client.get(PAGE, query_string={"scope": SCHOOL, "preset": "this_month"}).get_data(as_text=True)
    form = form_fields(html, "/gestion/decomptes/envoyer")
    assert client.post(f"{PAGE}/envoyer", data=form).status_code == 303
    (req,) = staff.requests("periodic_statements", "SendPeriodicStatements")
    assert (req.class_name, req.whole_school) == ("", True)


def test_finance_refusing_a_period_longer_than_four_months_is_said_on_the_field(client, staff):
    def refuse(_req):
        raise InvalidRequest(
            "the statement's period is not valid", fields={"to": "at most 4 months after from"}
        )

    staff.on("periodic_statements", "SendPeriodicStatements", refuse)
    html = client.get(
        PAGE, query_string={"scope": "3A", "preset": "custom", "from": "2026-09-01", "to": "2027-02-01"}
    ).get_data(as_text=True)
    resp = client.post(f"{PAGE}/envoyer", data=form_fields(html, "/gestion/decomptes/envoyer"))
    assert resp.status_code == 400
    assert 'id="to" name="to" type="date" value="2027-02-01"' in resp.get_data(as_text=True)
    assert "au plus quatre mois après" in said(resp)


def test_without_the_csrf_token_nothing_is_sent_and_parents_are_refused(client, staff):
    html = client.get(PAGE, query_string={"scope": "3A", "preset": "this_month"}).get_data(as_text=True)
    form = form_fields(html, "/gestion/decomptes/envoyer")
    del form["csrf_token"]
    assert client.post(f"{PAGE}/envoyer", data=form).status_code == 400
    assert staff.requests("periodic_statements", "SendPeriodicStatements") == []
    client.set_cookie("cartable_session", staff.parent().token)
    assert client.get(PAGE).status_code == 403


def test_an_unknown_class_is_refused(client, staff):
    resp = client.get(PAGE, query_string={"scope": "9Z", "preset": "this_month"})
    assert resp.status_code == 400 and "Choisissez une classe ou toute l'école." in said(resp)


@pytest.mark.parametrize(
    ("lang", "title", "button"),
    [("nl", "Periodieke afrekeningen", "Kiezen"), ("en", "Periodic statements", "Choose")],
)
def test_the_page_speaks_the_readers_language(client, staff, lang, title, button):
    text = said(client.get(f"{PAGE}?lang={lang}"))
    assert title in text and button in text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_statements_page_is_translated(lang):
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    for path in (GATEWAY / "pages" / "statements.py", GATEWAY / "templates" / "statements" / "index.html"):
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    po = GATEWAY / "translations" / "statements" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string}
    assert len(found) > 30
    assert sorted(found - translated) == []
