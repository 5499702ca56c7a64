"""Bank statements: Belgian CODA (Febelfin, version 2) and ISO 20022 camt.053, read into movements.

Pure domain code: standard library, ``defusedxml`` and ``python-stdnum`` only. One entry point,
:func:`parse_statement`, which recognises the format by content (never by file name) and returns a
:class:`ParsedStatement` or raises :class:`StatementError` with the line and a reason for a person. A
file is accepted whole or refused whole: a statement that does not add up is never half-booked.

Money is integer cents everywhere. CODA amounts have three implied decimals (thousandths of a euro);
a non-zero thousandth is refused rather than rounded. camt.053 amounts are read with ``Decimal`` and a
fraction of a cent is refused. Only euro statements are accepted: Cartable books euros, and a movement
in another currency cannot be matched against a euro amount due.

CODA, what is checked
    Every record is exactly 128 characters (Windows-1252, CRLF or LF line ends, an optional final line
    end). Header version ``[127]`` must be ``2``. Records must come in order (0, then per statement 1,
    2.x/3.x/4 ..., 8, then 4 ..., 9), a 2.2/2.3 record must continue the 2.1 movement just before it
    (same sequence and detail number). Per statement: new balance = old balance + credits - debits.
    Per file (header to trailer): the trailer's record count (records 1, 2.x, 3.x and 8; records 0, 4
    and 9 are not counted, as the real files show) and its debit and credit sums. Only movements with
    detail number ``0000`` are in the balances and trailer sums. A file may hold several header-trailer
    blocks one after the other (the banks' "multi-statement" files); the trailer's "another file
    follows" flag is not trusted (the real samples set it to 1 on their last block). Not checked,
    because real files disagree: the account of record 8 against record 1, and the statement number
    and entry date repeated in each 2.1 record (the globalisation sample has 119 and 11/11/11 in a
    statement 159 of December 2014; the entry date is still what ``booked_on`` reports).

CODA globalisation (one amount on the account, its breakdown in the file)
    Within a statement, the 2.1 record with detail number ``0000`` of a sequence number is what was
    booked on the account; the 2.1 records with the same sequence number and another detail number are
    its details. The first digit of the transaction code ``[53]`` says what they are (1 = total made by
    the customer, 2 = total made by the bank, 3 = simple amount with detailed data, 5/6/7/8/9 = detail
    of those), and the globalisation code ``[124]`` opens and closes a level. This parser does not trust
    those codes alone; it applies one rule that can never book money twice: when the details of a
    total add up exactly (signed) to the total, the details are returned **instead of** the total (they
    carry each payer's name and communication); otherwise (no details, informative details such as a
    breakdown of charges, nested levels) the total alone is returned. Either way the returned
    movements add up to the statement's balances and the trailer sums. A detail without communication
    inherits the free communication of its total.

Structured communication (OGM / VCS, the 12 bare digits)
    CODA: communication type ``[61] == '1'`` with structured type ``[62:65] == '101'``, digits
    ``[65:77]``. camt.053: ``RmtInf/Strd/CdtrRefInf/Ref`` (Belgian ``SCOR`` / ``BBA``; the digits may
    also be written with ``+++``/``***`` and slashes). Failing that, one ``+++ddd/dddd/ddddd+++`` (or
    ``***...***``) written in the free text. In every case the check digits must be right (mod 97) and
    the first ten digits not all zero; otherwise, or when the free text holds two different valid
    references, there is no structured communication and the text stays in ``free_communication``.
    Other CODA structured types (102, 105, 107, 114 ...) are kept as free text without their 3-digit
    type code.

camt.053 (any ``camt.053.001.*`` version)
    Parsed with defusedxml with DTDs, entities and external references forbidden (bank statements
    never declare a DTD; a billion-laughs or XXE document is refused). Only booked entries count
    (``Sts`` = ``BOOK``, or absent); pending or informative entries are skipped. An entry with several
    ``TxDtls`` gives one movement per detail, with the detail's own amount (``TxDtls/Amt`` or
    ``TxDtls/AmtDtls/TxAmt/Amt``), and those amounts must add up to the entry's amount (else the file
    is refused: who paid what would be a guess). An entry with one ``TxDtls`` or none gives one movement
    for the entry's amount. When both opening (``OPBD``/``PRCD``) and closing (``CLBD``) balances are
    given, closing = opening + credits - debits is checked.

De-duplication (``StatementMovement.dedup_key``)
    CODA: ``coda|account|statement number|sequence|detail number|bank reference|entry date``. The
    entry date is part of it because paper statement numbers restart every year and some banks leave
    the bank reference blank (see the foreign-account sample): without it, statement 024 movement
    0001 of two different years would be taken for the same movement. camt.053:
    ``camt053|account|AcctSvcrRef|detail index``; without ``AcctSvcrRef``, a hash of the entry's
    content (element names and values, so re-indenting the file changes nothing) plus its occurrence
    number among identical entries of the file, so that two genuinely identical payments stay two.
    The same bank file imported twice gives the same keys; a CODA and a camt.053 of the same account
    do not share keys.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from xml.etree.ElementTree import Element, ParseError, TreeBuilder  # noqa: S405 - parsing is defusedxml's

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from stdnum.be import ogm_vcs

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

FORMAT_CODA = "coda"
FORMAT_CAMT053 = "camt053"
CREDIT = "credit"
DEBIT = "debit"
_CURRENCY = "EUR"
_CODA_LENGTH = 128


class StatementError(ValueError):
    """The file is refused. ``line`` is the 1-based line of the offending record or XML element (None
    when no line applies), ``reason`` an English sentence for a person."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line is not None else reason)


