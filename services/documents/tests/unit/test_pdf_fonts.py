"""Invoice PDFs print in the font's Latin part when every text is in it, in the whole font otherwise:
the same words either way, in a quarter of the time for nearly every school."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from services.documents import pdf
from services.documents.tests.integration.test_invoice_pdfs import invoice_event

pytestmark = pytest.mark.skipif(
    not any(p and Path(p).exists() for p in pdf.FONT_CANDIDATES), reason="no TTF font on this machine"
)


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def body_font_file(document) -> str:
    return str(document.fonts["body"].ttffile)


def test_the_latin_part_holds_every_character_of_french_and_dutch_documents_and_few_glyphs():
    regular = next(p for p in pdf.FONT_CANDIDATES if p and Path(p).exists())
    path, has = pdf.latin_font(regular)
    assert set("École Sainte-Marie – Échéance : 12,50 € n° Zoë Günther Łukasz Dvořák «»’") <= has
    assert "Δ" not in has and "Ж" not in has
    assert Path(path).stat().st_size < Path(regular).stat().st_size / 3
    assert pdf.latin_font(regular) == (path, has)  # written once per process


def test_an_invoice_in_latin_text_uses_the_small_font_and_prints_every_word():
    ev = invoice_event()
    ev.student_name = "Zoë Dvořák"
    assert body_font_file(pdf._Pdf(latin_only=pdf.strings_of(ev))).startswith(pdf.tempfile.gettempdir())
    text = text_of(pdf.render_invoice(ev))
    for words in ("Zoë Dvořák", "Facture n° 2026-0042", "Visite à Bruges", "Entrée musée", "23,50"):
        assert words in text


def test_a_name_outside_the_latin_part_takes_the_whole_font_and_prints_as_written():
    ev = invoice_event()
    ev.lines[1].label = "Έκθεση Музей"  # a nested message's text counts too
    chosen = body_font_file(pdf._Pdf(latin_only=pdf.strings_of(ev)))
    assert chosen in pdf.FONT_CANDIDATES
    text = text_of(pdf.render_invoice(ev))
    assert "Έκθεση Музей" in text and "Emma Dupont" in text


def test_a_credit_note_reason_on_several_lines_still_takes_the_small_font():
    from cartable.finance.v1 import events_pb2 as fin

    ev = fin.InvoiceCancelled(number="2026-0042", title="Excursion", reason="Annulée.\nRemboursée\tle 3/12")
    chosen = body_font_file(pdf._Pdf(latin_only=pdf.strings_of(ev)))
    assert chosen not in pdf.FONT_CANDIDATES
    assert "Remboursée" in text_of(pdf.render_credit_note(ev))


def test_without_its_texts_a_document_takes_the_whole_font():
    assert body_font_file(pdf._Pdf()) in pdf.FONT_CANDIDATES


def test_strings_of_reads_nested_and_repeated_texts_only():
    ev = invoice_event()
    texts = list(pdf.strings_of(ev))
    assert "Entrée musée" in texts and "École Sainte-Marie" in texts
    assert all(isinstance(t, str) for t in texts) and "2350" not in texts
