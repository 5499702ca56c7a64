"""The school's refund pages in-process against fake services (issue #18): /gestion/remboursements (the
refunds and batches with the child's name, euros, the IBAN masked and each batch's pain.001 link; the
batch of every waiting refund created once per form key, batch_empty and method_disabled said in
words with the settings' link), the file as an attachment, a new refund (a child found, leavers first;
their wallets; the form filled from the proposal; each bad field said on it with the summary focused,
what was typed kept and nothing asked of finance; a confirmation; the refund once per form key;
finance's refusals on their field), staff only, CSRF, fr/nl/en, and every French string translated."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, sepa_pb2
from gateway.tests.conftest import form_fields, not_found
from kit.errors import Conflict, InvalidRequest

EMMA = auth_pb2.Student(id="s-emma", first_name="Emma", last_name="Peeters", class_name="3A", status="active")
LEO = auth_pb2.Student(
    id="s-leo", first_name="Léo", last_name="Dubois", class_name="6B", status="left", left_on="2026-06-30"
)
WALLETS = [
    finance_pb2.Wallet(id="w-repas", student_id="s-leo", name="Repas", balance_cents=1250),
    finance_pb2.Wallet(id="w-sorties", student_id="s-leo", name="Sorties", balance_cents=0),
]
REFUND = sepa_pb2.Refund(
    id="rf-1",
    wallet_id="w-repas",
    student_id="s-leo",
    wallet_name="Repas",
    amount_cents=1250,
    iban_masked="BE** **** **** 7034",
    holder_name="Claire Dubois",
    status="pending",
    created_at="2026-12-02T10:00:00+00:00",
    balance_after_cents=0,
)
BATCHED = sepa_pb2.Refund(
    id="rf-0",
    wallet_id="w-x",
    student_id="s-emma",
    wallet_name="Garderie",
    amount_cents=800,
    iban_masked="BE** **** **** 6769",
    holder_name="Sophie Peeters",
    status="batched",
    batch_id="rb-1",
    created_at="2026-11-20T10:00:00+00:00",
)
BATCH = sepa_pb2.RefundBatch(
    id="rb-1",
    count=1,
    total_cents=800,
    message_id="REMB0001",
    created_at="2026-11-21T09:00:00+00:00",
    execution_date="2026-11-21",
)
PAGE = "/gestion/remboursements"
FORM = "/gestion/remboursements/eleves/s-leo/portefeuilles/w-repas"


def said(resp) -> str:
    """The answer's text as read: entities decoded, no-break spaces as spaces, tags out."""
    text = htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def said_row(html: str, marker: str) -> str:
    row = re.search(rf"<tr {re.escape(marker)}.*?</tr>", html, re.S)
    assert row, marker
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", row.group(0))).replace("\xa0", " ").split())


@pytest.fixture
def fakes_(fakes):
    """A school with its IBAN, Emma and Léo (who left, 12,50 € in Repas), one refund of each kind."""

    def students(req: auth_pb2.ListStudentsRequest) -> auth_pb2.ListStudentsResponse:
        status = req.status or "active"
        found = [s for s in (EMMA, LEO) if s.status == status]
        if req.student_ids:
            found = [s for s in found if s.id in req.student_ids]
        if req.q:
            found = [s for s in found if req.q.lower() in f"{s.first_name} {s.last_name}".lower()]
        if req.class_name:
            found = [s for s in found if s.class_name == req.class_name]
        return auth_pb2.ListStudentsResponse(students=found)

    fakes.on("auth", "ListStudents", students)
    fakes.on(
        "finance",
        "GetSettings",
        finance_pb2.GetSettingsResponse(settings=finance_pb2.Settings(iban="BE71096123456769")),
    )
    fakes.on(
        "finance",
        "ListWallets",
        lambda req: finance_pb2.ListWalletsResponse(wallets=WALLETS if req.student_id == "s-leo" else []),
    )

    def listed(req: sepa_pb2.ListRefundsRequest) -> sepa_pb2.ListRefundsResponse:
        items = [r for r in (REFUND, BATCHED) if not req.unbatched or r.status == "pending"]
        return sepa_pb2.ListRefundsResponse(
            items=[r for r in items if not req.student_id or r.student_id == req.student_id]
        )

    fakes.on("refunds", "ListRefunds", listed)
    fakes.on("refunds", "ListRefundBatches", sepa_pb2.ListRefundBatchesResponse(items=[BATCH]))
    fakes.on(
        "refunds",
        "GetRefundProposal",
        sepa_pb2.GetRefundProposalResponse(
            wallet_id="w-repas",
            balance_cents=1250,
            iban="BE68539007547034",
            holder_name="Claire Dubois",
            mandate_id="m-1",
        ),
    )
    fakes.on("refunds", "CreateRefund", sepa_pb2.CreateRefundResponse(refund=REFUND, created=True))
    fakes.on(
        "refunds",
        "CreateRefundBatch",
        lambda _req: sepa_pb2.CreateRefundBatchResponse(
            batch=sepa_pb2.RefundBatch(id="rb-2", count=1, total_cents=1250), created=True
        ),
    )
    return fakes


