"""The tax certificates' gaps closed, in-process against fake services (issue #19): the school's
address in the JSON settings and the settings page; a student's severe disability set through the
JSON API and the student's page, and sent to finance when the year's certificates are made; the
certificates page warning without an address and taking the year's legal maximum per day when
Cartable does not know it (PUT .../daily-cap in JSON); every new string translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from cartable.auth.v1 import auth_pb2 as apb
from cartable.finance.v1 import finance_pb2 as fpb
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from cartable.notifications.v1 import notifications_pb2 as npb
from gateway.tests.conftest import form_fields
from gateway.tests.test_students_pages import EMMA
from gateway.tests.test_students_pages import staff as student_staff  # noqa: F401 (fixture)
from gateway.tests.test_tax_certificates_api import serve_people
from gateway.tests.test_tax_certificates_pages import PAGE, said
from gateway.tests.test_tax_certificates_pages import school as certificates_school  # noqa: F401
from kit.errors import Conflict, InvalidRequest

SETTINGS = {"iban": "BE68539007547034", "beneficiary": "École", "top_up_methods": []}
ADDRESS = {"street": "Rue de l'École 1", "postal_code": "1000", "city": "Bruxelles"}


def saved_settings(fakes) -> None:
    def update(req):
        return fpb.UpdateSettingsResponse(settings=req.settings)

    fakes.on("finance", "UpdateSettings", update)


def test_the_json_settings_take_the_address_and_keep_it_when_left_out(client, fakes):
    staff = fakes.staff()
    saved_settings(fakes)
    resp = client.put("/api/v1/admin/settings", json={**SETTINGS, "address": ADDRESS}, headers=staff.bearer)
    assert resp.status_code == 200
    assert resp.get_json()["address"] == ADDRESS
    assert set(resp.get_json()) >= {"iban", "enterprise_number", "creditor_id", "reminders"}
    sent = fakes.requests("finance", "UpdateSettings")[0].settings
    assert sent.HasField("address") and sent.address.postal_code == "1000"
    client.put("/api/v1/admin/settings", json=SETTINGS, headers=staff.bearer)
    assert not fakes.requests("finance", "UpdateSettings")[1].settings.HasField("address")  # kept
    cleared = client.put("/api/v1/admin/settings", json={**SETTINGS, "address": None}, headers=staff.bearer)
    assert cleared.status_code == 200
    assert fakes.requests("finance", "UpdateSettings")[2].settings.HasField("address")
    bad = client.put(
        "/api/v1/admin/settings", json={**SETTINGS, "address": "Bruxelles"}, headers=staff.bearer
    )
    assert bad.status_code == 400 and "address" in bad.get_json()["error"]["fields"]
    bad = client.put(
        "/api/v1/admin/settings", json={**SETTINGS, "address": {"city": 1000}}, headers=staff.bearer
    )
    assert bad.status_code == 400 and "address.city" in bad.get_json()["error"]["fields"]


def test_finances_refusal_of_a_postal_code_is_said_on_the_settings_page(client, fakes):
    staff = fakes.staff()
    client.set_cookie("cartable_session", staff.token)
    fakes.on(
        "finance",
        "GetSettings",
        fpb.GetSettingsResponse(settings=fpb.Settings(address=fpb.SchoolAddress(**ADDRESS))),
    )
    fakes.on("finance", "ListWalletTypes", fpb.ListWalletTypesResponse())
    fakes.on("notifications", "GetReminderSettings", npb.GetReminderSettingsResponse())
    page = client.get("/gestion/reglages")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="address_postal_code"' in body and 'value="1000"' in body and "Bruxelles" in body

    def refuse(req):
        assert req.settings.address.postal_code == "75001"
        raise InvalidRequest("bad", fields={"address.postal_code": "a Belgian postal code"})

    fakes.on("finance", "UpdateSettings", refuse)
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', body)[1],
        "iban": "BE68539007547034",
        "beneficiary": "École",
    }
    form |= {"address_street": "Rue 1", "address_postal_code": "75001", "address_city": "Paris"}
    resp = client.post("/gestion/reglages", data=form)
    assert resp.status_code == 400
    assert "Indiquez un code postal belge : 4 chiffres, de 1000 à 9999." in said(resp)
    assert 'href="#address_postal_code"' in resp.get_data(as_text=True)


def test_the_json_patch_takes_the_disability_flag(client, fakes):
    staff = fakes.staff()
    fakes.on("auth", "UpdateStudent", apb.UpdateStudentResponse(student=EMMA))
    url = "/api/v1/admin/students/s-1"
    assert client.patch(url, json={"severe_disability": True}, headers=staff.bearer).status_code == 200
    (sent,) = fakes.requests("auth", "UpdateStudent")
    assert sent.HasField("severe_disability") and sent.severe_disability is True
    assert not sent.HasField("class_name")
    bad = client.patch(url, json={"severe_disability": "yes"}, headers=staff.bearer)
    assert bad.status_code == 400 and "severe_disability" in bad.get_json()["error"]["fields"]


def test_the_students_page_checkbox_sets_and_clears_the_flag(client, fakes, student_staff):  # noqa: F811
    fakes.on("auth", "UpdateStudent", apb.UpdateStudentResponse(student=EMMA))
    page = client.get("/gestion/eleves/s-1").get_data(as_text=True)
    assert (
        "Handicap grave (attestation fiscale jusqu&#39;à 21 ans)" in page
        or "Handicap grave (attestation fiscale jusqu'à 21 ans)" in page
    )
    assert 'id="severe_disability"' in page and "checked" not in page.split('id="severe_disability"')[1][:120]
    form = {**form_fields(page, "/gestion/eleves/s-1")}
    form |= {"first_name": "Emma", "last_name": "D'Hondt", "class_name": "3A", "level": "primary"}
    form |= {"birth_date": "2016-04-02", "external_id": "E-001", "national_number": "16040212391"}
    assert client.post("/gestion/eleves/s-1", data={**form, "severe_disability": "1"}).status_code == 303
    (sent,) = fakes.requests("auth", "UpdateStudent")
    assert sent.severe_disability is True and not sent.HasField("class_name")
    flagged = apb.Student()
    flagged.CopyFrom(EMMA)
    flagged.severe_disability = True
    student_staff.state["student"] = flagged
    page = client.get("/gestion/eleves/s-1").get_data(as_text=True)
    assert "checked" in page.split('id="severe_disability"')[1][:120]
    assert client.post("/gestion/eleves/s-1", data=form).status_code == 303  # unchecked: cleared
    assert fakes.requests("auth", "UpdateStudent")[1].severe_disability is False


def test_the_flag_is_sent_to_finance_with_the_child(client, fakes):
    serve_people(fakes)
    flagged = apb.GetStudentResponse(
        student=apb.Student(
            id="s-emma", birth_date="2009-01-10", parent_ids=["p-mum"], severe_disability=True
        )
    )
    fakes.on("auth", "GetStudent", flagged)
    fakes.on("tax_certificates", "GenerateTaxCertificates", tpb.GenerateTaxCertificatesResponse(count=1))
    staff = fakes.staff()
    resp = client.post(
        "/api/v1/admin/tax-certificates",
        json={"year": 2024},
        headers={**staff.bearer, "Idempotency-Key": "k"},
    )
    assert resp.status_code == 201
    (req,) = fakes.requests("tax_certificates", "GenerateTaxCertificates")
    assert [c.severe_disability for c in req.children] == [True]


def listing(**kw) -> tpb.ListTaxCertificatesResponse:
    return tpb.ListTaxCertificatesResponse(school_name="École", enterprise_number="0203201340", **kw)


def test_the_page_warns_without_an_address_and_asks_for_an_unknown_years_maximum(
    client,
    fakes,
    certificates_school,  # noqa: F811
):
    fakes.on("tax_certificates", "ListTaxCertificates", listing())
    resp = client.get(f"{PAGE}?annee=2025")
    text, body = said(resp), resp.get_data(as_text=True)
    assert "Adresse de l'école manquante" in text and 'href="/gestion/reglages#address"' in body
    assert "Cartable ne connaît pas encore le montant maximal par jour de garde pour 2025" in text
    assert "SPF Finances" in text and 'href="https://finances.belgium.be/fr"' in body
    assert f'action="{PAGE}/maximum-journalier"' in body

    fakes.on(
        "tax_certificates",
        "SetDailyCap",
        tpb.SetDailyCapResponse(daily_cap_cents=1690, daily_cap_source="school"),
    )
    form = {**form_fields(body, f"{PAGE}/maximum-journalier"), "maximum": "16,9"}
    done = client.post(f"{PAGE}/maximum-journalier", data=form)
    assert done.status_code == 303
    (sent,) = fakes.requests("tax_certificates", "SetDailyCap")
    assert (sent.year, sent.daily_cap_cents) == (2025, 1690)
    bad = client.post(f"{PAGE}/maximum-journalier", data={**form, "maximum": "seize"})
    assert bad.status_code == 400 and "entre 1,00 et 50,00" in said(bad)
    assert 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert len(fakes.requests("tax_certificates", "SetDailyCap")) == 1


def test_the_page_shows_the_figure_and_its_source(client, fakes, certificates_school):  # noqa: F811
    address = "Rue de l'École 1, 1000 Bruxelles"
    fakes.on(
        "tax_certificates",
        "ListTaxCertificates",
        listing(school_address=address, daily_cap_cents=1690, daily_cap_source="school"),
    )
    text = said(client.get(f"{PAGE}?annee=2025"))
    assert "Adresse de l'école manquante" not in text
    assert "16,90 € par jour et par enfant : le montant indiqué par l'école" in text
    fakes.on(
        "tax_certificates",
        "ListTaxCertificates",
        listing(school_address=address, daily_cap_cents=1640, daily_cap_source="law"),
    )
    resp = client.get(f"{PAGE}?annee=2024")
    assert "16,40 € par jour et par enfant : le montant publié pour 2024" in said(resp)
    assert f'action="{PAGE}/maximum-journalier"' not in resp.get_data(as_text=True)


def test_the_json_daily_cap(client, fakes):
    staff = fakes.staff()
    fakes.on(
        "tax_certificates",
        "SetDailyCap",
        tpb.SetDailyCapResponse(daily_cap_cents=1690, daily_cap_source="school"),
    )
    resp = client.put(
        "/api/v1/admin/tax-certificates/2025/daily-cap", json={"daily_cap_cents": 1690}, headers=staff.bearer
    )
    assert resp.status_code == 200 and resp.get_json() == {"daily_cap_cents": 1690, "source": "school"}

    def known(req):
        raise Conflict("known", code="daily_cap_known")

    fakes.on("tax_certificates", "SetDailyCap", known)
    resp = client.put(
        "/api/v1/admin/tax-certificates/2024/daily-cap", json={"daily_cap_cents": 1690}, headers=staff.bearer
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "daily_cap_known"
    parent = fakes.parent() if hasattr(fakes, "parent") else None
    if parent is not None:
        resp = client.put(
            "/api/v1/admin/tax-certificates/2025/daily-cap",
            json={"daily_cap_cents": 1690},
            headers=parent.bearer,
        )
        assert resp.status_code == 403


GATEWAY = Path(__file__).resolve().parents[1]
AREAS = {
    "tax_certificates": [
        GATEWAY / "templates" / "tax_certificates" / "_year_facts.html",
        GATEWAY / "pages" / "tax_certificates.py",
    ],
    "students": [GATEWAY / "templates" / "students" / "student.html"],
    "settings_staff": [
        GATEWAY / "templates" / "settings_staff" / "settings.html",
        GATEWAY / "pages" / "settings_staff.py",
    ],
}


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("area", sorted(AREAS))
def test_every_new_string_is_translated(area, lang):
    found: set[str] = set()
    for path in AREAS[area]:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for _line, message, _c, _ctx in extract_from_file(
            method, str(path), keywords={"_": None, "gettext": None, "lazy_gettext": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    translated: set[str] = set()  # the area's catalog, and the shared ones the page also reads
    for po in (GATEWAY / "translations").glob(f"*/{lang}/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            translated |= {
                m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string
            }
    po = GATEWAY / "translations" / area / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        mine = {m.id for m in read_po(f) if m.id and m.string}
    assert "Adresse de l'école" in mine or area != "settings_staff"
    assert sorted(found - translated) == []
