"""The periodic statement's PDF (décompte périodique, Fédération Wallonie-Bruxelles; issue #19), from
finance's ``PeriodicStatement`` alone, in the parents' language (fr, nl, en; French by default): the
school, the child and their class, the period, each invoice of the period with its lines, each line
marked mandatory ("obligatoire") or optional ("facultatif"), what was paid and what remains per
invoice, the totals, and the FWB's mentions: a fee that is not on a statement cannot be claimed, and
not paying may never lead to a sanction for the pupil (enseignement.be, the school fees' rules).

The same renderer serves the staff's download and preview (RenderPeriodicStatement) and the copy
filed in the student's documents when statements are sent, so what was previewed is what is sent."""

from __future__ import annotations

from datetime import date

from cartable.finance.v1 import periodic_statements_pb2 as fpb
from kit.dates import format_date
from kit.money import format_eur
from services.documents.pdf import PdfDocument, strings_of

LANGUAGES = ("fr", "nl", "en")

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Décompte périodique des frais scolaires",
        "document": "Décompte périodique du {first} au {last} – {student}",
        "filename": "decompte-periodique-{first}-{last}.pdf",
        "school": "École",
        "student": "Élève",
        "class": "Classe",
        "period": "Période",
        "period_value": "du {first} au {last}",
        "issued": "Établi le",
        "invoice": "Facture n° {number} – {title} (émise le {issued}, échéance le {due})",
        "label": "Frais",
        "kind": "Nature",
        "amount": "Montant",
        "mandatory": "obligatoire",
        "optional": "facultatif",
        "credit": "Réduction accordée",
        "invoice_total": "Total de la facture",
        "paid": "Payé",
        "credited": "Annulé par une note de crédit",
        "open": "Reste à payer",
        "none": "Aucun frais n’a été facturé pendant cette période.",
        "totals": "Totaux de la période",
        "total_mandatory": "Frais obligatoires",
        "total_optional": "Frais facultatifs",
        "total": "Total facturé",
        "legal": "Mentions légales (Fédération Wallonie-Bruxelles)",
        "legal_claim": "Un frais qui ne figure pas sur un décompte périodique ne peut pas être réclamé.",
        "legal_sanction": (
            "Le non-paiement des frais ne peut entraîner aucune sanction pour l’élève, "
            "qui n’est jamais impliqué dans leur recouvrement."
        ),
        "legal_optional": "Les frais facultatifs ne sont dus que si vous les avez acceptés.",
    },
    "nl": {
        "title": "Periodieke afrekening van de schoolkosten",
        "document": "Periodieke afrekening van {first} tot {last} – {student}",
        "filename": "periodieke-afrekening-{first}-{last}.pdf",
        "school": "School",
        "student": "Leerling",
        "class": "Klas",
        "period": "Periode",
        "period_value": "van {first} tot {last}",
        "issued": "Opgemaakt op",
        "invoice": "Factuur nr. {number} – {title} (uitgegeven op {issued}, vervaldag {due})",
        "label": "Kosten",
        "kind": "Aard",
        "amount": "Bedrag",
        "mandatory": "verplicht",
        "optional": "facultatief",
        "credit": "Toegekende korting",
        "invoice_total": "Totaal van de factuur",
        "paid": "Betaald",
        "credited": "Geannuleerd door een creditnota",
        "open": "Nog te betalen",
        "none": "Er werden in deze periode geen kosten gefactureerd.",
        "totals": "Totalen van de periode",
        "total_mandatory": "Verplichte kosten",
        "total_optional": "Facultatieve kosten",
        "total": "Totaal gefactureerd",
        "legal": "Wettelijke vermeldingen (Federatie Wallonië-Brussel)",
        "legal_claim": "Kosten die niet op een periodieke afrekening staan, kunnen niet worden gevorderd.",
        "legal_sanction": (
            "Het niet betalen van de kosten kan geen enkele sanctie voor de leerling tot gevolg hebben; "
            "de leerling wordt nooit bij de invordering betrokken."
        ),
        "legal_optional": "Facultatieve kosten zijn enkel verschuldigd als u ze hebt aanvaard.",
    },
    "en": {
        "title": "Periodic statement of school fees",
        "document": "Periodic statement from {first} to {last} – {student}",
        "filename": "periodic-statement-{first}-{last}.pdf",
        "school": "School",
        "student": "Pupil",
        "class": "Class",
        "period": "Period",
        "period_value": "from {first} to {last}",
        "issued": "Drawn up on",
        "invoice": "Invoice no. {number} – {title} (issued on {issued}, due on {due})",
        "label": "Fee",
        "kind": "Type",
        "amount": "Amount",
        "mandatory": "mandatory",
        "optional": "optional",
        "credit": "Reduction granted",
        "invoice_total": "Invoice total",
        "paid": "Paid",
        "credited": "Cancelled by a credit note",
        "open": "Left to pay",
        "none": "No fee was invoiced during this period.",
        "totals": "Totals of the period",
        "total_mandatory": "Mandatory fees",
        "total_optional": "Optional fees",
        "total": "Total invoiced",
        "legal": "Legal notices (Wallonia-Brussels Federation)",
        "legal_claim": "A fee that is not on a periodic statement cannot be claimed.",
        "legal_sanction": (
            "Not paying the fees may never lead to any sanction for the pupil, "
            "who is never involved in their collection."
        ),
        "legal_optional": "Optional fees are only due if you accepted them.",
    },
}

