"""Bank statements whatever the format: detection by content, the refusal, the movement's own checks.

The formats' own tests: test_coda_samples.py (the banks' real CODA files), test_coda.py (built CODA
files) and test_camt053.py.
"""

from __future__ import annotations

import pytest

from services.finance.domain.statements import (
    FORMAT_CAMT053,
    FORMAT_CODA,
    StatementError,
    StatementMovement,
    parse_statement,
)
from services.finance.tests.statement_builders import Mv, build_camt053, build_coda, refused

# --- detection by content ----------------------------------------------------------------------------


def test_format_is_detected_by_content():
    coda = build_coda([Mv(100, free_text="<Document> not xml")])
    camt = build_camt053([Mv(100)])
    assert parse_statement(coda).format == FORMAT_CODA
    assert parse_statement(camt).format == FORMAT_CAMT053
    assert parse_statement(b"\xef\xbb\xbf" + camt).format == FORMAT_CAMT053
    assert parse_statement(b"\n  " + camt[camt.index(b"<Document") :]).format == FORMAT_CAMT053
    assert parse_statement(bytearray(coda)).format == FORMAT_CODA


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n...", b'{"movements": []}', b"Date;Montant;Communication\n", b"1" + b" " * 127],
)
def test_other_content_is_refused(data):
    error = refused(data)
    assert error.line == 1 and "neither a CODA file" in error.reason


def test_empty_file_is_refused():
    error = refused(b"  \r\n")
    assert error.line is None and str(error) == "the file is empty"


def test_text_starting_with_zero_but_not_coda_is_refused_on_line_1():
    error = refused(b"0;2025-09-15;37,10\n")
    assert error.line == 1 and "128" in error.reason


def test_statement_error_is_a_value_error_with_line_and_reason():
    error = StatementError(7, "bad")
    assert isinstance(error, ValueError)
    assert (error.line, error.reason, str(error)) == (7, "bad", "line 7: bad")
    assert str(StatementError(None, "bad")) == "bad"


def test_parse_statement_wants_bytes():
    with pytest.raises(TypeError):
        parse_statement("0000")  # type: ignore[arg-type]


def test_movement_refuses_non_positive_amounts_and_unknown_directions():
    base = parse_statement(build_coda([Mv(100)])).movements[0]
    fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
    with pytest.raises(ValueError, match="amount_cents must be positive"):
        StatementMovement(**{**fields, "amount_cents": 0})
    with pytest.raises(ValueError, match="direction must be"):
        StatementMovement(**{**fields, "direction": "in"})
    with pytest.raises(TypeError):
        StatementMovement(**{**fields, "amount_cents": True})
    assert base.signed_cents == 100
