"""EPC ("SEPA") QR code for transfers, and IBAN/BIC checks."""

import re
from decimal import Decimal

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st
from segno import helpers as segno_helpers

from kit.epc import EPC_MAX_BYTES, epc_payload, epc_qr_png, epc_qr_svg, validate_bic, validate_iban
from kit.ogm import make_ogm

NAME = "Institut Saint-Joseph"
IBAN = "BE68 5390 0754 7034"
BIC = "GKCCBEBB"
OGM = "010806817183"


def lines(payload):
    return payload.split("\n")


# --- payload -----------------------------------------------------------------------------------


def test_payload_lines_follow_epc069_12_version_002():
    payload = epc_payload(NAME, IBAN, BIC, 3710, structured_communication=OGM)
    assert lines(payload) == [
        "BCD",
        "002",
        "1",
        "SCT",
        "GKCCBEBB",
        "Institut Saint-Joseph",
        "BE68539007547034",
        "EUR37.1",
        "",
        "",
        "+++010/8068/17183+++",
    ]


def test_the_structured_communication_goes_in_the_text_line_in_its_plus_form_whatever_its_input_form():
    for written in (OGM, "+++010/8068/17183+++", "***010/8068/17183***", "010/8068/17183"):
        payload = lines(epc_payload(NAME, IBAN, BIC, 100, structured_communication=written))
        assert payload[9] == "" and payload[10] == "+++010/8068/17183+++"


def test_a_free_text_goes_in_the_text_line():
    payload = lines(epc_payload(NAME, IBAN, None, 500, text="  Voyage scolaire Lucas  "))
    assert payload[9:] == ["", "Voyage scolaire Lucas"]


def test_without_an_amount_the_amount_line_is_empty_for_the_payer_to_fill():
    assert lines(epc_payload(NAME, IBAN, BIC, None, structured_communication=OGM))[7] == ""


def test_without_a_bic_the_bic_line_is_empty():
    assert lines(epc_payload(NAME, IBAN, "", 100, structured_communication=OGM))[4] == ""


@pytest.mark.parametrize(
    ("cents", "line"),
    [
        (1, "EUR0.01"),
        (1000, "EUR10"),
        (1050, "EUR10.5"),
        (123456, "EUR1234.56"),
        (99_999_999_999, "EUR999999999.99"),
    ],
)
def test_amount_line_uses_a_dot_and_no_grouping(cents, line):
    assert lines(epc_payload(NAME, IBAN, BIC, cents, structured_communication=OGM))[7] == line


@pytest.mark.parametrize("cents", [0, -1, 100_000_000_000])
def test_amounts_outside_one_cent_to_999_999_999_99_are_refused(cents):
    with pytest.raises(ValueError, match="between 0,01"):
        epc_payload(NAME, IBAN, BIC, cents, structured_communication=OGM)


def test_a_float_amount_is_refused():
    with pytest.raises(TypeError):
        epc_payload(NAME, IBAN, BIC, 10.5, structured_communication=OGM)


def test_both_a_structured_communication_and_a_text_are_refused():
    with pytest.raises(ValueError, match="not both"):
        epc_payload(NAME, IBAN, BIC, 100, structured_communication=OGM, text="hello")


def test_neither_a_structured_communication_nor_a_text_is_refused():
    with pytest.raises(ValueError, match="needs a structured communication or a free text"):
        epc_payload(NAME, IBAN, BIC, 100, structured_communication=" ", text="")


def test_an_invalid_structured_communication_is_refused():
    with pytest.raises(ValueError, match="not a valid structured communication"):
        epc_payload(NAME, IBAN, BIC, 100, structured_communication="010806817180")


def test_a_name_of_70_characters_is_accepted_and_71_refused():
    assert lines(epc_payload("N" * 70, IBAN, BIC, 100, structured_communication=OGM))[5] == "N" * 70
    with pytest.raises(ValueError, match="at most 70"):
        epc_payload("N" * 71, IBAN, BIC, 100, structured_communication=OGM)


def test_a_missing_name_is_refused():
    with pytest.raises(ValueError, match="name is missing"):
        epc_payload("  ", IBAN, BIC, 100, structured_communication=OGM)


def test_a_text_of_140_characters_is_accepted_and_141_refused():
    assert lines(epc_payload(NAME, IBAN, BIC, 100, text="t" * 140))[10] == "t" * 140
    with pytest.raises(ValueError, match="at most 140"):
        epc_payload(NAME, IBAN, BIC, 100, text="t" * 141)


@pytest.mark.parametrize(("name", "text"), [("A\nB", "x"), (NAME, "line one\nline two"), (NAME, "a\rb")])
def test_a_line_break_inside_a_field_is_refused(name, text):
    with pytest.raises(ValueError, match="one line"):
        epc_payload(name, IBAN, BIC, 100, text=text)


def test_an_invalid_iban_is_refused():
    with pytest.raises(ValueError, match="invalid IBAN"):
        epc_payload(NAME, "BE68539007547035", BIC, 100, structured_communication=OGM)


def test_the_payload_of_the_longest_fields_in_plain_ascii_fits_in_331_bytes():
    payload = epc_payload(
        "N" * 70, "MT84MALT011000012345MTLCAST001S", "GKCCBEBBXXX", 99_999_999_999, text="t" * 140
    )
    assert len(payload.encode("utf-8")) <= EPC_MAX_BYTES


def test_a_payload_over_331_bytes_is_refused():
    # 70 + 140 two-byte characters: within the character limits, beyond the byte limit.
    with pytest.raises(ValueError, match="331"):
        epc_payload("é" * 70, IBAN, BIC, 100, text="é" * 140)


