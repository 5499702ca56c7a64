"""Invoice and credit-note PDFs (fpdf2): the school, the child, the lines, the total, the due date, the
structured communication and the EPC QR code that banking apps scan."""

from __future__ import annotations

import atexit
import functools
import io
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from babel.dates import format_date
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from google.protobuf.message import Message

from cartable.finance.v1 import events_pb2
from kit.epc import epc_qr_png
from kit.money import format_eur
from kit.ogm import format_ogm

log = logging.getLogger(__name__)

FONT_CANDIDATES = (
    os.environ.get("PDF_FONT_PATH", ""),
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
BOLD_CANDIDATES = (
    os.environ.get("PDF_FONT_BOLD_PATH", ""),
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


# What a school's documents print in nearly every case: the Latin scripts (Western and Central European
# names), punctuation and currency signs. fpdf2 parses the whole font for every document and subsets it
# again on output: DejaVu Sans has ~6,250 glyphs, its Latin part ~750, and a document in that part is
# made in about a quarter of the time (issue #20: invoice PDFs were 42 ms of CPU per textbook order).
LATIN = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2000, 0x2070), *range(0x20A0, 0x20C1)])
# Characters fpdf2 lays out rather than prints (a reason's line breaks): no glyph needed.
_LAID_OUT = frozenset("\n\r\t")
_fonts_lock = threading.Lock()


@functools.cache
def latin_font(path: str) -> tuple[str, frozenset[str]]:
    """A copy of the font at ``path`` holding only its :data:`LATIN` glyphs, written once per process
    (to a directory removed at exit), and the characters it has."""
    with _fonts_lock:
        font = TTFont(path)
        have = LATIN & set(font.getBestCmap() or {})
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.glyph_names = True
        options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing a PDF reads
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=have)
        subsetter.subset(font)
        folder = tempfile.mkdtemp(prefix="cartable-fonts-")
        atexit.register(shutil.rmtree, folder, True)
        out = Path(folder) / Path(path).name
        font.save(out)
        return str(out), frozenset(map(chr, have))


