"""The PDF of a childcare tax certificate (attestation 281.86 / kinderopvangattest), rendered from
finance.tax_certificate.issued.v1 alone, in fr, nl or en. It follows the sections of the official
model (FOD Financiën / SPF Finances, mandatory since income year 2022): the certifying institution
(the school, its enterprise number and address), the person who paid (name, national register
number), the child (name, birth date, national register number), up to four periods of care with
their days, daily rate and amount, the total, and the signature block. A correction says which
certificate it replaces.

The amounts printed are those received; the capped amount (days x the year's legal maximum per day)
is printed apart, for the parents' tax return."""

from __future__ import annotations

from datetime import date

from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit.dates import format_date
from kit.money import format_eur
from services.documents.mandate_pdf import language
from services.documents.pdf import PdfDocument, strings_of

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Attestation de frais de garde d'enfants",
        "subtitle": "Attestation n° 281.86 – année des revenus {year} – n° {number}",
        "document": "Attestation fiscale frais de garde {year} – {child}",
        "filename": "attestation-281-86-{year}-{number}.pdf",
        "replaces": "Cette attestation remplace l'attestation n° {number} (version {version}) délivrée auparavant.",
        "institution": "I. Institution qui a assuré la garde et certifie",
        "name": "Nom",
        "enterprise": "Numéro d'entreprise",
        "address": "Adresse",
        "payer": "II. Personne qui a payé les frais de garde",
        "nn": "Numéro de registre national",
        "child": "III. Enfant gardé",
        "birth": "Date de naissance",
        "care": "IV. Garde et montants reçus",
        "from": "Du",
        "to": "Au",
        "days": "Jours",
        "rate": "Tarif journalier",
        "amount": "Montant",
        "total": "Total",
        "capped": "Montant limité au maximum légal de {cap} par jour",
        "signature": "Certifié sincère et exact",
        "signed": "Établi le {when} par {school}",
        "signer": "Nom et fonction du signataire :",
        "missing": "non communiqué",
    },
    "nl": {
        "title": "Attest kinderopvang",
        "subtitle": "Attest nr. 281.86 – inkomstenjaar {year} – nr. {number}",
        "document": "Fiscaal attest kinderopvang {year} – {child}",
        "filename": "attest-281-86-{year}-{number}.pdf",
        "replaces": "Dit attest vervangt het eerder uitgereikte attest nr. {number} (versie {version}).",
        "institution": "I. Instelling die de opvang verzorgde en attesteert",
        "name": "Naam",
        "enterprise": "Ondernemingsnummer",
        "address": "Adres",
        "payer": "II. Persoon die de opvangkosten betaalde",
        "nn": "Rijksregisternummer",
        "child": "III. Opgevangen kind",
        "birth": "Geboortedatum",
        "care": "IV. Opvang en ontvangen bedragen",
        "from": "Van",
        "to": "Tot",
        "days": "Dagen",
        "rate": "Dagtarief",
        "amount": "Bedrag",
        "total": "Totaal",
        "capped": "Bedrag begrensd tot het wettelijk maximum van {cap} per dag",
        "signature": "Voor echt en juist verklaard",
        "signed": "Opgemaakt op {when} door {school}",
        "signer": "Naam en functie van de ondertekenaar:",
        "missing": "niet meegedeeld",
    },
    "en": {
        "title": "Childcare tax certificate",
        "subtitle": "Certificate no. 281.86 – income year {year} – no. {number}",
        "document": "Childcare tax certificate {year} – {child}",
        "filename": "childcare-certificate-281-86-{year}-{number}.pdf",
        "replaces": "This certificate replaces certificate no. {number} (version {version}) issued before.",
        "institution": "I. Institution that provided the care and certifies",
        "name": "Name",
        "enterprise": "Enterprise number",
        "address": "Address",
        "payer": "II. Person who paid for the care",
        "nn": "National register number",
        "child": "III. Child cared for",
        "birth": "Date of birth",
        "care": "IV. Care and amounts received",
        "from": "From",
        "to": "To",
        "days": "Days",
        "rate": "Daily rate",
        "amount": "Amount",
        "total": "Total",
        "capped": "Amount limited to the legal maximum of {cap} a day",
        "signature": "Certified true and correct",
        "signed": "Issued on {when} by {school}",
        "signer": "Name and position of the signatory:",
        "missing": "not given",
    },
}

LABEL_WIDTH = 62
COLUMNS = (34, 34, 24, 40, 48)  # from, to, days, daily rate, amount (mm, 180 in all)


def _t(ev: tpb.TaxCertificateIssued) -> dict[str, str]:
    return TEXTS[language(ev.language)]


def _full_name(first: str, last: str) -> str:
    return " ".join(p for p in (first, last) if p)