WIDTHS = (110, 35, 35)  # fee, type, amount (A4 less 15 mm margins: 180)


def language(code: str) -> str:
    """One of fr, nl, en (``nl-BE`` counts as nl); French otherwise."""
    code = (code or "").strip().lower()[:2]
    return code if code in LANGUAGES else "fr"


def day(iso: str, lang: str) -> str:
    try:
        return format_date(date.fromisoformat(iso), lang)
    except ValueError:
        return iso


def eur(cents: int, lang: str) -> str:
    return format_eur(cents, lang)


def document_title(st: fpb.PeriodicStatement, lang: str) -> str:
    t = TEXTS[language(lang)]
    return t["document"].format(
        first=day(st.from_date, language(lang)), last=day(st.to_date, language(lang)), student=st.student_name
    )[:300]


def filename(st: fpb.PeriodicStatement, lang: str) -> str:
    return TEXTS[language(lang)]["filename"].format(first=st.from_date, last=st.to_date)


def _row(pdf: PdfDocument, label: str, value: str, *, bold: bool = False) -> None:
    pdf.set_font(pdf.family_name, "B" if bold else "", 11)
    pdf.cell(WIDTHS[0] + WIDTHS[1], 7, pdf.text_safe(label), align="R")
    pdf.cell(WIDTHS[2], 7, pdf.text_safe(value), align="R", new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: PdfDocument, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.multi_cell(0, 8, pdf.text_safe(text), border="B", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _invoice(pdf: PdfDocument, inv: fpb.StatementInvoice, t: dict[str, str], lang: str) -> None:
    _heading(
        pdf,
        t["invoice"].format(
            number=inv.number, title=inv.title, issued=day(inv.issued_on, lang), due=day(inv.due_on, lang)
        ),
    )
    pdf.set_font(pdf.family_name, "B", 10)
    for w, h, align in zip(WIDTHS, (t["label"], t["kind"], t["amount"]), ("L", "L", "R"), strict=True):
        pdf.cell(w, 7, pdf.text_safe(h), align=align)
    pdf.ln()
    pdf.set_font(pdf.family_name, "", 10)
    for ln in inv.lines:
        label = (
            ln.label if ln.quantity == 1 else f"{ln.label} ({ln.quantity} × {eur(ln.unit_price_cents, lang)})"
        )
        pdf.cell(WIDTHS[0], 7, pdf.text_safe(label[:70]))
        pdf.cell(WIDTHS[1], 7, pdf.text_safe(t["optional"] if ln.optional else t["mandatory"]))
        pdf.cell(
            WIDTHS[2], 7, pdf.text_safe(eur(ln.amount_cents, lang)), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    if inv.credit_cents:
        _row(pdf, t["credit"], eur(-inv.credit_cents, lang))
    _row(pdf, t["invoice_total"], eur(inv.total_cents, lang), bold=True)
    _row(pdf, t["paid"], eur(inv.paid_cents, lang))
    if inv.credited_cents:
        _row(pdf, t["credited"], eur(inv.credited_cents, lang))
    _row(pdf, t["open"], eur(inv.open_cents, lang), bold=True)


def render_statement(st: fpb.PeriodicStatement, lang: str = "fr") -> bytes:
    """The statement's PDF in ``lang`` (see the module)."""
    lang = language(lang)
    t = TEXTS[lang]
    pdf = PdfDocument(latin_only=[*strings_of(st), *t.values()])
    pdf.set_title(document_title(st, lang))
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.set_font(pdf.family_name, "B", 16)
    pdf.multi_cell(0, 9, pdf.text_safe(st.school_name or "Cartable"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "B", 14)
    pdf.multi_cell(0, 9, pdf.text_safe(t["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 11)
    period = t["period_value"].format(first=day(st.from_date, lang), last=day(st.to_date, lang))
    for label, value in (
        (t["student"], st.student_name),
        (t["class"], st.class_name or "–"),
        (t["period"], period),
        (t["issued"], day(st.issued_on, lang) if st.issued_on else "–"),
    ):
        pdf.cell(35, 7, pdf.text_safe(f"{label} :" if lang == "fr" else f"{label}:"))
        pdf.multi_cell(0, 7, pdf.text_safe(value), new_x="LMARGIN", new_y="NEXT")
    if not st.invoices:
        pdf.ln(3)
        pdf.multi_cell(0, 7, pdf.text_safe(t["none"]), new_x="LMARGIN", new_y="NEXT")
    for inv in st.invoices:
        _invoice(pdf, inv, t, lang)
    _heading(pdf, t["totals"])
    _row(pdf, t["total_mandatory"], eur(st.mandatory_cents, lang))
    _row(pdf, t["total_optional"], eur(st.optional_cents, lang))
    if st.credit_cents:
        _row(pdf, t["credit"], eur(-st.credit_cents, lang))
    _row(pdf, t["total"], eur(st.total_cents, lang), bold=True)
    _row(pdf, t["paid"], eur(st.paid_cents, lang))
    if st.credited_cents:
        _row(pdf, t["credited"], eur(st.credited_cents, lang))
    _row(pdf, t["open"], eur(st.open_cents, lang), bold=True)
    _heading(pdf, t["legal"])
    pdf.set_font(pdf.family_name, "", 10)
    for key in ("legal_claim", "legal_sanction", "legal_optional"):
        pdf.multi_cell(0, 6, pdf.text_safe(t[key]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