@pytest.fixture
def staff(client, fakes_):
    client.set_cookie("cartable_session", fakes_.staff().token)
    return fakes_


# -- the list and the batches ---------------------------------------------------------------------------


def test_the_page_lists_the_refunds_and_the_batches(client, staff):
    resp = client.get(PAGE)
    assert resp.status_code == 200
    html, text = resp.get_data(as_text=True), said(resp)
    assert 'href="/gestion/remboursements" aria-current="page"' in html
    row = said_row(html, 'data-refund-id="rf-1"')
    assert "2 décembre 2026" in row and "Léo Dubois" in row and "(6B)" in row and "Portefeuille Repas" in row
    assert "12,50 €" in row and "BE** **** **** 7034" in row and "Claire Dubois" in row
    assert "En attente d'un lot" in row
    assert "Dans un lot" in said_row(html, 'data-refund-id="rf-0"')
    batch = said_row(html, 'data-batch-id="rb-1"')
    assert "21 novembre 2026" in batch and "8,00 €" in batch and "REMB0001" in batch
    assert 'href="/gestion/remboursements/lots/rb-1/pain.001.xml" download' in html
    assert "1 remboursement attend un lot de virements : 12,50 €." in text
    form = form_fields(html, "/gestion/remboursements/lots")
    assert len(form["key"]) == 36 and form["csrf_token"]
    assert 'href="/gestion/remboursements/nouveau"' in html
    assert "IBAN de l'école manquant" not in text
    assert "<caption" in html and "<h1>Remboursements</h1>" in html


def test_the_lists_follow_finances_cursors(client, staff):
    staff.on(
        "refunds", "ListRefundBatches", sepa_pb2.ListRefundBatchesResponse(items=[BATCH], next_cursor="b-2")
    )
    html = client.get(f"{PAGE}?cursor=c-1").get_data(as_text=True)
    assert 'href="/gestion/remboursements?lots=b-2#batches-title" rel="next"' in html
    assert "Remboursements les plus récents" in html
    first = [r for r in staff.requests("refunds", "ListRefunds") if not r.unbatched][-1]
    assert (first.limit, first.cursor) == (50, "c-1")

    def bad(_req):
        raise InvalidRequest("bad cursor", fields={"cursor": "use next_cursor as given"})

    staff.on("refunds", "ListRefunds", bad)
    resp = client.get(f"{PAGE}?cursor=stale")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(PAGE)


def test_a_batch_is_created_once_per_form_key(client, staff):
    form = form_fields(client.get(PAGE).get_data(as_text=True), "/gestion/remboursements/lots")
    first = client.post("/gestion/remboursements/lots", data=form)
    again = client.post("/gestion/remboursements/lots", data=form)  # a double click
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"].endswith("/gestion/remboursements#batches-title")
    keys = [r.idempotency_key for r in staff.requests("refunds", "CreateRefundBatch")]
    assert keys == [form["key"], form["key"]]
    assert "Lot de virements créé : 1 remboursement(s), 12,50 €." in said(client.get(PAGE))
    del form["csrf_token"]
    assert client.post("/gestion/remboursements/lots", data=form).status_code == 400
    assert len(staff.requests("refunds", "CreateRefundBatch")) == 2


