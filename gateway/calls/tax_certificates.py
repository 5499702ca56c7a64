"""Childcare tax certificates (281.86, issue #19): finance knows what was paid and by whom
(TaxCertificateService, beside FinanceService on its server), auth knows the people. Generating a year
asks finance which children had childcare paid, asks auth for each of them (name, birth date,
national number, parents) and for each parent (name, national number in full, language), and gives
that to finance. The JSON API (``gateway.api.tax_certificates``) and the page
(``gateway.pages.tax_certificates``) call these.

The Belcotax-on-web upload: the federal finance administration's XML layout for form 281.86 could not
be obtained here, so the export is a CSV with every field the form asks for, one row per certificate
(``export_csv``); the school types or converts it for Belcotax-on-web.

A student's severe disability (auth's ``severe_disability``, set on the student's page) raises the
age limit from 14 to 21."""

from __future__ import annotations

import csv
import io

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from gateway.calls.account import get_parent
from gateway.calls.students import get_student
from gateway.clients import rpc
from kit.money import cents_to_decimal_str

GENERATE_TIMEOUT = 60.0  # every child of the school with paid childcare, in one transaction


def _tax(method: str, request, timeout: float | None = None):
    return rpc("tax_certificates", method, request, timeout=timeout)


def _person(p: auth_pb2.ParentContact) -> tpb.TaxPerson:
    return tpb.TaxPerson(
        id=p.id,
        first_name=p.first_name,
        last_name=p.last_name,
        national_number=p.national_number,
        language=(p.language or "")[:2].lower(),
    )


def children(year: int) -> list[tpb.TaxChild]:
    """The children finance has paid childcare for in ``year``, as auth knows them (and their parents)."""
    ids = list(_tax("ListChildcareStudents", tpb.ListChildcareStudentsRequest(year=year)).student_ids)
    parents: dict[str, tpb.TaxPerson] = {}
    out = []
    for sid in ids:
        got = get_student(sid)
        st = got.student
        for pid in st.parent_ids:
            if pid not in parents:
                parent, _children = get_parent(pid)
                parents[pid] = _person(parent)
        out.append(
            tpb.TaxChild(
                student_id=st.id,
                first_name=st.first_name,
                last_name=st.last_name,
                birth_date=st.birth_date,
                national_number=st.national_number,
                severe_disability=st.severe_disability,
                parents=[parents[pid] for pid in st.parent_ids if pid in parents],
            )
        )
    return out


def generate(year: int, key: str, language: str = "fr") -> tpb.GenerateTaxCertificatesResponse:
    """The year's certificates made (409 ``enterprise_number_missing``; 400 on the year)."""
    req = tpb.GenerateTaxCertificatesRequest(
        year=year, children=children(year), idempotency_key=key, language=language
    )
    return _tax("GenerateTaxCertificates", req, timeout=GENERATE_TIMEOUT)


def certificates(year: int) -> tpb.ListTaxCertificatesResponse:
    return _tax("ListTaxCertificates", tpb.ListTaxCertificatesRequest(year=year))


def set_daily_cap(year: int, cents: int) -> tpb.SetDailyCapResponse:
    """The year's legal maximum per day as the school read it, for a year the code does not know
    (409 ``daily_cap_known`` otherwise; 400 ``daily_cap_cents`` out of 100..5000)."""
    return _tax("SetDailyCap", tpb.SetDailyCapRequest(year=year, daily_cap_cents=cents))


PERIODS = 4
HEADER = (
    [
        "annee_revenus",
        "numero_attestation",
        "version",
        "remplace_version",
        "institution_numero_entreprise",
        "institution_nom",
        "institution_adresse",
        "debiteur_nom",
        "debiteur_prenom",
        "debiteur_numero_registre_national",
        "enfant_nom",
        "enfant_prenom",
        "enfant_date_naissance",
        "enfant_numero_registre_national",
    ]
    + [
        f"periode{i}_{f}"
        for i in range(1, PERIODS + 1)
        for f in ("du", "au", "jours", "tarif_journalier", "montant")
    ]
    + ["total_jours", "total_montant", "montant_limite_maximum_legal", "maximum_journalier"]
)


def _cell(value: str) -> str:
    # a name typed as a formula is not run by the spreadsheet the school opens the file in
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _eur(cents: int) -> str:
    return cents_to_decimal_str(cents)  # 12.50: the other exports' amounts


def export_rows(listing: tpb.ListTaxCertificatesResponse) -> list[list[str]]:
    """One row per current certificate, in HEADER's order."""
    rows = []
    for c in listing.certificates:
        periods: list[str] = []
        for p in list(c.periods)[:PERIODS]:
            periods += [p.start, p.end, str(p.days), _eur(p.daily_rate_cents), _eur(p.amount_cents)]
        periods += [""] * (5 * PERIODS - len(periods))
        rows.append(
            [
                str(c.year),
                c.number,
                str(c.version),
                str(c.version - 1) if c.version > 1 else "",
                listing.enterprise_number,
                listing.school_name,
                listing.school_address,
                c.parent.last_name,
                c.parent.first_name,
                c.parent.national_number,
                c.child.last_name,
                c.child.first_name,
                c.child.birth_date,
                c.child.national_number,
                *periods,
                str(c.days),
                _eur(c.amount_cents),
                _eur(c.capped_amount_cents),
                _eur(c.daily_cap_cents),
            ]
        )
    return rows


def export_csv(year: int) -> bytes:
    """The year's certificates for Belcotax-on-web as a CSV: UTF-8 with a BOM, ``;``-separated (the
    other exports' format), a header row."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([[_cell(v) for v in row] for row in export_rows(certificates(year))])
    return out.getvalue().encode("utf-8")
