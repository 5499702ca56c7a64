"""The school's direct-debit pages in-process against fake services (issue #18): /gestion/domiciliations
(the batches, the new batch's form checked on its fields with the summary focused, a confirmation,
the batch created once per form key with the dates finance received, finance's refusals said in
words, a school without a creditor id sent to its settings, the mandates and a revocation after a
confirmation) and /gestion/domiciliations/<id> (the items, FRST/RCUR, the return reasons in words, the
pain.008 link, what to do next), CSRF, fr/nl/en, and every French string translated."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, sepa_pb2
from gateway.pages.direct_debits import return_reason
from gateway.tests.conftest import form_fields
from gateway.tests.test_direct_debits_api import BATCH, ITEMS, MANDATE, created
from kit.dates import BRUSSELS
from kit.errors import Conflict, InvalidRequest, NotFound

EMMA = auth_pb2.Student(id="s-emma", first_name="Emma", last_name="Peeters", class_name="3A", status="active")
LEO = auth_pb2.Student(id="s-leo", first_name="Léo", last_name="Dubois", class_name="5B", status="left")
REVOKED = sepa_pb2.Mandate(
    id="m-0",
    reference="CARTABLE-M-0000",
    holder_name="Marc Dubois",
    iban_masked="BE71 **** **** 3769",
    status="revoked",
    revoked_at="2026-11-03T10:00:00+01:00",
    revoked_reason="parent",
    student_ids=["s-leo"],
    parent_account_id="p-marc",
)
PAGE = "/gestion/domiciliations"


def tomorrow() -> str:
    return (datetime.now(BRUSSELS).date() + timedelta(days=1)).isoformat()


def login(client, who) -> None:
    client.set_cookie("cartable_session", who.token)


def said(resp) -> str:
    """The answer's text as read: entities decoded, no-break spaces as spaces, tags out."""
    text = htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@pytest.fixture
def school(fakes):
    """A school with a creditor id, one batch, two mandates (one revoked), Emma and Léo (who left)."""

    def students(req: auth_pb2.ListStudentsRequest) -> auth_pb2.ListStudentsResponse:
        status = req.status or "active"
        return auth_pb2.ListStudentsResponse(
            students=[s for s in (EMMA, LEO) if s.id in req.student_ids and s.status == status]
        )

    fakes.on("auth", "ListStudents", students)
    fakes.on(
        "auth",
        "ListParents",
        auth_pb2.ListParentsResponse(
            parents=[auth_pb2.ParentContact(id="p-sophie", display_name="Sophie Peeters-Janssens")]
        ),
    )
    fakes.on(
        "finance",
        "GetSettings",
        finance_pb2.GetSettingsResponse(settings=finance_pb2.Settings(creditor_id="BE69ZZZ050D000000008")),
    )
    fakes.on(
        "direct_debits",
        "ListDirectDebitBatches",
        sepa_pb2.ListDirectDebitBatchesResponse(items=[BATCH]),
    )
    fakes.on("direct_debits", "ListMandates", sepa_pb2.ListMandatesResponse(items=[MANDATE, REVOKED]))
    batch = sepa_pb2.DirectDebitBatch()
    batch.CopyFrom(BATCH)
    batch.items.extend(ITEMS)
    fakes.on("direct_debits", "GetDirectDebitBatch", sepa_pb2.GetDirectDebitBatchResponse(batch=batch))
    fakes.on("direct_debits", "CreateDirectDebitBatch", created)
    login_as = fakes.staff()
    return fakes, login_as


def signed_in(client, school):
    fakes, staff = school
    login(client, staff)
    return fakes


def check_form(client) -> dict[str, str]:
    return form_fields(client.get(PAGE).get_data(as_text=True), PAGE)


# -- the list ---------------------------------------------------------------------------------------


