"""Refunds of wallet money to a bank account (a leaver's balance, issue #18), as rules on plain values:
the IBAN and the holder checked, the amount a refund takes (the balance by default, never more), the
text the bank carries, and the SEPA credit-transfer file (``pain.001.001.03``, Febelfin's version of
the EPC rulebook) that pays a batch of refunds out of the school's account.

The file is built by ``sepaxml`` and checked against the schema it ships before it is handed back.
Names and texts are reduced to the SEPA character set (Latin letters, digits, ``/-?:().,'+`` and the
space), which the schema does not enforce but banks do. Nothing here reads or writes a database.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer  # type: ignore[import-untyped]  # no type information shipped
from text_unidecode import unidecode  # type: ignore[import-untyped]

from services.finance.domain import ledger

__all__ = [
    "MAX_HOLDER",
    "MAX_REMITTANCE",
    "PAIN_001",
    "CreditTransfer",
    "Debtor",
    "bic_of",
    "build_pain001",
    "check_holder",
    "check_iban",
    "default_remittance",
    "end_to_end_id",
    "filename",
    "message_id",
    "refund_amount",
    "sepa_text",
]

PAIN_001 = "pain.001.001.03"
MAX_HOLDER = 70  # ISO 20022 Max70Text (the creditor's name)
MAX_REMITTANCE = 140  # Max140Text (the unstructured remittance)
MAX_ID = 35  # Max35Text (MsgId, EndToEndId)
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def sepa_text(text: str, limit: int) -> str:
    """``text`` in the SEPA character set (accents dropped, anything else a space), on one line, at
    most ``limit`` characters."""
    plain = _NOT_SEPA.sub(" ", unidecode(text or ""))
    return " ".join(plain.split())[:limit].rstrip()


def check_iban(text: str) -> str:
    """The IBAN, compact (``BE68539007547034``), of an account a SEPA credit transfer reaches. Raises
    ValueError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the IBAN is missing")
    try:
        iban = IBAN(text.strip())
    except SchwiftyException as exc:
        raise ValueError(f"not a valid IBAN: {exc}") from None
    if not iban.in_sepa_zone:
        raise ValueError("this IBAN's country is outside the SEPA zone")
    return iban.compact


def bic_of(iban: str) -> str:
    """The BIC of the IBAN's bank when schwifty's registry knows it, else "" (a SEPA transfer within
    the zone needs no BIC)."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return ""
    return str(bic.compact) if bic is not None else ""


def check_holder(text: str) -> str:
    """The account holder's name, spaces collapsed: 1 to 70 characters, at least one letter or digit
    once written in the SEPA character set. Raises ValueError."""
    name = " ".join((text or "").split())
    if not name:
        raise ValueError("the account holder's name is missing")
    if len(name) > MAX_HOLDER:
        raise ValueError(f"at most {MAX_HOLDER} characters")
    if not any(c.isalnum() for c in sepa_text(name, MAX_HOLDER)):
        raise ValueError("the name needs letters")
    return name


def refund_amount(balance_cents: int, requested_cents: int | None) -> tuple[int, int]:
    """``(amount, balance after)`` of refunding ``requested_cents`` (None: the whole balance) from a
    wallet holding ``balance_cents``. Raises :class:`ledger.InsufficientBalance` when the wallet does
    not hold it (an empty wallet has nothing to refund), ValueError for an amount that is not positive."""
    if requested_cents is None:
        if balance_cents <= 0:
            raise ledger.InsufficientBalance(balance_cents, 1)
        return balance_cents, 0
    if isinstance(requested_cents, bool) or not isinstance(requested_cents, int) or requested_cents <= 0:
        raise ValueError("a refund must be of at least 1 cent")
    return requested_cents, ledger.check_can_debit(balance_cents, requested_cents)


def default_remittance(wallet_name: str, student_name: str) -> str:
    """What the parent's bank statement says when no reason is given."""
    return sepa_text(f"Remboursement {wallet_name} {student_name}", MAX_REMITTANCE)


def end_to_end_id(refund_id: str) -> str:
    """The refund's reference through the banks (its id without dashes: 32 characters)."""
    return refund_id.replace("-", "")[:MAX_ID]


def message_id(batch_id: str) -> str:
    """The file's MsgId (unique per school: banks refuse a file sent twice)."""
    return ("REMB" + batch_id.replace("-", ""))[:MAX_ID]


def filename(execution_date: date, batch_id: str) -> str:
    return f"remboursements-{execution_date.isoformat()}-{batch_id[:8]}.xml"


@dataclass(frozen=True)
class Debtor:
    """The school's account the refunds are paid from."""

    name: str
    iban: str
    bic: str = ""


@dataclass(frozen=True)
class CreditTransfer:
    """One refund in the file."""

    end_to_end_id: str
    amount_cents: int
    name: str
    iban: str
    remittance: str
    bic: str = ""


class _Transfer(SepaTransfer):  # type: ignore[misc]  # sepaxml is untyped
    """sepaxml's transfer with the ids and the creation time given, not drawn from the machine's clock
    and a random generator (the same batch makes the same bytes), and a bank without a known BIC
    written ``Othr/Id NOTPROVIDED`` as the EPC guidelines ask, not left empty."""

    def __init__(self, config: dict[str, object], msg_id: str, created_at: datetime) -> None:
        self._fixed_header = (msg_id, created_at)
        super().__init__(config, schema=PAIN_001)

    def _create_header(self) -> None:
        msg_id, created_at = self._fixed_header
        self.msg_id = msg_id
        super()._create_header()
        header = self._xml.find("CstmrCdtTrfInitn/GrpHdr")
        header.find("CreDtTm").text = created_at.strftime("%Y-%m-%dT%H:%M:%S")

    def _finalize_batch(self) -> None:
        super()._finalize_batch()
        for block in self._xml.iter("PmtInf"):
            block.find("PmtInfId").text = self.msg_id
        for bank in self._xml.iter("FinInstnId"):
            if len(bank) == 0:
                other = ET.SubElement(bank, "Othr")
                ET.SubElement(other, "Id").text = "NOTPROVIDED"


def build_pain001(
    debtor: Debtor,
    transfers: Sequence[CreditTransfer],
    *,
    msg_id: str,
    created_at: datetime,
    execution_date: date,
) -> bytes:
    """The credit-transfer file paying ``transfers`` from ``debtor``'s account on ``execution_date``:
    one payment information block (batch booking), UTF-8 XML checked against the pain.001.001.03
    schema (sepaxml raises ``sepaxml.validation.ValidationError`` otherwise). ``created_at`` is
    written as given (the school's local time)."""
    if not transfers:
        raise ValueError("a credit-transfer file needs at least one transfer")
    config: dict[str, object] = {
        "name": sepa_text(debtor.name, MAX_HOLDER),
        "IBAN": debtor.iban,
        "batch": True,
        "currency": "EUR",
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    sepa = _Transfer(config, sepa_text(msg_id, MAX_ID), created_at)
    for t in transfers:
        if t.amount_cents <= 0:
            raise ValueError("every transfer must be of at least 1 cent")
        payment = {
            "name": sepa_text(t.name, MAX_HOLDER),
            "IBAN": t.iban,
            "amount": t.amount_cents,
            "execution_date": execution_date,
            "description": sepa_text(t.remittance, MAX_REMITTANCE) or "Remboursement",
            "endtoend_id": sepa_text(t.end_to_end_id, MAX_ID),
        }
        if t.bic:
            payment["BIC"] = t.bic
        sepa.add_payment(payment)
    content: bytes = sepa.export(validate=True)
    return content