def test_accented_names_are_encoded_in_utf8_as_line_3_declares():
    payload = epc_payload("École Sainte-Thérèse", IBAN, BIC, 100, structured_communication=OGM)
    assert lines(payload)[2] == "1"
    assert "École Sainte-Thérèse".encode() in payload.encode("utf-8")


@given(
    name=st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=70
    ).filter(lambda s: s.strip()),
    cents=st.one_of(st.none(), st.integers(min_value=1, max_value=99_999_999_999)),
    base=st.integers(min_value=1, max_value=10**10 - 1),
)
def test_every_accepted_payload_has_eleven_lines_and_fits_in_331_bytes(name, cents, base):
    try:
        payload = epc_payload(name, IBAN, BIC, cents, structured_communication=make_ogm(base))
    except ValueError as exc:
        # The only refusal allowed here is the 331-byte limit (a long name in many-byte characters).
        if "331" not in str(exc):
            raise
        return
    assert len(lines(payload)) == 11
    assert len(payload.encode("utf-8")) <= EPC_MAX_BYTES


# --- the QR code --------------------------------------------------------------------------------


def test_the_svg_is_inline_html_with_an_accessible_title():
    svg = epc_qr_svg(NAME, IBAN, BIC, 3710, structured_communication=OGM, title="Virement à l'école & co")
    assert svg.startswith('<svg role="img" ')
    assert "<?xml" not in svg and "xmlns" not in svg
    assert "<title>Virement à l'école &amp; co</title>" in svg
    assert svg.rstrip().endswith("</svg>")


def test_the_svg_has_a_french_title_by_default():
    assert re.search(r"<title>[^<]+</title>", epc_qr_svg(NAME, IBAN, BIC, 100, text="x"))


def _svg_of(payload: str) -> str:
    qr = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False)
    return qr.svg_inline(scale=4, border=4, title="t")


@pytest.mark.parametrize("cents", [3710, None])
def test_the_qr_code_encodes_exactly_the_payload_at_error_level_m(cents):
    payload = epc_payload(NAME, IBAN, BIC, cents, structured_communication=OGM)
    svg = epc_qr_svg(NAME, IBAN, BIC, cents, structured_communication=OGM, title="t")
    assert svg == _svg_of(payload).replace("<svg ", '<svg role="img" ', 1)


def test_the_qr_code_is_what_segnos_epc_helper_builds():
    expected = segno_helpers.make_epc_qr(
        name=NAME,
        iban="BE68539007547034",
        amount=Decimal("37.10"),
        text="+++010/8068/17183+++",
        bic=BIC,
        encoding=1,
    )
    assert expected.error == "M" and expected.version <= 13
    assert epc_qr_svg(NAME, IBAN, BIC, 3710, structured_communication=OGM, title="t") == expected.svg_inline(
        scale=4, border=4, title="t"
    ).replace("<svg ", '<svg role="img" ', 1)


def test_the_svg_refuses_what_the_payload_refuses():
    with pytest.raises(ValueError, match="not both"):
        epc_qr_svg(NAME, IBAN, BIC, 100, structured_communication=OGM, text="x")


# --- IBAN and BIC -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BE68 5390 0754 7034", "BE68539007547034"),
        ("be68539007547034", "BE68539007547034"),
        ("  BE68539007547034 ", "BE68539007547034"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ],
)
def test_validate_iban_returns_the_compact_upper_case_form(text, expected):
    assert validate_iban(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("BE68539007547035", "invalid IBAN"),  # checksum
        ("BE6853900754703", "invalid IBAN"),  # length
        ("XX68539007547034", "invalid IBAN"),  # country
        ("", "missing"),
        ("   ", "missing"),
    ],
)
def test_validate_iban_refuses_invalid_ibans_saying_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        validate_iban(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("GKCCBEBB", "GKCCBEBB"), ("gebabebb", "GEBABEBB"), ("GEBABEBBXXX", "GEBABEBBXXX")]
)
def test_validate_bic_returns_the_compact_upper_case_form(text, expected):
    assert validate_bic(text) == expected


@pytest.mark.parametrize("text", [None, "", "   "])
def test_validate_bic_accepts_no_bic_as_epc_version_002_allows(text):
    assert validate_bic(text) == ""


@pytest.mark.parametrize("text", ["GKCCBE", "GKCCZZBB", "GKCC BEBB X", "GKCC-BEBB"])
def test_validate_bic_refuses_malformed_bics(text):
    with pytest.raises(ValueError, match="invalid BIC"):
        validate_bic(text)


# --- one code, two drawings ------------------------------------------------------------------------


def _matrix_of_payload(payload: str):
    return segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False).matrix


@pytest.mark.parametrize("cents", [1, 10, 1050, 99_999_999_999, None])
def test_the_png_for_pdfs_and_the_svg_for_pages_draw_the_code_of_the_same_exact_payload(cents):
    import io

    from PIL import Image

    payload = epc_payload(NAME, IBAN, BIC, cents, OGM)
    modules = len(_matrix_of_payload(payload))
    png = epc_qr_png(NAME, IBAN, BIC, cents, OGM, scale=1, border=0)
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png)).convert("1")
    assert image.size == (modules, modules)
    dark = [[image.getpixel((x, y)) == 0 for x in range(modules)] for y in range(modules)]
    assert dark == [[bool(v) for v in row] for row in _matrix_of_payload(payload)]
    svg = epc_qr_svg(NAME, IBAN, BIC, cents, OGM, scale=1, border=0)
    assert f'width="{modules}"' in svg and f'height="{modules}"' in svg


def test_the_png_refuses_what_banking_apps_refuse():
    with pytest.raises(ValueError, match="invalid IBAN"):
        epc_qr_png(NAME, "BE00 0000 0000 0000", BIC, 100, OGM)
    with pytest.raises(TypeError):
        epc_qr_png(NAME, IBAN, BIC, 10.5, OGM)