def format_enterprise_number(digits: str) -> str:
    """``0203.201.340`` from the ten digits finance keeps; as given otherwise."""
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}" if len(digits) == 10 and digits.isdigit() else digits


def format_national_number(digits: str) -> str:
    """``85.01.01-123.45``, the way the register prints it; as given otherwise."""
    if len(digits) == 11 and digits.isdigit():
        return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}-{digits[6:9]}.{digits[9:]}"
    return digits


def _day(iso: str, lang: str) -> str:
    try:
        return format_date(date.fromisoformat(iso), lang)
    except ValueError:
        return iso


def document_title(ev: tpb.TaxCertificateIssued) -> str:
    c = ev.certificate
    return _t(ev)["document"].format(year=c.year, child=_full_name(c.child.first_name, c.child.last_name))


def filename(ev: tpb.TaxCertificateIssued) -> str:
    c = ev.certificate
    suffix = c.number + (f"-v{c.version}" if c.version > 1 else "")
    return _t(ev)["filename"].format(year=c.year, number=suffix)


def _section(pdf: PdfDocument, heading: str) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.cell(0, 8, pdf.text_safe(heading), border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _row(pdf: PdfDocument, label: str, value: str) -> None:
    pdf.set_font(pdf.family_name, "", 10)
    pdf.cell(LABEL_WIDTH, 6, pdf.text_safe(label))
    pdf.set_font(pdf.family_name, "B", 10)
    pdf.multi_cell(0, 6, pdf.text_safe(value), new_x="LMARGIN", new_y="NEXT")


def _table_row(pdf: PdfDocument, cells: list[str], bold: bool = False) -> None:
    pdf.set_font(pdf.family_name, "B" if bold else "", 10)
    for i, (width, text) in enumerate(zip(COLUMNS, cells, strict=True)):
        pdf.cell(width, 7, pdf.text_safe(text), border=1, align="L" if i < 2 else "R")
    pdf.ln(7)


def render_certificate(ev: tpb.TaxCertificateIssued) -> bytes:
    """The certificate's PDF, in the event's language."""
    lang = language(ev.language)
    t = TEXTS[lang]
    c = ev.certificate

    def eur(cents: int) -> str:
        return format_eur(cents, lang)

    missing = t["missing"]
    pdf = PdfDocument(latin_only=[*strings_of(ev), *t.values()])
    pdf.set_title(f"{t['title']} 281.86 {c.year} {c.number}")
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.set_font(pdf.family_name, "B", 16)
    pdf.multi_cell(0, 9, pdf.text_safe(t["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 10)
    pdf.cell(
        0, 6, pdf.text_safe(t["subtitle"].format(year=c.year, number=c.number)), new_x="LMARGIN", new_y="NEXT"
    )
    if ev.replaces_version:
        pdf.set_font(pdf.family_name, "B", 10)
        text = t["replaces"].format(number=ev.replaces_number or c.number, version=ev.replaces_version)
        pdf.multi_cell(0, 6, pdf.text_safe(text), new_x="LMARGIN", new_y="NEXT")

    _section(pdf, t["institution"])
    _row(pdf, t["name"], ev.school_name or missing)
    _row(pdf, t["enterprise"], format_enterprise_number(ev.enterprise_number) or missing)
    _row(pdf, t["address"], ev.school_address or missing)

    _section(pdf, t["payer"])
    _row(pdf, t["name"], _full_name(c.parent.first_name, c.parent.last_name) or missing)
    _row(pdf, t["nn"], format_national_number(c.parent.national_number) or missing)

    _section(pdf, t["child"])
    _row(pdf, t["name"], _full_name(c.child.first_name, c.child.last_name) or missing)
    _row(pdf, t["birth"], _day(c.child.birth_date, lang) if c.child.birth_date else missing)
    _row(pdf, t["nn"], format_national_number(c.child.national_number) or missing)

    _section(pdf, t["care"])
    _table_row(pdf, [t["from"], t["to"], t["days"], t["rate"], t["amount"]], bold=True)
    for p in c.periods:
        _table_row(
            pdf,
            [
                _day(p.start, lang),
                _day(p.end, lang),
                str(p.days),
                eur(p.daily_rate_cents),
                eur(p.amount_cents),
            ],
        )
    _table_row(pdf, [t["total"], "", str(c.days), "", eur(c.amount_cents)], bold=True)
    pdf.ln(2)
    _row(pdf, t["capped"].format(cap=eur(c.daily_cap_cents)), eur(c.capped_amount_cents))

    _section(pdf, t["signature"])
    when = _day(c.issued_at[:10], lang) if c.issued_at else ""
    pdf.set_font(pdf.family_name, "", 10)
    pdf.multi_cell(
        0,
        6,
        pdf.text_safe(t["signed"].format(when=when, school=ev.school_name)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.cell(0, 6, pdf.text_safe(t["signer"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(14)
    return bytes(pdf.output())