def test_nothing_to_batch_and_a_school_without_iban_are_said(client, staff):
    form = form_fields(client.get(PAGE).get_data(as_text=True), "/gestion/remboursements/lots")

    def refuse(code):
        def answer(_req):
            raise Conflict("refused", code=code)

        return answer

    staff.on("refunds", "CreateRefundBatch", refuse("batch_empty"))
    resp = client.post("/gestion/remboursements/lots", data=form)
    assert resp.status_code == 409 and "Aucun remboursement n'attend de lot" in said(resp)
    html = resp.get_data(as_text=True)
    assert re.search(r'id="rf-errors" role="alert" tabindex="-1" autofocus', html)
    assert form_fields(html, "/gestion/remboursements/lots")["key"] == form["key"]

    staff.on("refunds", "CreateRefundBatch", refuse("method_disabled"))
    staff.on("finance", "GetSettings", finance_pb2.GetSettingsResponse(settings=finance_pb2.Settings()))
    resp = client.post("/gestion/remboursements/lots", data=form)
    assert resp.status_code == 409
    assert "Les réglages de l'école n'indiquent pas son IBAN" in said(resp)
    assert "IBAN de l'école manquant" in said(resp)
    assert 'href="/gestion/reglages"' in resp.get_data(as_text=True)

    staff.on("refunds", "CreateRefundBatch", refuse("idempotency_key_reused"))
    resp = client.post("/gestion/remboursements/lots", data=form)
    assert resp.status_code == 409
    assert form_fields(resp.get_data(as_text=True), "/gestion/remboursements/lots")["key"] != form["key"]


def test_the_batch_file_is_an_attachment_and_another_schools_is_not_found(client, staff):
    xml = b"<?xml version='1.0' encoding='UTF-8'?><Document/>"
    staff.on(
        "refunds",
        "GetRefundBatchFile",
        sepa_pb2.SepaFile(
            filename="remboursements-2026-11-21.xml", content=xml, content_type="application/xml"
        ),
    )
    got = client.get("/gestion/remboursements/lots/rb-1/pain.001.xml")
    assert got.status_code == 200 and got.data == xml and got.mimetype == "application/xml"
    assert got.headers["Content-Disposition"] == 'attachment; filename="remboursements-2026-11-21.xml"'
    assert staff.requests("refunds", "GetRefundBatchFile")[0].batch_id == "rb-1"
    staff.on("refunds", "GetRefundBatchFile", not_found)
    resp = client.get("/gestion/remboursements/lots/theirs/pain.001.xml")
    assert resp.status_code == 404 and "pas un lot de votre école" in said(resp)


# -- a new refund: the child, the wallet --------------------------------------------------------------


def test_the_search_finds_children_leavers_first_and_lists_leavers_by_default(client, staff):
    resp = client.get("/gestion/remboursements/nouveau")
    text, html = said(resp), resp.get_data(as_text=True)
    assert "Élèves qui ont quitté l'école" in text and "Léo Dubois" in text and "Emma" not in text
    assert "a quitté l'école le 30 juin 2026" in text
    assert 'href="/gestion/remboursements/eleves/s-leo"' in html and "autofocus" in html
    found = said(client.get("/gestion/remboursements/nouveau?q=s"))
    assert found.index("Léo Dubois") < found.index("Emma Peeters")
    assert "Aucun élève de l'école ne correspond à « zz »." in said(
        client.get("/gestion/remboursements/nouveau?q=zz")
    )


def test_the_childs_wallets_are_shown_each_refundable_with_money(client, staff):
    resp = client.get("/gestion/remboursements/eleves/s-leo")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Rembourser Léo Dubois" in said(resp)
    assert "12,50 €" in said_row(html, 'data-wallet-id="w-repas"')
    assert f'href="{FORM}"' in html
    assert "Rien à rembourser" in said_row(html, 'data-wallet-id="w-sorties"')
    assert "w-sorties" not in re.findall(r'href="([^"]+)"', html).__str__()
    assert "Remboursements déjà faits" in said(resp)
    assert client.get("/gestion/remboursements/eleves/s-other").status_code == 404