def test_the_page_lists_the_batches_and_the_mandates(client, school):
    signed_in(client, school)
    resp = client.get(PAGE)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    text = said(resp)
    assert 'href="/gestion/domiciliations" aria-current="page"' in html
    assert 'href="/gestion/domiciliations/dd-1"' in html and "Prélèvement du 15 décembre 2026" in text
    row = said_row(html, 'data-batch-id="dd-1"')
    assert "2" in row and "74,50 €" in row and "En attente du crédit bancaire" in row
    assert "échéances jusqu'au 10 décembre 2026" in row
    mandate = said_row(html, 'data-mandate-id="m-1"')
    assert "CARTABLE-M-0001" in mandate and "Sophie Peeters" in mandate and "Emma Peeters (3A)" in mandate
    assert "signé par Sophie Peeters-Janssens" in mandate and "Actif" in mandate
    assert "BE68 **** **** 0123" in mandate
    assert 'href="/gestion/domiciliations/mandats/m-1/revoquer"' in html
    revoked = said_row(html, 'data-mandate-id="m-0"')
    assert "Léo Dubois (5B)" in revoked and "Révoqué le 3 novembre 2026 par le parent" in revoked
    assert "/gestion/domiciliations/mandats/m-0/revoquer" not in html
    assert "1 en ce moment" in text  # one active mandate


def said_row(html: str, marker: str) -> str:
    row = re.search(rf"<tr {re.escape(marker)}.*?</tr>", html, re.S)
    assert row, marker
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", row.group(0))).replace("\xa0", " ").split())


def test_the_form_offers_tomorrow_at_the_earliest(client, school):
    signed_in(client, school)
    html = client.get(PAGE).get_data(as_text=True)
    field = re.search(r'<input id="collection_date"[^>]*>', html).group(0)
    assert f'value="{tomorrow()}"' in field and f'min="{tomorrow()}"' in field and 'type="date"' in field
    form = form_fields(html, PAGE)
    assert form["step"] == "check" and len(form["key"]) == 36 and form["csrf_token"]


def test_batch_pages_follow_finances_cursor(client, school):
    fakes = signed_in(client, school)
    fakes.on(
        "direct_debits",
        "ListDirectDebitBatches",
        sepa_pb2.ListDirectDebitBatchesResponse(items=[BATCH], next_cursor="c-2"),
    )
    html = client.get(f"{PAGE}?cursor=c-1").get_data(as_text=True)
    assert 'href="/gestion/domiciliations?cursor=c-2#batches-title" rel="next"' in html
    assert "Lots les plus récents" in html
    req = fakes.requests("direct_debits", "ListDirectDebitBatches")[-1]
    assert (req.limit, req.cursor) == (50, "c-1")

    def bad(_req):
        raise InvalidRequest("bad cursor", fields={"cursor": "use next_cursor as given"})

    fakes.on("direct_debits", "ListDirectDebitBatches", bad)
    resp = client.get(f"{PAGE}?cursor=stale")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(PAGE)


# -- a new batch ------------------------------------------------------------------------------------