def strings_of(message: Message) -> Iterator[str]:
    """Every text a message carries, its nested messages' included: what a document may print of it."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, str):
                yield v
            elif isinstance(v, Message):
                yield from strings_of(v)


def eur(cents: int) -> str:
    return format_eur(cents, "fr")


def fr_date(iso: str) -> str:
    try:
        return format_date(date.fromisoformat(iso), "dd/MM/y", locale="fr_BE")
    except ValueError:
        return iso


def ogm(digits: str) -> str:
    try:
        return format_ogm(digits)
    except ValueError:
        return digits  # printed as finance gave it rather than dropped


def invoice_qr_png(
    beneficiary: str, iban: str, bic: str, amount_cents: int, communication: str
) -> bytes | None:
    """The invoice's EPC QR code (kit.epc, the same code as the transfer screen's), or None when the
    school has no IBAN yet or nothing is left to pay."""
    if not iban or not beneficiary or amount_cents <= 0:
        return None
    try:
        return epc_qr_png(beneficiary[:70], iban, bic or None, amount_cents, communication)
    except ValueError:
        return None  # a school's IBAN that banks refuse: the PDF still goes out, without the code


class _Pdf(FPDF):
    """An A4 document in the machine's TTF font. Given ``latin_only``, the texts it will print beside
    its own French labels, it uses the font's Latin part (:func:`latin_font`) when they are all in it;
    without them, or with a character outside it (a name in Greek or Arabic script), the whole font."""

    def __init__(self, latin_only: Iterable[str] | None = None) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=18)
        regular = next((p for p in FONT_CANDIDATES if p and Path(p).exists()), None)
        bold = next((p for p in BOLD_CANDIDATES if p and Path(p).exists()), None) or regular
        if regular and latin_only is not None:
            try:
                (small, has), (small_bold, bold_has) = latin_font(regular), latin_font(bold)
            except OSError:  # no writable temporary directory: the whole font prints the same
                log.warning("cannot write the Latin font subset, using the whole font", exc_info=True)
            else:
                printable = has & bold_has | _LAID_OUT
                if all(printable.issuperset(text) for text in latin_only):
                    regular, bold = small, small_bold
        if regular:
            self.add_font("Body", "", regular)
            self.add_font("Body", "B", bold)
            self.family_name = "Body"
        else:  # no TTF on this machine: core font, Latin-1 only
            self.family_name = "Helvetica"

    def text_safe(self, s: str) -> str:
        # Babel keeps amounts together with no-break spaces; a PDF cell never wraps, so a plain space
        # prints the same and keeps the text searchable as people type it.
        s = s.replace("\u00a0", " ")
        if self.family_name == "Helvetica":
            return (
                s.replace("€", "EUR")
                .replace("–", "-")
                .replace("\u202f", " ")
                .encode("latin-1", "replace")
                .decode("latin-1")
            )
        return s


# The page set-up (fonts, the Latin-1 fallback) other renderers share, e.g. mandate_pdf.
PdfDocument = _Pdf


def _header(pdf: _Pdf, heading: str, school: str, student: str, class_name: str) -> None:
    pdf.add_page()
    pdf.set_font(pdf.family_name, "B", 16)
    pdf.cell(0, 9, pdf.text_safe(school or "Cartable"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "B", 14)
    pdf.cell(0, 9, pdf.text_safe(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 11)
    who = student + (f" ({class_name})" if class_name else "")
    pdf.cell(0, 7, pdf.text_safe(f"Élève : {who}"), new_x="LMARGIN", new_y="NEXT")


def render_invoice(ev: events_pb2.InvoiceIssued) -> bytes:
    pdf = _Pdf(latin_only=strings_of(ev))
    pdf.set_title(f"Facture {ev.number}")
    _header(pdf, f"Facture n° {ev.number} – {ev.title}", ev.school_name, ev.student_name, ev.class_name)
    pdf.cell(
        0,
        7,
        pdf.text_safe(f"Date : {fr_date(ev.issued_on)}    Échéance : {fr_date(ev.due_on)}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font(pdf.family_name, "B", 11)
    widths = (95, 20, 35, 35)
    for w, h in zip(widths, ("Libellé", "Qté", "Prix unitaire", "Montant"), strict=True):
        pdf.cell(w, 8, pdf.text_safe(h), border="B", align="L" if h == "Libellé" else "R")
    pdf.ln()
    pdf.set_font(pdf.family_name, "", 11)
    for line in ev.lines:
        amount = line.amount_cents or line.quantity * line.unit_price_cents
        pdf.cell(widths[0], 7, pdf.text_safe(line.label[:60]))
        pdf.cell(widths[1], 7, str(line.quantity), align="R")
        pdf.cell(widths[2], 7, pdf.text_safe(eur(line.unit_price_cents)), align="R")
        pdf.cell(widths[3], 7, pdf.text_safe(eur(amount)), align="R")
        pdf.ln()
    if ev.credit_cents:
        pdf.cell(sum(widths[:3]), 7, pdf.text_safe("Montant du crédit"), align="R")
        pdf.cell(widths[3], 7, pdf.text_safe(eur(-ev.credit_cents)), align="R")
        pdf.ln()
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.cell(sum(widths[:3]), 9, pdf.text_safe("Total à payer"), align="R")
    pdf.cell(widths[3], 9, pdf.text_safe(eur(ev.total_cents)), align="R")
    pdf.ln(14)
    pdf.set_font(pdf.family_name, "", 11)
    pay = [
        f"Communication structurée : {ogm(ev.structured_communication)}",
        f"Bénéficiaire : {ev.beneficiary}" if ev.beneficiary else "",
        f"IBAN : {ev.iban}" + (f"    BIC : {ev.bic}" if ev.bic else "") if ev.iban else "",
    ]
    for text in filter(None, pay):
        pdf.cell(0, 7, pdf.text_safe(text), new_x="LMARGIN", new_y="NEXT")
    qr = invoice_qr_png(ev.beneficiary, ev.iban, ev.bic, ev.total_cents, ev.structured_communication)
    if qr:
        pdf.ln(2)
        pdf.cell(
            0,
            6,
            pdf.text_safe("Scannez ce code avec votre application bancaire :"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.image(io.BytesIO(qr), w=40, alt_text="Code QR de virement SEPA")
    return bytes(pdf.output())


def render_credit_note(ev: events_pb2.InvoiceCancelled) -> bytes:
    pdf = _Pdf(latin_only=strings_of(ev))
    number = ev.credit_note_number or ev.credit_note_id[:8]
    pdf.set_title(f"Note de crédit {number}")
    _header(pdf, f"Note de crédit n° {number} – {ev.title}", ev.school_name, ev.student_name, "")
    pdf.cell(0, 7, pdf.text_safe(f"Annule la facture n° {ev.number}"), new_x="LMARGIN", new_y="NEXT")
    if ev.reason:
        pdf.multi_cell(0, 7, pdf.text_safe(f"Motif : {ev.reason}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.cell(
        0, 9, pdf.text_safe(f"Montant crédité : {eur(ev.credited_cents)}"), new_x="LMARGIN", new_y="NEXT"
    )
    return bytes(pdf.output())