@dataclass(frozen=True)
class StatementMovement:
    """One amount that moved on the account (for a globalised CODA total: one of its details)."""

    account_iban: str  # the statement's account: an IBAN, or a foreign/BBAN string as the bank gave it
    statement_number: str
    sequence: str
    detail_number: str
    bank_reference: str
    amount_cents: int  # always > 0; see direction
    direction: str  # CREDIT or DEBIT
    booked_on: date
    value_date: date | None
    structured_communication: str  # 12 bare digits of a valid Belgian OGM, or ""
    free_communication: str
    counterparty_name: str
    counterparty_iban: str
    reversal: bool
    dedup_key: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise TypeError("amount_cents must be an int")
        if self.amount_cents <= 0:
            raise ValueError(f"amount_cents must be positive, got {self.amount_cents}")
        if self.direction not in (CREDIT, DEBIT):
            raise ValueError(f"direction must be {CREDIT!r} or {DEBIT!r}, got {self.direction!r}")

    @property
    def signed_cents(self) -> int:
        """The amount as it changes the balance: positive for a credit, negative for a debit."""
        return self.amount_cents if self.direction == CREDIT else -self.amount_cents


@dataclass(frozen=True)
class StatementSummary:
    """What a statement says about itself (informative; the movements are in ParsedStatement)."""

    account_iban: str
    statement_number: str
    currency: str
    holder_name: str
    opening_balance_cents: int | None
    opening_date: date | None
    closing_balance_cents: int | None
    closing_date: date | None
    movement_count: int  # movements returned for this statement
    movement_records: int  # CODA: 2.1 records read (totals and details); camt: booked entries
    information_records: int  # CODA: 3.1 records; camt: 0


@dataclass(frozen=True)
class ParsedStatement:
    format: str  # FORMAT_CODA or FORMAT_CAMT053
    movements: tuple[StatementMovement, ...]
    statements: tuple[StatementSummary, ...]
    created_on: date | None  # CODA header creation date; camt GrpHdr/CreDtTm
    duplicate: bool  # CODA header "D"; camt CpyDplctInd DUPL/CODU

    @property
    def account_iban(self) -> str:
        """The account of the first statement ('' for an empty file, which parse_statement refuses)."""
        return self.statements[0].account_iban if self.statements else ""

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.account_iban for s in self.statements))

    @property
    def statement_count(self) -> int:
        return len(self.statements)

    @property
    def credit_total_cents(self) -> int:
        return sum(m.amount_cents for m in self.movements if m.direction == CREDIT)

    @property
    def debit_total_cents(self) -> int:
        return sum(m.amount_cents for m in self.movements if m.direction == DEBIT)


# --- entry point -----------------------------------------------------------------------------------

_CAMT053_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.[0-9]+")
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
        return _parse_camt053(data)
    if data[:1] == b"0":
        return _parse_coda(data)
    raise StatementError(
        1, "this is neither a CODA file (its first record starts with 0) nor a camt.053 XML statement"
    )


# --- shared helpers --------------------------------------------------------------------------------

_OGM_IN_TEXT = re.compile(
    r"(?:\+\+\+|\*\*\*)\s*([0-9]{3})\s*/\s*([0-9]{4})\s*/\s*([0-9]{5})\s*(?:\+\+\+|\*\*\*)"
)


def _digits(text: str) -> bool:
    # str.isdigit alone accepts "²" and other non-ASCII digits that int() refuses
    return text.isascii() and text.isdigit()


def _valid_ogm(digits: str) -> bool:
    """12 ASCII digits with correct check digits and a non-zero base (stdnum accepts 000000000097,
    payments.md and Cartable's own references do not)."""
    return (
        len(digits) == 12
        and _digits(digits)
        and digits[:10] != "0" * 10
        and ogm_vcs.calc_check_digits(digits) == digits[10:]
    )


def _ogm_from_reference(ref: str) -> str:
    """The 12 digits of a reference field that holds an OGM (bare or written with +++/***, slashes
    and spaces), or ''."""
    compact = "".join(ref.split()).strip("+*").replace("/", "")
    return compact if _valid_ogm(compact) else ""


def _ogm_in_free_text(text: str) -> str:
    """The one valid ``+++ddd/dddd/ddddd+++`` written in a free text, or '' (none, or several
    different ones: which invoice was paid is then for a person to decide)."""
    if "+++" not in text and "***" not in text:
        return ""
    found = {"".join(m.groups()) for m in _OGM_IN_TEXT.finditer(text)}
    valid = {d for d in found if _valid_ogm(d)}
    return valid.pop() if len(valid) == 1 else ""


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _eur(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d} EUR"


