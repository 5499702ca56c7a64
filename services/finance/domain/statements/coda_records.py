"""CODA (Febelfin, version 2): reading the fields of one record.

Every record is exactly 128 characters. Dates are DDMMYY; amounts are 15 digits with three implied
decimals (thousandths of a euro), and a non-zero thousandth is refused rather than rounded. The order
of the records and the sums are checked in :mod:`.coda`.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from services.finance.domain.statements.model import (
    CURRENCY,
    StatementError,
    belgian_bban_to_iban,
    eur,
    is_digits,
)

_CODA_LENGTH = 128


@lru_cache(maxsize=4096)
def ddmmyy(text: str) -> date | None:
    if not is_digits(text) or len(text) != 6:
        return None
    try:
        return date(2000 + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        return None


def coda_date(text: str, line: int, what: str, *, zero_is_none: bool = False) -> date | None:
    if zero_is_none and text == "000000":
        return None
    parsed = ddmmyy(text)
    if parsed is None:
        raise StatementError(line, f"the {what} {text!r} is not a valid date (DDMMYY)")
    return parsed


def coda_cents(text: str, line: int, what: str) -> int:
    """15 digits with three implied decimals → cents. A non-zero thousandth of a euro is refused:
    rounding money silently is never right."""
    if len(text) != 15 or not is_digits(text):
        raise StatementError(line, f"the {what} {text!r} is not 15 digits")
    if text[14] != "0":
        raise StatementError(
            line,
            f"the {what} {int(text[:12])}.{text[12:]} EUR has a non-zero thousandth of a euro; "
            "amounts must be whole cents",
        )
    return int(text) // 10


def coda_sign(char: str, line: int, what: str) -> int:
    if char == "0":
        return 1
    if char == "1":
        return -1
    raise StatementError(line, f"the sign of the {what} must be 0 (credit) or 1 (debit), got {char!r}")


class CodaMove:
    """A 2.1 record and what its 2.2/2.3 records add, before globalisation is resolved."""

    __slots__ = (
        "bank_reference",
        "body",
        "comm_type",
        "cont",
        "counterparty_account",
        "counterparty_name",
        "detail",
        "end_to_end_id",
        "entry_date",
        "key",
        "last",
        "line",
        "r_transaction",
        "return_reason",
        "reversal",
        "seq",
        "signed_cents",
        "value_date",
    )
    bank_reference: str
    body: str
    comm_type: str
    cont: list[str]  # the text of its 2.2 and 2.3 records
    counterparty_account: str
    counterparty_name: str
    detail: str
    end_to_end_id: str  # record 2.2 [63:98], the customer reference (a direct debit's end-to-end id)
    entry_date: str
    key: str  # sequence and detail number
    last: str  # the last record read: 1, 2 or 3
    line: int
    r_transaction: str  # record 2.2 [112]: type of R-transaction (1 reject ... 5 cancellation)
    return_reason: str  # record 2.2 [113:117]: its ISO reason (AM04, MD01, ...)
    reversal: bool
    seq: str
    signed_cents: int
    value_date: date | None


class CodaStatement:
    """An old balance record (1) and what the statement gathers until its new balance record (8)."""

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
    account: str
    currency: str
    groups: list[tuple[CodaMove, list[CodaMove]]]  # each 0000 movement and its details
    holder: str
    info_records: int
    move_records: int
    number: str
    opening: int
    opening_date: date | None
    sum_credit: int
    sum_debit: int


def split_coda_records(data: bytes) -> list[str]:
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


def coda_old_balance(rec: str, line: int) -> CodaStatement:
    structure = rec[1]
    if structure == "0":  # Belgian BBAN
        account, currency = belgian_bban_to_iban(rec[5:17].strip()), rec[18:21]
    elif structure == "2":  # Belgian IBAN
        account, currency = rec[5:21].strip(), rec[39:42]
    elif structure in ("1", "3"):  # foreign BBAN, foreign IBAN
        account, currency = rec[5:39].strip(), rec[39:42]
    else:
        raise StatementError(line, f"unknown account structure {structure!r} (0 to 3)")
    if currency != CURRENCY:
        raise StatementError(
            line, f"the account is in {currency.strip() or 'no currency'}: only euro statements are accepted"
        )
    if not is_digits(rec[2:5]):
        raise StatementError(line, f"the statement number {rec[2:5]!r} is not 3 digits")
    stmt = CodaStatement()
    stmt.account = account
    stmt.currency = currency
    stmt.number = rec[2:5]
    stmt.holder = rec[64:90].strip()
    stmt.opening = coda_sign(rec[42], line, "old balance") * coda_cents(rec[43:58], line, "old balance")
    stmt.opening_date = coda_date(rec[58:64], line, "old balance date", zero_is_none=True)
    stmt.groups = []
    stmt.sum_credit = stmt.sum_debit = 0
    stmt.move_records = stmt.info_records = 0
    return stmt


def coda_movement_record(rec: str, line: int) -> CodaMove:
    move = CodaMove()
    move.line = line
    move.key = rec[2:10]
    move.seq = rec[2:6]
    move.detail = rec[6:10]
    if not is_digits(move.key):
        raise StatementError(line, f"the sequence and detail numbers {move.key!r} are not 8 digits")
    move.bank_reference = rec[10:31].strip()
    move.signed_cents = coda_sign(rec[31], line, "movement") * coda_cents(rec[32:47], line, "amount")
    move.value_date = coda_date(rec[47:53], line, "value date", zero_is_none=True)
    if not is_digits(rec[53]):
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
        coda_date(move.entry_date, line, "entry date")
    move.cont = []
    move.counterparty_account = ""
    move.counterparty_name = ""
    move.end_to_end_id = move.r_transaction = move.return_reason = ""
    move.last = "1"
    return move


def coda_check_trailer(rec: str, line: int, count: int, debit: int, credit: int) -> None:
    if not is_digits(rec[16:22]):
        raise StatementError(line, f"the trailer's record count {rec[16:22]!r} is not 6 digits")
    if int(rec[16:22]) != count:
        raise StatementError(
            line,
            f"the trailer announces {int(rec[16:22])} records (1, 2, 3 and 8) but the file holds {count}",
        )
    announced_debit = coda_cents(rec[22:37], line, "trailer's debit sum")
    announced_credit = coda_cents(rec[37:52], line, "trailer's credit sum")
    if announced_debit != debit:
        raise StatementError(
            line,
            f"the trailer's debit sum is {eur(announced_debit)} but the movements add up to {eur(debit)}",
        )
    if announced_credit != credit:
        raise StatementError(
            line,
            f"the trailer's credit sum is {eur(announced_credit)} but the movements add up to {eur(credit)}",
        )
