"""The shared model of a parsed bank statement, and the helpers both formats use.

Money is integer cents everywhere. Only euro statements are accepted: Cartable books euros, and a
movement in another currency cannot be matched against a euro amount due.

Structured communication (OGM / VCS, the 12 bare digits)
    CODA: communication type ``[61] == '1'`` with structured type ``[62:65] == '101'``, digits
    ``[65:77]``. camt.053: ``RmtInf/Strd/CdtrRefInf/Ref`` (Belgian ``SCOR`` / ``BBA``; the digits may
    also be written with ``+++``/``***`` and slashes). Failing that, one ``+++ddd/dddd/ddddd+++`` (or
    ``***...***``) written in the free text. In every case the check digits must be right (mod 97) and
    the first ten digits not all zero; otherwise, or when the free text holds two different valid
    references, there is no structured communication and the text stays in ``free_communication``.
    Other CODA structured types (102, 105, 107, 114 ...) are kept as free text without their 3-digit
    type code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from kit.money import cents_to_decimal_str

FORMAT_CODA = "coda"
FORMAT_CAMT053 = "camt053"
CREDIT = "credit"
DEBIT = "debit"
CURRENCY = "EUR"


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
    # SEPA direct debit (issue #18), "" when the bank gives none: the collection's end-to-end id (CODA
    # record 2.2 positions 64-98, the customer reference; camt.053 TxDtls/Refs/EndToEndId), the type of
    # R-transaction (CODA record 2.2 position 113: 1 reject, 2 return, 3 refund, 4 reversal,
    # 5 cancellation; camt.053: "2" when the detail has RtrInf) and its ISO reason (CODA 114-117;
    # camt.053 RtrInf/Rsn/Cd).
    end_to_end_id: str = ""
    r_transaction: str = ""
    return_reason: str = ""

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


_OGM_IN_TEXT = re.compile(
    r"(?:\+\+\+|\*\*\*)\s*([0-9]{3})\s*/\s*([0-9]{4})\s*/\s*([0-9]{5})\s*(?:\+\+\+|\*\*\*)"
)


def is_digits(text: str) -> bool:
    # str.isdigit alone accepts "²" and other non-ASCII digits that int() refuses
    return text.isascii() and text.isdigit()


def valid_ogm(digits: str) -> bool:
    """12 ASCII digits with correct check digits and a non-zero base, as written (kit.ogm's rules:
    ``int(first ten) % 97``, a remainder of 0 written 97; a reference with signs, slashes or spaces is
    first compacted by the caller). Computed here rather than through ``kit.ogm.normalize_ogm``:
    python-stdnum cleans the string character by character, and an import checks every movement's."""
    if len(digits) != 12 or not is_digits(digits) or digits[:10] == "0" * 10:
        return False
    return f"{int(digits[:10]) % 97 or 97:02d}" == digits[10:]


def ogm_from_reference(ref: str) -> str:
    """The 12 digits of a reference field that holds an OGM (bare or written with +++/***, slashes
    and spaces), or ''."""
    compact = "".join(ref.split()).strip("+*").replace("/", "")
    return compact if valid_ogm(compact) else ""


def ogm_in_free_text(text: str) -> str:
    """The one valid ``+++ddd/dddd/ddddd+++`` written in a free text, or '' (none, or several
    different ones: which invoice was paid is then for a person to decide)."""
    if "+++" not in text and "***" not in text:
        return ""
    found = {"".join(m.groups()) for m in _OGM_IN_TEXT.finditer(text)}
    valid = {d for d in found if valid_ogm(d)}
    return valid.pop() if len(valid) == 1 else ""


def squeeze(text: str) -> str:
    return " ".join(text.split())


def eur(cents: int) -> str:
    """An amount in a refusal's reason: ``-37.10 EUR``."""
    return f"{cents_to_decimal_str(cents)} EUR"


@lru_cache(maxsize=4096)  # counterparties repeat; schwifty builds objects, the old arithmetic did not
def belgian_bban_to_iban(bban: str) -> str:
    """A valid 12-digit Belgian BBAN → its IBAN; anything else (other lengths or characters, wrong
    national check digits) is returned unchanged."""
    if len(bban) != 12 or not is_digits(bban):
        return bban  # checked first: schwifty would also accept "539-0075470-34" or spaces
    try:
        return str(IBAN.from_bban("BE", bban, validate_bban=True))
    except SchwiftyException:
        return bban


def clean_account(text: str) -> str:
    account = "".join(text.split())
    if not account or set(account) == {"0"}:
        return ""
    return belgian_bban_to_iban(account)