def test_a_batch_is_checked_confirmed_then_created_once_with_the_dates(client, school):
    fakes = signed_in(client, school)
    form = check_form(client)
    form.update(collection_date="2030-12-15", invoices_due_by="2030-12-10")
    confirm = client.post(PAGE, data=form)
    assert confirm.status_code == 200
    text = said(confirm)
    assert "Confirmer le prélèvement" in text and "Prélèvement du 15 décembre 2030" in text
    assert "à échéance au plus tard le 10 décembre 2030" in text
    assert fakes.requests("direct_debits", "CreateDirectDebitBatch") == []
    fields = form_fields(confirm.get_data(as_text=True), PAGE)
    assert fields["step"] == "create" and fields["key"] == form["key"]
    assert (fields["collection_date"], fields["invoices_due_by"]) == ("2030-12-15", "2030-12-10")
    done = client.post(PAGE, data=fields)
    assert done.status_code == 303 and done.headers["Location"].endswith("/gestion/domiciliations/dd-1")
    again = client.post(PAGE, data=fields)  # a double click: the same key
    assert again.status_code == 303
    first, second = fakes.requests("direct_debits", "CreateDirectDebitBatch")
    assert (first.collection_date, first.invoices_due_by, first.idempotency_key) == (
        "2030-12-15",
        "2030-12-10",
        form["key"],
    )
    assert second.idempotency_key == first.idempotency_key
    page = said(client.get("/gestion/domiciliations/dd-1"))
    assert "Lot créé : 2 prélèvement(s), 74,50 €, le 15 décembre 2030." in page


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"collection_date": ""}, "collection_date"),
        ({"collection_date": "15/12/2030"}, "collection_date"),
        ({"collection_date": datetime.now(BRUSSELS).date().isoformat()}, "collection_date"),
        ({"collection_date": "2030-12-15", "invoices_due_by": "2030-02-30"}, "invoices_due_by"),
    ],
)
def test_a_bad_date_is_said_on_its_field_with_the_summary_focused(client, school, values, field):
    fakes = signed_in(client, school)
    form = {**check_form(client), "invoices_due_by": "", **values}
    resp = client.post(PAGE, data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(
        r'<div class="flash flash-error" id="dd-errors" role="alert" tabindex="-1" autofocus>', html
    )
    assert f'<a href="#{field}">' in html and f'id="{field}-error"' in html
    assert re.search(
        rf'<input id="{field}"[^>]*aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"', html
    )
    assert html.count("autofocus") == 1
    assert form_fields(html, PAGE)["key"] == form["key"]  # the same form, the same key
    assert fakes.requests("direct_debits", "CreateDirectDebitBatch") == []


def test_finance_refusing_the_date_is_said_on_its_field(client, school):
    fakes = signed_in(client, school)

    def refuse(_req):
        raise InvalidRequest("at least tomorrow", fields={"collection_date": "at least tomorrow"})

    fakes.on("direct_debits", "CreateDirectDebitBatch", refuse)
    form = {**check_form(client), "collection_date": "2030-12-15", "step": "create"}
    resp = client.post(PAGE, data=form)
    assert resp.status_code == 400
    assert "Choisissez une date de prélèvement à partir de demain." in said(resp)
    assert 'id="collection_date-error"' in resp.get_data(as_text=True)


def test_nothing_to_collect_is_said_and_nothing_is_created(client, school):
    fakes = signed_in(client, school)

    def empty(_req):
        raise Conflict("nothing to collect", code="batch_empty")

    fakes.on("direct_debits", "CreateDirectDebitBatch", empty)
    form = {**check_form(client), "collection_date": "2030-12-15", "invoices_due_by": "", "step": "create"}
    resp = client.post(PAGE, data=form)
    assert resp.status_code == 409
    assert (
        "Rien à prélever : aucune facture ouverte à échéance au plus tard le 15 décembre 2030 ni aucune "
        "recharge automatique en attente" in said(resp)
    )
    assert 'id="dd-errors"' in resp.get_data(as_text=True)


def test_a_form_used_for_other_dates_gets_a_new_key(client, school):
    fakes = signed_in(client, school)

    def reused(_req):
        raise Conflict("reused", code="idempotency_key_reused")

    fakes.on("direct_debits", "CreateDirectDebitBatch", reused)
    form = {**check_form(client), "collection_date": "2030-12-16", "step": "create"}
    resp = client.post(PAGE, data=form)
    assert resp.status_code == 409 and "Ce formulaire a déjà servi pour d'autres dates." in said(resp)
    assert form_fields(resp.get_data(as_text=True), PAGE)["key"] != form["key"]


def test_a_school_without_creditor_id_is_sent_to_its_settings(client, school):
    fakes = signed_in(client, school)
    fakes.on("finance", "GetSettings", finance_pb2.GetSettingsResponse(settings=finance_pb2.Settings()))
    resp = client.get(PAGE)
    html, text = resp.get_data(as_text=True), said(resp)
    assert "Identifiant de créancier SEPA manquant" in text
    assert 'href="/gestion/reglages"' in html
    assert f'action="{PAGE}"' not in html  # no form to fill in vain
    assert 'href="/gestion/reglages"' in client.get("/gestion/domiciliations/dd-1").get_data(as_text=True)

    def disabled(_req):
        raise Conflict("no creditor id", code="method_disabled")

    fakes.on("direct_debits", "CreateDirectDebitBatch", disabled)
    form = {"csrf_token": check_form_token(client), "collection_date": "2030-12-15", "step": "create"}
    resp = client.post(PAGE, data=form)
    assert resp.status_code == 409
    assert "L'école n'a pas d'identifiant de créancier SEPA" in said(resp)
    assert 'href="/gestion/reglages"' in resp.get_data(as_text=True)


def check_form_token(client) -> str:
    html = client.get("/gestion/domiciliations/mandats/m-1/revoquer").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_batch_without_the_forms_csrf_token_is_refused(client, school):
    fakes = signed_in(client, school)
    form = {**check_form(client), "collection_date": "2030-12-15", "step": "create"}
    del form["csrf_token"]
    assert client.post(PAGE, data=form).status_code == 400
    assert fakes.requests("direct_debits", "CreateDirectDebitBatch") == []


# -- one batch --------------------------------------------------------------------------------------


def test_a_batch_shows_its_items_the_return_reasons_and_what_to_do_next(client, school):
    fakes = signed_in(client, school)
    resp = client.get("/gestion/domiciliations/dd-1")
    assert resp.status_code == 200
    html, text = resp.get_data(as_text=True), said(resp)
    assert "<h1>Prélèvement du 15 décembre 2026</h1>" in htmllib.unescape(html)
    assert 'href="/api/v1/admin/direct-debits/dd-1/pain.008.xml"' in html
    assert "Télécharger le fichier pain.008" in text
    assert "Déposez ce fichier dans votre banque en ligne" in text
    assert "L'extrait bancaire qui crédite le lot marquera les factures payées" in text
    assert 'href="/gestion/extraits"' in html and "CARTABLE-DD-0001" in text
    returned = said_row(html, 'data-item-id="it-1"')
    assert "Emma Peeters" in returned and "Facture 2026-0042" in returned and "49,50 €" in returned
    assert "FRST" in returned and "Rejeté" in returned and "Provision insuffisante (AM04)" in returned
    collected = said_row(html, 'data-item-id="it-2"')
    assert "Léo Dubois" in collected and "Recharge du portefeuille Repas" in collected
    assert "RCUR" in collected and "Encaissé" in collected
    assert fakes.requests("direct_debits", "GetDirectDebitBatch")[0].batch_id == "dd-1"


def batch_with(status: str, *item_statuses: str) -> sepa_pb2.GetDirectDebitBatchResponse:
    batch = sepa_pb2.DirectDebitBatch()
    batch.CopyFrom(BATCH)
    batch.status = status
    for item, item_status in zip(ITEMS, item_statuses, strict=True):
        batch.items.add().CopyFrom(item)
        batch.items[-1].status = item_status
    return sepa_pb2.GetDirectDebitBatchResponse(batch=batch)


def test_a_credited_batch_says_so_and_a_withdrawn_one_has_no_file(client, school):
    fakes = signed_in(client, school)
    fakes.on("direct_debits", "GetDirectDebitBatch", batch_with("collected", "collected", "collected"))
    resp = client.get("/gestion/domiciliations/dd-1")
    text = said(resp)
    assert "Lot crédité" in text and "Déposez ce fichier" not in text
    assert 'href="/api/v1/admin/direct-debits/dd-1/pain.008.xml"' in resp.get_data(as_text=True)
    fakes.on("direct_debits", "GetDirectDebitBatch", batch_with("created", "withdrawn", "withdrawn"))
    resp = client.get("/gestion/domiciliations/dd-1")
    assert "il n'y a pas de fichier à déposer" in said(resp) and "Retiré (mandat révoqué)" in said(resp)
    assert "pain.008.xml" not in resp.get_data(as_text=True)


def test_another_schools_batch_is_not_found(client, school):
    fakes = signed_in(client, school)

    def missing(_req):
        raise NotFound("no such batch")

    fakes.on("direct_debits", "GetDirectDebitBatch", missing)
    resp = client.get("/gestion/domiciliations/theirs")
    assert resp.status_code == 404 and "pas un lot de votre école" in said(resp)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AM04", "Provision insuffisante (AM04)"),
        ("MD01", "Pas de mandat (MD01)"),
        ("AC04", "Compte clôturé (AC04)"),
        ("MS02", "Refus du débiteur (MS02)"),
        ("MS03", "Refus du débiteur (MS03)"),
        ("ZZ99", "Motif de la banque : ZZ99"),
        ("", ""),
    ],
)
def test_return_reasons_are_said_in_words(app, code, words):
    with app.test_request_context("/"):
        assert return_reason(code) == words


