"""The Flemish maximum bill's staff pages in-process (issue #19): the caps in the settings, a student's
counters on their account page, and the series invoice form's line attributes, its 409
max_bill_exceeded in words and the override box; fr/nl/en."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2, max_bill_pb2
from gateway.tests.test_student_account_pages import money  # noqa: F401 - the fixture
from gateway.tests.test_students_pages import staff  # noqa: F401 - the fixture
from kit.errors import Conflict

CAPS = max_bill_pb2.MaxBillCaps(
    school_year="2026-2027", level="lager", strict_cents=10500, less_strict_cents=48000
)


def said(resp) -> str:
    return htmllib.unescape(resp.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


@pytest.fixture
def manager(client, fakes):
    who = fakes.staff()
    client.set_cookie("cartable_session", who.token)
    fakes.on("max_bill", "ListMaxBillCaps", max_bill_pb2.ListMaxBillCapsResponse(caps=[CAPS]))
    fakes.on("max_bill", "SetMaxBillCaps", lambda req: max_bill_pb2.SetMaxBillCapsResponse(caps=req.caps))
    return who


def test_the_caps_page_lists_and_sets_caps_in_euros(client, fakes, manager):
    page = said(client.get("/gestion/reglages/maximumfactuur"))
    assert "Maximum à facturer (Flandre)" in page and "105,00 €" in page and "480,00 €" in page
    resp = client.post(
        "/gestion/reglages/maximumfactuur",
        data={
            "csrf_token": csrf(page),
            "school_year": "2027-2028",
            "level": "kleuter",
            "strict": "50",
            "less_strict": "0",
        },
    )
    assert resp.status_code == 303
    (req,) = fakes.requests("max_bill", "SetMaxBillCaps")
    assert (req.caps.school_year, req.caps.level, req.caps.strict_cents, req.caps.less_strict_cents) == (
        "2027-2028",
        "kleuter",
        5000,
        0,
    )


def test_bad_caps_are_said_on_their_fields(client, fakes, manager):
    page = said(client.get("/gestion/reglages/maximumfactuur"))
    resp = client.post(
        "/gestion/reglages/maximumfactuur",
        data={
            "csrf_token": csrf(page),
            "school_year": "2026-2028",
            "level": "x",
            "strict": "abc",
            "less_strict": "1",
        },
    )
    body = said(resp)
    assert resp.status_code == 400
    assert "Une année scolaire comme 2026-2027." in body and "Choisissez maternelle ou primaire." in body
    assert 'id="strict-error"' in body or "Un montant en euros" in body
    assert fakes.requests("max_bill", "SetMaxBillCaps") == []


@pytest.mark.parametrize(
    ("lang", "title"), [("nl", "Maximumfactuur (Vlaanderen)"), ("en", "Maximum bill (Flanders)")]
)
def test_the_caps_page_speaks_the_readers_language(client, manager, lang, title):
    assert title in said(client.get(f"/gestion/reglages/maximumfactuur?lang={lang}"))


def test_the_student_account_page_shows_the_counters(client, fakes, money):  # noqa: F811
    fakes.on(
        "max_bill",
        "GetMaxBill",
        max_bill_pb2.GetMaxBillResponse(
            student_id="s-1",
            school_year="2026-2027",
            level="lager",
            capped=True,
            counters=[
                max_bill_pb2.MaxBillCounter(cap="strict", cap_cents=10500, used_cents=6000, left_cents=4500),
                max_bill_pb2.MaxBillCounter(
                    cap="less_strict", cap_cents=48000, used_cents=0, left_cents=48000
                ),
            ],
        ),
    )
    page = said(client.get("/gestion/eleves/s-1/releve-de-compte"))
    part = page[page.index('id="max-bill-title"') :]
    assert "Maximum à facturer 2026-2027" in part
    assert "105,00 €" in part and "60,00 €" in part and "45,00 €" in part and "480,00 €" in part


def test_the_student_account_page_without_counters_still_answers(client, fakes, money):  # noqa: F811
    resp = client.get("/gestion/eleves/s-1/releve-de-compte")  # GetMaxBill unanswered
    assert resp.status_code == 200 and 'id="max-bill-title"' not in said(resp)


@pytest.fixture
def series(client, fakes):
    who = fakes.staff()
    client.set_cookie("cartable_session", who.token)
    fakes.on(
        "finance",
        "GetFinanceSummary",
        finance_pb2.GetFinanceSummaryResponse(
            classes=[finance_pb2.ClassFinanceSummary(class_name="1A", students=2)]
        ),
    )
    fakes.on(
        "auth",
        "ListStudents",
        auth_pb2.ListStudentsResponse(
            students=[auth_pb2.Student(id="s-1", first_name="Emma", last_name="Peeters", class_name="1A")]
        ),
    )
    return who


def series_form(page: str, **over) -> dict:
    form = {
        "csrf_token": csrf(page),
        "key": "k-series",
        "title": "Uitstap",
        "label_0": "Bus",
        "quantity_0": "1",
        "price_0": "50",
        "max_bill_0": "strict",
        "label_1": "Opvang",
        "price_1": "20",
        "childcare_1": "1",
        "days_1": "8",
        "optional_1": "1",
        "class_names": "1A",
        "step": "issue",
    }
    form.update(over)
    return form


def test_the_series_form_passes_each_lines_attributes(client, fakes, series):
    page = said(client.get("/gestion/factures/nouvelle-serie"))
    assert (
        "Garde d'enfants (attestation fiscale)" in page
        and "Facultatif" in page
        and "Maximum à facturer" in page
    )
    fakes.on(
        "finance", "BulkCreateInvoices", finance_pb2.BulkCreateInvoicesResponse(count=2, total_cents=14000)
    )
    resp = client.post("/gestion/factures/nouvelle-serie", data=series_form(page))
    assert resp.status_code == 303
    (req,) = fakes.requests("finance", "BulkCreateInvoices")
    assert [(ln.childcare, ln.days, ln.optional, ln.max_bill) for ln in req.lines] == [
        (False, 0, False, "strict"),
        (True, 8, True, ""),
    ]
    assert req.override_max_bill is False


def test_days_without_childcare_are_said_on_the_row(client, fakes, series):
    page = said(client.get("/gestion/factures/nouvelle-serie"))
    resp = client.post("/gestion/factures/nouvelle-serie", data=series_form(page, childcare_1="", days_1="3"))
    assert resp.status_code == 400 and "Les jours ne se disent que d'une ligne de garde d'enfants." in said(
        resp
    )


def test_a_series_past_the_maximum_bill_is_said_with_what_is_left_and_can_be_overridden(
    client, fakes, series
):
    def refuse(req):
        raise Conflict(
            "past",
            code="max_bill_exceeded",
            fields={
                "cap": "strict",
                "cap_cents": "10500",
                "used_cents": "6000",
                "left_cents": "4500",
                "adding_cents": "5000",
                "student_id": "s-1",
                "school_year": "2026-2027",
                "level": "lager",
            },
        )

    fakes.on("finance", "BulkCreateInvoices", refuse)
    page = said(client.get("/gestion/factures/nouvelle-serie"))
    resp = client.post("/gestion/factures/nouvelle-serie", data=series_form(page))
    body = said(resp)
    assert resp.status_code == 409
    assert "il reste 45,00 € sur 105,00 €" in body and "2026-2027" in body
    assert 'id="override_max_bill"' in body
    fakes.on(
        "finance", "BulkCreateInvoices", finance_pb2.BulkCreateInvoicesResponse(count=1, total_cents=7000)
    )
    again = client.post("/gestion/factures/nouvelle-serie", data=series_form(page, override_max_bill="1"))
    assert again.status_code == 303
    assert fakes.requests("finance", "BulkCreateInvoices")[-1].override_max_bill is True
    # the confirmation carries the override through
    confirm = said(
        client.post(
            "/gestion/factures/nouvelle-serie", data=series_form(page, override_max_bill="1", step="check")
        )
    )
    assert 'name="override_max_bill" value="1"' in confirm and 'name="max_bill_0" value="strict"' in confirm


def test_the_409_speaks_dutch(client, fakes, series):
    fakes.on(
        "finance",
        "BulkCreateInvoices",
        lambda req: (_ for _ in ()).throw(
            Conflict(
                "past",
                code="max_bill_exceeded",
                fields={
                    "cap": "strict",
                    "cap_cents": "10500",
                    "left_cents": "0",
                    "adding_cents": "1",
                    "school_year": "2026-2027",
                },
            )
        ),
    )
    page = said(client.get("/gestion/factures/nouvelle-serie?lang=nl"))
    body = said(client.post("/gestion/factures/nouvelle-serie?lang=nl", data=series_form(page)))
    assert "Deze factuur zou de scherpe maximumfactuur van schooljaar 2026-2027 overschrijden" in body


def test_the_settings_page_links_to_the_caps(client, fakes, manager):
    from cartable.notifications.v1 import notifications_pb2

    fakes.on("finance", "GetSettings", finance_pb2.GetSettingsResponse(settings=finance_pb2.Settings()))
    fakes.on("finance", "ListWalletTypes", finance_pb2.ListWalletTypesResponse())
    fakes.on(
        "notifications",
        "GetReminderSettings",
        notifications_pb2.GetReminderSettingsResponse(),
    )
    page = said(client.get("/gestion/reglages"))
    assert 'href="/gestion/reglages/maximumfactuur"' in page and "Maximum à facturer (Flandre)" in page
