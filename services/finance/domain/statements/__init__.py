"""Bank statements: Belgian CODA (Febelfin, version 2) and ISO 20022 camt.053, read into movements.

Pure domain code: standard library, ``defusedxml``, ``schwifty`` (IBANs) and kit's money and OGM
helpers only. One entry point, :func:`parse_statement`, which recognises the format by content (never by
file name) and returns a :class:`ParsedStatement` or raises :class:`StatementError` with the line and a
reason for a person. A file is accepted whole or refused whole: a statement that does not add up is
never half-booked.

Where things are
    :mod:`.model`: the parsed statement and movement, the refusal, and the helpers both formats share
    (structured communication, accounts). :mod:`.coda` (with :mod:`.coda_records` for the fields of
    one record) and :mod:`.camt053` (with :mod:`.camt_xml` for the XML itself): one module per format,
    each documenting what it checks and how its movements are de-duplicated.
"""

from __future__ import annotations

from services.finance.domain.statements.camt053 import parse_camt053
from services.finance.domain.statements.coda import parse_coda
from services.finance.domain.statements.model import (
    CREDIT,
    DEBIT,
    FORMAT_CAMT053,
    FORMAT_CODA,
    ParsedStatement,
    StatementError,
    StatementMovement,
    StatementSummary,
)

__all__ = [
    "CREDIT",
    "DEBIT",
    "FORMAT_CAMT053",
    "FORMAT_CODA",
    "ParsedStatement",
    "StatementError",
    "StatementMovement",
    "StatementSummary",
    "parse_statement",
]

_UTF8_BOM = b"\xef\xbb\xbf"


def parse_statement(data: bytes) -> ParsedStatement:
    """Read a CODA or camt.053 file. Raises StatementError (a ValueError) for anything else and for
    any malformed or inconsistent file."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_statement expects bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data.strip():
        raise StatementError(None, "the file is empty")
    head = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    if head.lstrip()[:1] == b"<" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return parse_camt053(data)
    if data[:1] == b"0":
        return parse_coda(data)
    raise StatementError(
        1, "this is neither a CODA file (its first record starts with 0) nor a camt.053 XML statement"
    )