@pytest.mark.parametrize(
    ("lang", "title", "reason", "download"),
    [
        ("fr", "Domiciliations", "Provision insuffisante", "Télécharger le fichier pain.008"),
        ("nl", "Domiciliëringen", "Onvoldoende saldo", "Het pain.008-bestand downloaden"),
        ("en", "Direct debits", "Insufficient funds", "Download the pain.008 file"),
    ],
)
def test_the_pages_speak_the_readers_language(client, school, lang, title, reason, download):
    signed_in(client, school)
    index = client.get(f"{PAGE}?lang={lang}").get_data(as_text=True)
    assert f"<h1>{title}</h1>" in index
    batch = said(client.get("/gestion/domiciliations/dd-1"))
    assert reason in batch and download in batch


# -- a mandate revoked ------------------------------------------------------------------------------


def test_a_mandate_is_revoked_after_a_confirmation(client, school):
    fakes = signed_in(client, school)
    fakes.on(
        "direct_debits", "RevokeMandate", sepa_pb2.RevokeMandateResponse(mandate=MANDATE, revoked_now=True)
    )
    confirm = client.get("/gestion/domiciliations/mandats/m-1/revoquer")
    assert confirm.status_code == 200
    text = said(confirm)
    assert "Révoquer le mandat CARTABLE-M-0001 ?" in text and "Emma Peeters (3A)" in text
    assert fakes.requests("direct_debits", "RevokeMandate") == []
    fields = form_fields(confirm.get_data(as_text=True), "/gestion/domiciliations/mandats/m-1/revoquer")
    done = client.post("/gestion/domiciliations/mandats/m-1/revoquer", data=fields)
    assert done.status_code == 303 and done.headers["Location"].endswith("#mandates-title")
    assert fakes.requests("direct_debits", "RevokeMandate")[0].mandate_id == "m-1"
    assert "Mandat CARTABLE-M-0001 révoqué" in said(client.get(PAGE))
    assert client.post("/gestion/domiciliations/mandats/m-1/revoquer", data={}).status_code == 400  # CSRF
    assert client.get("/gestion/domiciliations/mandats/unknown/revoquer").status_code == 404


def test_parents_may_not_open_the_schools_collections(client, school):
    fakes, _staff = school
    login(client, fakes.parent())
    for path in (PAGE, "/gestion/domiciliations/dd-1", "/gestion/domiciliations/mandats/m-1/revoquer"):
        assert client.get(path).status_code == 403, path
    assert fakes.requests("direct_debits", "ListDirectDebitBatches") == []


# -- every French string translated ---------------------------------------------------------------------

GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [
    GATEWAY / "pages" / "direct_debits.py",
    *sorted((GATEWAY / "templates" / "direct_debits").glob("*.html")),
]


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_direct_debits_is_translated(lang):
    po = GATEWAY / "translations" / "direct_debits" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string}
    assert len(_msgids()) > 60
    assert sorted(_msgids() - translated) == []