def _belgian_bban_to_iban(bban: str) -> str:
    """A valid 12-digit Belgian BBAN → its IBAN; anything else is returned unchanged."""
    if len(bban) == 12 and _digits(bban):
        check = int(bban[:10]) % 97 or 97
        if check == int(bban[10:]):
            return f"BE{98 - int(bban + '111400') % 97:02d}{bban}"
    return bban


def _clean_account(text: str) -> str:
    account = "".join(text.split())
    if not account or set(account) == {"0"}:
        return ""
    return _belgian_bban_to_iban(account)


# --- CODA ------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _ddmmyy(text: str) -> date | None:
    if not _digits(text) or len(text) != 6:
        return None
    try:
        return date(2000 + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        return None


def _coda_date(text: str, line: int, what: str, *, zero_is_none: bool = False) -> date | None:
    if zero_is_none and text == "000000":
        return None
    parsed = _ddmmyy(text)
    if parsed is None:
        raise StatementError(line, f"the {what} {text!r} is not a valid date (DDMMYY)")
    return parsed


def _coda_cents(text: str, line: int, what: str) -> int:
    """15 digits with three implied decimals → cents. A non-zero thousandth of a euro is refused:
    rounding money silently is never right."""
    if len(text) != 15 or not _digits(text):
        raise StatementError(line, f"the {what} {text!r} is not 15 digits")
    if text[14] != "0":
        raise StatementError(
            line,
            f"the {what} {int(text[:12])}.{text[12:]} EUR has a non-zero thousandth of a euro; "
            "amounts must be whole cents",
        )
    return int(text) // 10


def _coda_sign(char: str, line: int, what: str) -> int:
    if char == "0":
        return 1
    if char == "1":
        return -1
    raise StatementError(line, f"the sign of the {what} must be 0 (credit) or 1 (debit), got {char!r}")


class _CodaMove:
    """A 2.1 record and what its 2.2/2.3 records add, before globalisation is resolved."""

    __slots__ = (
        "bank_reference",
        "body",
        "comm_type",
        "cont",
        "counterparty_account",
        "counterparty_name",
        "detail",
        "entry_date",
        "key",
        "last",
        "line",
        "reversal",
        "seq",
        "signed_cents",
        "value_date",
    )


class _CodaStatement:
    __slots__ = (
        "account",
        "currency",
        "groups",
        "holder",
        "info_records",
        "move_records",
        "number",
        "opening",
        "opening_date",
        "sum_credit",
        "sum_debit",
    )


def _split_coda_records(data: bytes) -> list[str]:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StatementError(
            line, f"byte 0x{data[exc.start]:02X} is not a Windows-1252 character: this is not a CODA file"
        ) from None
    lines = text.split("\n")
    # a final line end, blank lines or a DOS end-of-file mark after the last record are tolerated
    while lines and not lines[-1].strip(" \t\r\x1a"):
        lines.pop()
    records = []
    for number, raw in enumerate(lines, 1):
        record = raw[:-1] if raw.endswith("\r") else raw
        if len(record) != _CODA_LENGTH:
            raise StatementError(number, f"a CODA record is 128 characters long, this one has {len(record)}")
        records.append(record)
    return records


def _parse_coda(data: bytes) -> ParsedStatement:
    records = _split_coda_records(data)
    movements: list[StatementMovement] = []
    summaries: list[StatementSummary] = []
    created_on: date | None = None
    duplicate = False

    in_block = False  # between a header (0) and its trailer (9)
    block_records = block_debit = block_credit = 0
    block_statements = 0
    stmt: _CodaStatement | None = None
    current: _CodaMove | None = None  # the 2.1 record that 2.2/2.3 records may continue

    for line, rec in enumerate(records, 1):
        kind = rec[0]
        if kind == "0":
            if in_block:
                raise StatementError(
                    line, "a new header record (0) before the trailer record (9) of the file"
                )
            if rec[127] != "2":
                raise StatementError(
                    line, f"CODA version {rec[127]!r} is not supported: only version 2 files are read"
                )
            if rec[1:5] != "0000" or rec[14:16] != "05":
                raise StatementError(
                    line, "this header record (0) is not a CODA header (application code 05)"
                )
            header_date = _coda_date(rec[5:11], line, "creation date")
            if created_on is None:
                created_on = header_date
            duplicate = duplicate or rec[16] == "D"
            in_block = True
            block_records = block_debit = block_credit = block_statements = 0
            continue
        if not in_block:
            raise StatementError(
                line, f"record type {kind!r} outside a file: a header record (0) must come first"
            )

        if kind == "1":
            if stmt is not None:
                raise StatementError(
                    line,
                    f"an old balance record (1) before the new balance record (8) of statement {stmt.number}",
                )
            stmt = _coda_old_balance(rec, line)
            block_records += 1
            current = None
        elif kind == "2":
            if stmt is None:
                raise StatementError(
                    line, "a movement record (2) outside a statement (no old balance record 1)"
                )
            block_records += 1
            sub = rec[1]
            if sub == "1":
                current = _coda_movement_record(rec, line)
                stmt.move_records += 1
                if current.detail == "0000":
                    stmt.groups.append([current, []])
                    if current.signed_cents >= 0:
                        block_credit += current.signed_cents
                        stmt.sum_credit += current.signed_cents
                    else:
                        block_debit -= current.signed_cents
                        stmt.sum_debit -= current.signed_cents
                else:
                    if not stmt.groups or stmt.groups[-1][0].seq != current.seq:
                        raise StatementError(
                            line,
                            f"detail movement {current.seq}/{current.detail} does not follow its "
                            f"movement {current.seq}/0000",
                        )
                    stmt.groups[-1][1].append(current)
            elif sub in ("2", "3"):
                if (
                    current is None
                    or current.key != rec[2:10]
                    or (sub == "2" and current.last != "1")
                    or (sub == "3" and current.last == "3")
                ):
                    raise StatementError(
                        line,
                        f"record 2.{sub} {rec[2:6]}/{rec[6:10]} does not continue the movement record before it",
                    )
                current.last = sub
                if sub == "2":
                    current.cont.append(rec[10:63])
                else:
                    current.counterparty_account = rec[10:22] if rec[22] == " " else rec[10:44]
                    current.counterparty_name = rec[47:82]
                    current.cont.append(rec[82:125])
            else:
                raise StatementError(line, f"unknown movement record type 2.{sub}")
        elif kind == "3":
            if stmt is None:
                raise StatementError(line, "an information record (3) outside a statement")
            if rec[1] not in "123":
                raise StatementError(line, f"unknown information record type 3.{rec[1]}")
            block_records += 1
            if rec[1] == "1":
                stmt.info_records += 1
            current = None
        elif kind == "4":
            current = None  # free message: nothing to book, not counted in the trailer
        elif kind == "8":
            if stmt is None:
                raise StatementError(line, "a new balance record (8) without its old balance record (1)")
            block_records += 1
            stmt_moves = _coda_close_statement(stmt, rec, line)
            movements.extend(stmt_moves)
            summaries.append(_coda_summary(stmt, rec, line, len(stmt_moves)))
            block_statements += 1
            stmt = None
            current = None
        elif kind == "9":
            if stmt is not None:
                raise StatementError(
                    line,
                    f"the trailer record (9) comes before the new balance record (8) of statement {stmt.number}",
                )
            if block_statements == 0:
                raise StatementError(line, "this file holds no statement (no old balance record 1)")
            _coda_check_trailer(rec, line, block_records, block_debit, block_credit)
            in_block = False
            current = None
        else:
            raise StatementError(line, f"unknown CODA record type {kind!r}")

    if in_block:
        raise StatementError(
            len(records) + 1,
            "the file ends without its new balance (8) and trailer (9) records: it is truncated"
            if stmt is not None
            else "the file ends without its trailer record (9): it is truncated",
        )
    return ParsedStatement(
        format=FORMAT_CODA,
        movements=tuple(movements),
        statements=tuple(summaries),
        created_on=created_on,
        duplicate=duplicate,
    )


def _coda_old_balance(rec: str, line: int) -> _CodaStatement:
    structure = rec[1]
    if structure == "0":  # Belgian BBAN
        account, currency = _belgian_bban_to_iban(rec[5:17].strip()), rec[18:21]
    elif structure == "2":  # Belgian IBAN
        account, currency = rec[5:21].strip(), rec[39:42]
    elif structure in ("1", "3"):  # foreign BBAN, foreign IBAN
        account, currency = rec[5:39].strip(), rec[39:42]
    else:
        raise StatementError(line, f"unknown account structure {structure!r} (0 to 3)")
    if currency != _CURRENCY:
        raise StatementError(
            line, f"the account is in {currency.strip() or 'no currency'}: only euro statements are accepted"
        )
    if not _digits(rec[2:5]):
        raise StatementError(line, f"the statement number {rec[2:5]!r} is not 3 digits")
    stmt = _CodaStatement()
    stmt.account = account
    stmt.currency = currency
    stmt.number = rec[2:5]
    stmt.holder = rec[64:90].strip()
    stmt.opening = _coda_sign(rec[42], line, "old balance") * _coda_cents(rec[43:58], line, "old balance")
    stmt.opening_date = _coda_date(rec[58:64], line, "old balance date", zero_is_none=True)
    stmt.groups = []
    stmt.sum_credit = stmt.sum_debit = 0
    stmt.move_records = stmt.info_records = 0
    return stmt


def _coda_movement_record(rec: str, line: int) -> _CodaMove:
    move = _CodaMove()
    move.line = line
    move.key = rec[2:10]
    move.seq = rec[2:6]
    move.detail = rec[6:10]
    if not _digits(move.key):
        raise StatementError(line, f"the sequence and detail numbers {move.key!r} are not 8 digits")
    move.bank_reference = rec[10:31].strip()
    move.signed_cents = _coda_sign(rec[31], line, "movement") * _coda_cents(rec[32:47], line, "amount")
    move.value_date = _coda_date(rec[47:53], line, "value date", zero_is_none=True)
    if not _digits(rec[53]):
        raise StatementError(line, f"the transaction type {rec[53]!r} is not a digit")
    # transaction codes 49 and 99 mean "cancellation or correction" in every family
    move.reversal = rec[56:58] in ("49", "99")
    move.comm_type = rec[61]
    if move.comm_type not in ("0", "1"):
        raise StatementError(
            line, f"the communication type must be 0 (free) or 1 (structured), got {rec[61]!r}"
        )
    move.body = rec[62:115]
    move.entry_date = rec[115:121]
    if move.entry_date != "000000":
        _coda_date(move.entry_date, line, "entry date")
    move.cont = []
    move.counterparty_account = ""
    move.counterparty_name = ""
    move.last = "1"
    return move


def _coda_close_statement(stmt: _CodaStatement, rec: str, line: int) -> list[StatementMovement]:
    if rec[1:4] != stmt.number:
        raise StatementError(
            line,
            f"the new balance record is for statement {rec[1:4]}, the old balance record for {stmt.number}",
        )
    closing = _coda_sign(rec[41], line, "new balance") * _coda_cents(rec[42:57], line, "new balance")
    _coda_date(rec[57:63], line, "new balance date", zero_is_none=True)
    expected = stmt.opening + stmt.sum_credit - stmt.sum_debit
    if expected != closing:
        raise StatementError(
            line,
            f"statement {stmt.number} does not add up: old balance {_eur(stmt.opening)} + credits "
            f"{_eur(stmt.sum_credit)} - debits {_eur(stmt.sum_debit)} = {_eur(expected)}, "
            f"but the new balance is {_eur(closing)}",
        )
    fallback_date = _ddmmyy(rec[57:63]) or stmt.opening_date
    out: list[StatementMovement] = []
    for total, details in stmt.groups:
        if details and sum(d.signed_cents for d in details) == total.signed_cents:
            total_free = _coda_free_text(total)
            for detail in details:
                out_move = _coda_movement(stmt, detail, fallback_date, inherited_free=total_free)
                if out_move is not None:
                    out.append(out_move)
        else:
            out_move = _coda_movement(stmt, total, fallback_date)
            if out_move is not None:
                out.append(out_move)
    return out


def _coda_free_text(move: _CodaMove) -> str:
    return _coda_communication(move)[1]


def _coda_communication(move: _CodaMove) -> tuple[str, str]:
    """(structured 12 digits or '', free text)."""
    cont = "".join(move.cont)
    if move.comm_type == "1":
        body = move.body[3:]  # without the 3-digit type of structured communication
        if move.body[:3] == "101" and _valid_ogm(body[:12]):
            return body[:12], _squeeze(body[12:] + cont)
        return "", _squeeze(body + cont)
    free = _squeeze(move.body + cont)
    return _ogm_in_free_text(free), free


def _coda_movement(
    stmt: _CodaStatement, move: _CodaMove, fallback_date: date | None, inherited_free: str = ""
) -> StatementMovement | None:
    if move.signed_cents == 0:
        return None  # nothing moved (information-only movement)
    structured, free = _coda_communication(move)
    if not free and not structured:
        free = inherited_free
    booked_on = _ddmmyy(move.entry_date) or move.value_date or fallback_date
    if booked_on is None:
        raise StatementError(move.line, "the movement has no entry date, value date nor statement date")
    return StatementMovement(
        account_iban=stmt.account,
        statement_number=stmt.number,
        sequence=move.seq,
        detail_number=move.detail,
        bank_reference=move.bank_reference,
        amount_cents=abs(move.signed_cents),
        direction=CREDIT if move.signed_cents > 0 else DEBIT,
        booked_on=booked_on,
        value_date=move.value_date,
        structured_communication=structured,
        free_communication=free,
        counterparty_name=move.counterparty_name.strip(),
        counterparty_iban=_clean_account(move.counterparty_account),
        reversal=move.reversal,
        dedup_key=(
            f"coda|{stmt.account}|{stmt.number}|{move.seq}|{move.detail}|{move.bank_reference}|"
            f"{booked_on.isoformat()}"
        ),
    )


def _coda_summary(stmt: _CodaStatement, rec: str, line: int, movement_count: int) -> StatementSummary:
    closing = _coda_sign(rec[41], line, "new balance") * _coda_cents(rec[42:57], line, "new balance")
    return StatementSummary(
        account_iban=stmt.account,
        statement_number=stmt.number,
        currency=stmt.currency,
        holder_name=stmt.holder,
        opening_balance_cents=stmt.opening,
        opening_date=stmt.opening_date,
        closing_balance_cents=closing,
        closing_date=_ddmmyy(rec[57:63]),
        movement_count=movement_count,
        movement_records=stmt.move_records,
        information_records=stmt.info_records,
    )


def _coda_check_trailer(rec: str, line: int, count: int, debit: int, credit: int) -> None:
    if not _digits(rec[16:22]):
        raise StatementError(line, f"the trailer's record count {rec[16:22]!r} is not 6 digits")
    if int(rec[16:22]) != count:
        raise StatementError(
            line,
            f"the trailer announces {int(rec[16:22])} records (1, 2, 3 and 8) but the file holds {count}",
        )
    announced_debit = _coda_cents(rec[22:37], line, "trailer's debit sum")
    announced_credit = _coda_cents(rec[37:52], line, "trailer's credit sum")
    if announced_debit != debit:
        raise StatementError(
            line,
            f"the trailer's debit sum is {_eur(announced_debit)} but the movements add up to {_eur(debit)}",
        )
    if announced_credit != credit:
        raise StatementError(
            line,
            f"the trailer's credit sum is {_eur(announced_credit)} but the movements add up to {_eur(credit)}",
        )


# --- camt.053 --------------------------------------------------------------------------------------


class _CamtFault(Exception):
    """A refusal tied to an XML element; its line is looked up only when the file is refused."""

    def __init__(self, element: Element | None, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.reason = reason


class _LineTarget:
    """TreeBuilder target that remembers the line of each element's start tag (error path only: it
    costs a Python call per element)."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        self.lines[id(element)] = self.current_line() or 0
        return element

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()

    def current_line(self) -> int | None:
        expat = getattr(self.parser, "parser", None)
        return getattr(expat, "CurrentLineNumber", None)


def _defused_parser(target: object) -> DefusedXMLParser:
    return DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)


def _parse_xml(data: bytes) -> Element:
    parser = _defused_parser(_FastTarget(TreeBuilder()))
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException as exc:
        expat = getattr(parser, "parser", None)
        raise StatementError(
            getattr(expat, "CurrentLineNumber", None),
            f"the XML declares a document type, entities or external references ({type(exc).__name__}); "
            "bank statements never do and such a file is refused",
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise StatementError(line, f"the XML is malformed: {exc}") from None


class _FastTarget:
    """The C TreeBuilder's methods, exposed so that the parser installs its start/end/data handlers."""

    def __init__(self, builder: TreeBuilder) -> None:
        self.start = builder.start
        self.end = builder.end
        self.data = builder.data
        self.close = builder.close


def _line_of(data: bytes, root: Element, element: Element | None) -> int | None:
    """The line of ``element``'s start tag: the document is parsed again with line tracking and the
    element found at the same position (only done when a file is refused)."""
    if element is None:
        return None
    parents = {child: parent for parent in root.iter() for child in parent}
    steps: list[int] = []
    node = element
    while node is not root:
        parent = parents.get(node)
        if parent is None:
            return None
        steps.append(list(parent).index(node))
        node = parent
    target = _LineTarget()
    parser = _defused_parser(target)
    target.parser = parser
    parser.feed(data)
    node = parser.close()
    for index in reversed(steps):
        node = node[index]
    return target.lines.get(id(node))


class _Camt:
    """Element lookups in one camt.053 namespace. Paths are walked one tag at a time: a single
    namespaced tag is the C fast path of ``Element.find``, a multi-step path is not."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._tags: dict[str, tuple[str, ...]] = {}

    def tags(self, path: str) -> tuple[str, ...]:
        tags = self._tags.get(path)
        if tags is None:
            tags = tuple(f"{{{self.ns}}}{part}" for part in path.split("/"))
            self._tags[path] = tags
        return tags

    def find(self, element: Element | None, path: str) -> Element | None:
        for tag in self.tags(path):
            if element is None:
                return None
            element = element.find(tag)
        return element

    def findall(self, element: Element | None, path: str) -> list[Element]:
        *parents, last = self.tags(path)
        nodes = [element] if element is not None else []
        for tag in parents:
            nodes = [child for node in nodes for child in node if child.tag == tag]
        return [child for node in nodes for child in node if child.tag == last]

    def text(self, element: Element | None, path: str) -> str:
        found = self.find(element, path)
        return (found.text or "").strip() if found is not None else ""


_CAMT_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _camt_cents(amount: Element, what: str) -> int:
    text = (amount.text or "").strip()
    currency = amount.get("Ccy", "").strip()
    if currency != _CURRENCY:
        raise _CamtFault(
            amount, f"the {what} is in {currency or 'no currency'}: only euro statements are accepted"
        )
    if not _CAMT_AMOUNT.fullmatch(text):
        raise _CamtFault(amount, f"the {what} {text!r} is not a decimal amount")
    cents = Decimal(text) * 100
    if cents != cents.to_integral_value():
        raise _CamtFault(amount, f"the {what} {text} EUR has more than 2 decimals (a fraction of a cent)")
    return int(cents)


@lru_cache(maxsize=4096)
def _iso_date(text: str) -> date | None:
    match = _ISO_DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _camt_date(c: _Camt, parent: Element | None, what: str) -> date | None:
    """``<X><Dt>2025-09-15</Dt></X>`` or ``<X><DtTm>2025-09-15T10:00:00+02:00</DtTm></X>`` (the date as
    written, without moving it to another time zone)."""
    if parent is None:
        return None
    found = c.find(parent, "Dt")
    if found is None:
        found = c.find(parent, "DtTm")
    if found is None:
        return None
    text = (found.text or "").strip()
    parsed = _iso_date(text)
    if parsed is None:
        raise _CamtFault(found, f"the {what} {text!r} is not a valid date")
    return parsed


def _camt_sign(c: _Camt, element: Element) -> int:
    indicator = c.text(element, "CdtDbtInd")
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    found = c.find(element, "CdtDbtInd")
    raise _CamtFault(
        found if found is not None else element, f"CdtDbtInd must be CRDT or DBIT, got {indicator!r}"
    )


def _camt_account(c: _Camt, account: Element | None) -> str:
    if account is None:
        return ""
    return c.text(account, "Id/IBAN") or c.text(account, "Id/Othr/Id")


def _camt_content_hash(c: _Camt, entry: Element) -> str:
    """A digest of what an entry says (element names and values), insensitive to indentation and
    namespace prefixes."""
    digest = hashlib.sha256()
    strip = len(c.ns) + 2
    for element in entry.iter():
        tag = element.tag[strip:] if element.tag.startswith("{") else element.tag
        text = (element.text or "").strip()
        attrs = ",".join(f"{k}={v}" for k, v in sorted(element.attrib.items()))
        digest.update(f"<{tag}|{attrs}|{text}>".encode())
    return digest.hexdigest()[:32]


def _parse_camt053(data: bytes) -> ParsedStatement:
    root = _parse_xml(data)
    try:
        return _read_camt053(root)
    except _CamtFault as fault:
        raise StatementError(_line_of(data, root, fault.element), fault.reason) from None


def _read_camt053(root: Element) -> ParsedStatement:
    match = re.fullmatch(r"\{([^}]*)\}(.*)", root.tag)
    namespace, local = (match[1], match[2]) if match else ("", root.tag)
    if not _CAMT053_NS.fullmatch(namespace) or local != "Document":
        raise _CamtFault(
            root,
            f"this XML is not a camt.053 bank statement (root {local!r} in namespace {namespace or 'none'!r})",
        )
    c = _Camt(namespace)
    report = c.find(root, "BkToCstmrStmt")
    if report is None:
        raise _CamtFault(root, "the document has no BkToCstmrStmt element")
    created_on = _iso_date(c.text(report, "GrpHdr/CreDtTm"))
    statements = c.findall(report, "Stmt")
    if not statements:
        raise _CamtFault(report, "the document holds no statement (Stmt)")

    movements: list[StatementMovement] = []
    summaries: list[StatementSummary] = []
    duplicate = False
    seen_hashes: dict[tuple[str, str], int] = {}
    for stmt in statements:
        account_el = c.find(stmt, "Acct")
        account = _camt_account(c, account_el)
        if not account:
            raise _CamtFault(stmt, "the statement has no account (Acct/Id/IBAN)")
        account_currency = c.text(account_el, "Ccy")
        if account_currency and account_currency != _CURRENCY:
            raise _CamtFault(
                c.find(account_el, "Ccy"),
                f"the account is in {account_currency}: only euro statements are accepted",
            )
        number = c.text(stmt, "LglSeqNb") or c.text(stmt, "ElctrncSeqNb") or c.text(stmt, "Id")
        duplicate = duplicate or c.text(stmt, "CpyDplctInd") in ("DUPL", "CODU")

        opening = closing = None
        opening_date = closing_date = None
        for balance in c.findall(stmt, "Bal"):
            code = c.text(balance, "Tp/CdOrPrtry/Cd")
            if code not in ("OPBD", "PRCD", "CLBD"):
                continue
            amount_el = c.find(balance, "Amt")
            if amount_el is None:
                raise _CamtFault(balance, f"the {code} balance has no amount")
            value = _camt_cents(amount_el, f"{code} balance") * _camt_sign(c, balance)
            when = _camt_date(c, c.find(balance, "Dt"), f"{code} balance date")
            if code == "CLBD":
                closing, closing_date = value, when
            elif opening is None or code == "OPBD":
                opening, opening_date = value, when

        stmt_moves: list[StatementMovement] = []
        booked_entries = 0
        net = 0
        for index, entry in enumerate(c.findall(stmt, "Ntry"), 1):
            status = c.text(entry, "Sts/Cd") or c.text(entry, "Sts")
            if status and status != "BOOK":
                continue  # pending or informative entry: not (yet) on the account
            booked_entries += 1
            net += _camt_entry(c, entry, index, account, number, seen_hashes, stmt_moves)
        if opening is not None and closing is not None and opening + net != closing:
            raise _CamtFault(
                stmt,
                f"statement {number} does not add up: opening balance {_eur(opening)} + booked entries "
                f"{_eur(net)} = {_eur(opening + net)}, but the closing balance is {_eur(closing)}",
            )
        movements.extend(stmt_moves)
        summaries.append(
            StatementSummary(
                account_iban=account,
                statement_number=number,
                currency=account_currency or _CURRENCY,
                holder_name=c.text(account_el, "Ownr/Nm"),
                opening_balance_cents=opening,
                opening_date=opening_date,
                closing_balance_cents=closing,
                closing_date=closing_date,
                movement_count=len(stmt_moves),
                movement_records=booked_entries,
                information_records=0,
            )
        )
    return ParsedStatement(
        format=FORMAT_CAMT053,
        movements=tuple(movements),
        statements=tuple(summaries),
        created_on=created_on,
        duplicate=duplicate,
    )


def _camt_entry(
    c: _Camt,
    entry: Element,
    index: int,
    account: str,
    number: str,
    seen_hashes: dict[tuple[str, str], int],
    out: list[StatementMovement],
) -> int:
    """Append the movements of one booked entry to ``out``; return the entry's signed amount."""
    amount_el = c.find(entry, "Amt")
    if amount_el is None:
        raise _CamtFault(entry, "the entry has no amount (Amt)")
    sign = _camt_sign(c, entry)
    entry_signed = sign * _camt_cents(amount_el, "entry amount")
    reversal = c.text(entry, "RvslInd").lower() in ("true", "1")
    value_date = _camt_date(c, c.find(entry, "ValDt"), "value date")
    booked_on = _camt_date(c, c.find(entry, "BookgDt"), "booking date") or value_date
    if booked_on is None:
        raise _CamtFault(entry, "the entry has no booking date (BookgDt) nor value date (ValDt)")
    bank_reference = c.text(entry, "AcctSvcrRef")
    if bank_reference:
        entry_key = bank_reference
    else:
        digest = _camt_content_hash(c, entry)
        occurrence = seen_hashes.get((account, digest), 0) + 1
        seen_hashes[(account, digest)] = occurrence
        entry_key = f"hash:{digest}:{occurrence}"
    sequence = c.text(entry, "NtryRef") or str(index)

    details = c.findall(entry, "NtryDtls/TxDtls")
    parts: list[tuple[Element | None, int]] = []
    if len(details) <= 1:
        parts.append((details[0] if details else None, entry_signed))
    else:
        for detail in details:
            amount = c.find(detail, "Amt")
            if amount is None:
                amount = c.find(detail, "AmtDtls/TxAmt/Amt")
            if amount is None:
                raise _CamtFault(
                    detail,
                    "a transaction detail of a batch entry has no amount: who paid what cannot be known",
                )
            detail_sign = _camt_sign(c, detail) if c.find(detail, "CdtDbtInd") is not None else sign
            parts.append((detail, detail_sign * _camt_cents(amount, "transaction detail amount")))
        total = sum(cents for _, cents in parts)
        if total != entry_signed:
            raise _CamtFault(
                entry,
                f"the {len(details)} transaction details add up to {_eur(total)} but the entry is {_eur(entry_signed)}",
            )

    for detail_index, (detail, signed) in enumerate(parts, 1 if details else 0):
        if signed == 0:
            continue
        structured, free, name, counterparty = _camt_detail(c, detail, signed > 0, reversal, account)
        if not free:
            free = _squeeze(c.text(detail, "AddtlTxInf")) or _squeeze(c.text(entry, "AddtlNtryInf"))
            if not structured:
                structured = _ogm_in_free_text(free)
        out.append(
            StatementMovement(
                account_iban=account,
                statement_number=number,
                sequence=sequence,
                detail_number=str(detail_index),
                bank_reference=bank_reference or c.text(detail, "Refs/AcctSvcrRef"),
                amount_cents=abs(signed),
                direction=CREDIT if signed > 0 else DEBIT,
                booked_on=booked_on,
                value_date=value_date,
                structured_communication=structured,
                free_communication=free,
                counterparty_name=name,
                counterparty_iban=counterparty,
                reversal=reversal,
                dedup_key=f"camt053|{account}|{entry_key}|{detail_index}",
            )
        )
    return entry_signed


def _camt_detail(
    c: _Camt, detail: Element | None, is_credit: bool, reversal: bool, own_account: str
) -> tuple[str, str, str, str]:
    """(structured OGM or '', free text, counterparty name, counterparty account) of a TxDtls."""
    if detail is None:
        return "", "", "", ""
    remittance = c.find(detail, "RmtInf")
    structured_refs: list[str] = []
    free_parts: list[str] = []
    if remittance is not None:
        free_parts = [(u.text or "") for u in c.findall(remittance, "Ustrd")]
        for strd in c.findall(remittance, "Strd"):
            ref = c.text(strd, "CdtrRefInf/Ref")
            if ref:
                ogm = _ogm_from_reference(ref)
                if ogm:
                    structured_refs.append(ogm)
                else:
                    free_parts.append(ref)
            free_parts.extend((a.text or "") for a in c.findall(strd, "AddtlRmtInf"))
    free = _squeeze(" ".join(free_parts))
    distinct = set(structured_refs)
    if len(distinct) == 1:
        structured = distinct.pop()
    elif distinct:
        structured = ""  # several references in one payment: a person decides
        free = _squeeze(" ".join([*sorted(distinct), free]))
    else:
        structured = _ogm_in_free_text(free) or _ogm_in_free_text("".join(free_parts))

    # The other party: the payer (Dbtr) of a credit, the payee (Cdtr) of a debit. A reversal is
    # reported with the parties of the original transaction, so the roles swap. The other role is
    # only a fallback when it names another account than the statement's own.
    parties = c.find(detail, "RltdPties")
    if parties is None:
        return structured, free, "", ""
    first, second = ("Dbtr", "Cdtr") if is_credit != reversal else ("Cdtr", "Dbtr")
    for role in (first, second):
        name = c.text(parties, f"{role}/Nm") or c.text(parties, f"{role}/Pty/Nm")
        counterparty = _camt_account(c, c.find(parties, f"{role}Acct"))
        if counterparty and counterparty == own_account:
            continue
        if counterparty or (name and role == first):
            return structured, free, _squeeze(name), _clean_account(counterparty)
    return structured, free, "", ""
