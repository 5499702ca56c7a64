"""The PDF copy of a SEPA e-mandate, rendered from finance.mandate.signed.v1 alone, in the language the
parent signed in (fr, nl, en). It follows the sections of the SEPA Core direct debit mandate (EPC
rulebook): the title, the mandate reference, the creditor (name, creditor identifier), the debtor
(account holder, IBAN, BIC), the mandate text as accepted, the type of payment (recurrent) and the
electronic signature (when, in Brussels time, and from which address).

The IBAN is printed as finance sends it, masked: the full IBAN never leaves finance."""

from __future__ import annotations

import re
from datetime import datetime

from cartable.finance.v1 import events_pb2
from kit.dates import format_instant
from services.documents.pdf import PdfDocument, strings_of

LANGUAGES = ("fr", "nl", "en")

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Mandat de domiciliation européenne SEPA",
        "document": "Mandat de domiciliation SEPA {reference}",
        "filename": "mandat-sepa-{reference}.pdf",
        "scheme": "Domiciliation SEPA Core – mandat électronique",
        "reference": "Référence du mandat",
        "creditor": "Créancier",
        "creditor_name": "Nom",
        "creditor_id": "Identifiant du créancier",
        "debtor": "Débiteur",
        "holder": "Titulaire du compte",
        "iban": "IBAN",
        "bic": "BIC",
        "masked": "(masqué : seuls le pays et les derniers caractères sont imprimés)",
        "text": "Texte du mandat accepté",
        "payment_type": "Type de paiement",
        "recurrent": "Paiement récurrent",
        "signature": "Signature",
        "signed_at": "Signé électroniquement le {when} (heure de Bruxelles)",
        "signed_from": "depuis l’adresse {address}",
    },
    "nl": {
        "title": "SEPA-domiciliëringsmandaat",
        "document": "SEPA-domiciliëringsmandaat {reference}",
        "filename": "sepa-mandaat-{reference}.pdf",
        "scheme": "SEPA Core-domiciliëring – elektronisch mandaat",
        "reference": "Mandaatreferentie",
        "creditor": "Schuldeiser",
        "creditor_name": "Naam",
        "creditor_id": "Identificatienummer van de schuldeiser",
        "debtor": "Schuldenaar",
        "holder": "Rekeninghouder",
        "iban": "IBAN",
        "bic": "BIC",
        "masked": "(gemaskeerd: enkel het land en de laatste tekens worden afgedrukt)",
        "text": "Tekst van het aanvaarde mandaat",
        "payment_type": "Type betaling",
        "recurrent": "Terugkerende betaling",
        "signature": "Handtekening",
        "signed_at": "Elektronisch ondertekend op {when} (Brusselse tijd)",
        "signed_from": "vanaf het adres {address}",
    },
    "en": {
        "title": "SEPA Direct Debit Mandate",
        "document": "SEPA Direct Debit Mandate {reference}",
        "filename": "sepa-mandate-{reference}.pdf",
        "scheme": "SEPA Core Direct Debit – electronic mandate",
        "reference": "Mandate reference",
        "creditor": "Creditor",
        "creditor_name": "Name",
        "creditor_id": "Creditor identifier",
        "debtor": "Debtor",
        "holder": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "masked": "(masked: only the country and the last characters are printed)",
        "text": "Text of the mandate as accepted",
        "payment_type": "Type of payment",
        "recurrent": "Recurrent payment",
        "signature": "Signature",
        "signed_at": "Signed electronically on {when} (Brussels time)",
        "signed_from": "from the address {address}",
    },
}

LABEL_WIDTH = 82  # fits "Identificatienummer van de schuldeiser" at 11 pt


def language(code: str) -> str:
    """The mandate's language as one of fr, nl, en (``nl-BE`` counts as nl); French otherwise."""
    code = (code or "").strip().lower()[:2]
    return code if code in LANGUAGES else "fr"


def _texts(ev: events_pb2.MandateSigned) -> dict[str, str]:
    return TEXTS[language(ev.language)]


def document_title(ev: events_pb2.MandateSigned) -> str:
    """The title of the copy in the students' documents: ``Mandat de domiciliation SEPA <reference>``."""
    return _texts(ev)["document"].format(reference=ev.reference)


def filename(ev: events_pb2.MandateSigned) -> str:
    """``mandat-sepa-<reference>.pdf`` (the reference's characters that are not safe in a name as -)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", ev.reference).strip("-")[:80] or "mandat"
    return _texts(ev)["filename"].format(reference=safe)


def signed_when(rfc3339: str, lang: str) -> str:
    """The signature's instant in Brussels time, ``1 décembre 2026 à 21:32``; as given when unreadable."""
    try:
        dt = datetime.fromisoformat(rfc3339)
        return format_instant(dt, lang)
    except (TypeError, ValueError):
        return rfc3339


def _section(pdf: PdfDocument, heading: str) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.cell(0, 8, pdf.text_safe(heading), border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(pdf.family_name, "", 11)


def _row(pdf: PdfDocument, label: str, value: str) -> None:
    pdf.set_font(pdf.family_name, "", 11)
    pdf.cell(LABEL_WIDTH, 7, pdf.text_safe(label))
    pdf.set_font(pdf.family_name, "B", 11)
    pdf.multi_cell(0, 7, pdf.text_safe(value or "–"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 11)


def render_mandate(ev: events_pb2.MandateSigned) -> bytes:
    """The mandate's PDF copy, in the event's language."""
    lang = language(ev.language)
    t = TEXTS[lang]
    pdf = PdfDocument(latin_only=[*strings_of(ev), *t.values()])
    pdf.set_title(f"{t['title']} {ev.reference}")
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.set_font(pdf.family_name, "B", 16)
    pdf.multi_cell(0, 9, pdf.text_safe(t["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 10)
    pdf.cell(0, 6, pdf.text_safe(t["scheme"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _row(pdf, t["reference"], ev.reference)

    _section(pdf, t["creditor"])
    _row(pdf, t["creditor_name"], ev.school_name)
    _row(pdf, t["creditor_id"], ev.creditor_id)

    _section(pdf, t["debtor"])
    _row(pdf, t["holder"], ev.holder_name)
    _row(pdf, t["iban"], ev.iban_masked)
    pdf.set_font(pdf.family_name, "", 9)
    pdf.cell(LABEL_WIDTH, 5, "")
    pdf.multi_cell(0, 5, pdf.text_safe(t["masked"]), new_x="LMARGIN", new_y="NEXT")
    _row(pdf, t["bic"], ev.bic)

    _section(pdf, t["text"])
    pdf.multi_cell(0, 6, pdf.text_safe(ev.mandate_text or "–"), new_x="LMARGIN", new_y="NEXT")

    _section(pdf, t["payment_type"])
    pdf.cell(0, 7, pdf.text_safe(t["recurrent"]), new_x="LMARGIN", new_y="NEXT")

    _section(pdf, t["signature"])
    signed = t["signed_at"].format(when=signed_when(ev.signed_at, lang))
    if ev.signed_from:
        signed += " " + t["signed_from"].format(address=ev.signed_from)
    pdf.multi_cell(0, 7, pdf.text_safe(signed), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