def test_the_form_is_filled_with_what_the_wallet_proposes(client, staff):
    resp = client.get(FORM)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.search(r'<input id="iban" name="iban" type="text" value="BE68 5390 0754 7034"', html)
    assert re.search(r'<input id="holder_name" name="holder_name" type="text" value="Claire Dubois"', html)
    assert re.search(r'<input id="amount" name="amount" type="text" value="12,50"', html)
    assert re.search(r'<label for="reason">Motif</label>', html)
    assert "celui du mandat de domiciliation actif" in said(resp)
    form = form_fields(html, FORM)
    assert form["step"] == "check" and len(form["key"]) == 36
    assert staff.requests("refunds", "GetRefundProposal")[0].wallet_id == "w-repas"
    assert client.get("/gestion/remboursements/eleves/s-leo/portefeuilles/w-theirs").status_code == 404


def filled(client, **values) -> dict[str, str]:
    form = form_fields(client.get(FORM).get_data(as_text=True), FORM)
    return {
        **form,
        "iban": "BE68 5390 0754 7034",
        "holder_name": "Claire Dubois",
        "amount": "12,50",
        **values,
    }


def test_a_refund_is_checked_confirmed_then_made_once_per_key(client, staff):
    form = filled(client, amount="10", reason="Solde repas")
    confirm = client.post(FORM, data=form)
    assert confirm.status_code == 200
    text = said(confirm)
    assert "Confirmer le remboursement" in text and "10,00 € à Claire Dubois" in text
    assert "Le portefeuille est débité tout de suite de 10,00 €." in text
    assert "Solde après le remboursement 2,50 €" in text and "Solde repas" in text
    assert staff.requests("refunds", "CreateRefund") == []
    fields = {**form_fields(confirm.get_data(as_text=True), FORM), "step": "create"}
    assert fields["key"] == form["key"] and fields["iban"] == "BE68 5390 0754 7034"
    done = client.post(FORM, data=fields)
    # a double click, or the confirmation posted again: the same key reaches finance (which answers
    # the first refund again) even though the balance no longer holds the amount
    staff.on("refunds", "GetRefundProposal", sepa_pb2.GetRefundProposalResponse(wallet_id="w-repas"))
    again = client.post(FORM, data=fields)
    assert done.status_code == again.status_code == 303
    assert done.headers["Location"].endswith("/gestion/remboursements#refunds-title")
    first, second = staff.requests("refunds", "CreateRefund")
    assert (first.wallet_id, first.iban, first.holder_name, first.amount_cents, first.reason) == (
        "w-repas",
        "BE68 5390 0754 7034",
        "Claire Dubois",
        1000,
        "Solde repas",
    )
    assert first.idempotency_key == second.idempotency_key == form["key"]
    assert "Remboursement enregistré : 12,50 € du portefeuille Repas de Léo Dubois" in said(client.get(PAGE))


def test_modifier_shows_the_form_again_as_typed(client, staff):
    form = {**filled(client, amount="7,5", reason="Solde"), "step": "edit"}
    resp = client.post(FORM, data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'value="7,5"' in html and 'value="Solde"' in html
    assert form_fields(html, FORM)["key"] == form["key"] and "rf-errors" not in html


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"iban": "BE68 5390 0754 7035"}, "iban", "Cet IBAN n'est pas valable"),
        ({"iban": ""}, "iban", "Indiquez l'IBAN du compte à créditer"),
        ({"holder_name": "  "}, "holder_name", "Indiquez le nom du titulaire du compte"),
        ({"amount": "12,51"}, "amount", "Le portefeuille ne contient que 12,50 €"),
        ({"amount": "0"}, "amount", "Le montant doit être supérieur à 0,00 €."),
        ({"amount": "-3"}, "amount", "Indiquez le montant en euros"),
        ({"amount": "douze"}, "amount", "Indiquez le montant en euros"),
        ({"reason": "x" * 141}, "reason", "140 caractères au plus"),
    ],
)
def test_a_bad_field_is_said_on_it_and_nothing_is_asked_of_finance(client, staff, values, field, words):
    form = filled(client, **values)
    resp = client.post(FORM, data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(
        r'<div class="flash flash-error" id="rf-errors" role="alert" tabindex="-1" autofocus>', html
    )
    assert f'<a href="#{field}">' in html and words in said(resp)
    assert re.search(
        rf'<input id="{field}"[^>]*aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"', html
    )
    assert html.count("autofocus") == 1
    kept = "Claire Dubois" if field != "holder_name" else "BE68 5390 0754 7034"
    assert kept in html and form_fields(html, FORM)["key"] == form["key"]
    assert staff.requests("refunds", "CreateRefund") == []


def test_finances_refusals_are_said_on_their_field(client, staff):
    form = {**filled(client), "step": "create"}

    def refuse(err):
        def answer(_req):
            raise err

        return answer

    staff.on("refunds", "CreateRefund", refuse(Conflict("short", code="insufficient_balance")))
    resp = client.post(FORM, data=form)
    assert resp.status_code == 409 and "Le portefeuille ne contient que 12,50 €" in said(resp)
    assert 'id="amount-error"' in resp.get_data(as_text=True)
    staff.on("refunds", "CreateRefund", refuse(InvalidRequest("bad", fields={"iban": "outside SEPA"})))
    resp = client.post(FORM, data=form)
    assert resp.status_code == 400 and 'id="iban-error"' in resp.get_data(as_text=True)
    staff.on("refunds", "CreateRefund", refuse(Conflict("reused", code="idempotency_key_reused")))
    resp = client.post(FORM, data=form)
    assert resp.status_code == 409 and "Ce formulaire a déjà servi" in said(resp)
    assert form_fields(resp.get_data(as_text=True), FORM)["key"] != form["key"]
    staff.on("refunds", "CreateRefund", refuse(Conflict("gone", code="not_found")))
    staff.on("refunds", "GetRefundProposal", not_found)
    assert client.post(FORM, data=form).status_code == 404


def test_an_empty_wallet_offers_no_form(client, staff):
    staff.on("refunds", "GetRefundProposal", sepa_pb2.GetRefundProposalResponse(wallet_id="w-sorties"))
    resp = client.get("/gestion/remboursements/eleves/s-leo/portefeuilles/w-sorties")
    assert "Ce portefeuille est vide : il n'y a rien à rembourser." in said(resp)
    assert 'id="iban"' not in resp.get_data(as_text=True)
    assert "aucun : la famille n'a pas de mandat" in said(resp)


def test_a_refund_without_the_forms_csrf_token_is_refused(client, staff):
    form = {**filled(client), "step": "create"}
    del form["csrf_token"]
    assert client.post(FORM, data=form).status_code == 400
    assert staff.requests("refunds", "CreateRefund") == []


def test_parents_may_not_open_the_refunds(client, fakes_):
    client.set_cookie("cartable_session", fakes_.parent().token)
    for path in (PAGE, "/gestion/remboursements/nouveau", "/gestion/remboursements/eleves/s-leo", FORM):
        assert client.get(path).status_code == 403, path
    assert client.get("/gestion/remboursements/lots/rb-1/pain.001.xml").status_code == 403
    assert (
        fakes_.requests("refunds", "ListRefunds") == []
        and fakes_.requests("refunds", "GetRefundProposal") == []
    )


@pytest.mark.parametrize(
    ("lang", "title", "status", "button"),
    [
        ("fr", "Remboursements", "En attente d'un lot", "Créer le lot de virements"),
        ("nl", "Terugbetalingen", "Wacht op een batch", "De overschrijvingsbatch aanmaken"),
        ("en", "Refunds", "Waiting for a batch", "Create the transfer batch"),
    ],
)
def test_the_pages_speak_the_readers_language(client, staff, lang, title, status, button):
    text = said(client.get(f"{PAGE}?lang={lang}"))
    assert f"{title} " in text and status in text and button in text
    assert "€" in said(client.get(FORM))


# -- every French string translated ---------------------------------------------------------------------

GATEWAY = Path(__file__).resolve().parents[1]
SOURCES = [GATEWAY / "pages" / "refunds.py", *sorted((GATEWAY / "templates" / "refunds").glob("*.html"))]


def _msgids() -> set[str]:
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    for path in SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(method, str(path), keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_string_of_the_refunds_is_translated(lang):
    po = GATEWAY / "translations" / "refunds" / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = list(read_po(f))
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    assert len(_msgids()) > 60
    assert sorted(_msgids() - translated) == []
    for m in catalog:
        if m.id:
            wanted = set(re.findall(r"%\(\w+\)[ds]", m.id if isinstance(m.id, str) else m.id[0]))
            strings = [m.string] if isinstance(m.string, str) else list(m.string)
            assert all(set(re.findall(r"%\(\w+\)[ds]", s)) == wanted for s in strings), m.id
