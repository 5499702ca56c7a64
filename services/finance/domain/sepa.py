"""SEPA direct debit's pure rules (issue #18): checking a parent's IBAN, the identifiers finance makes
(mandate reference, a batch's message id, each collection's end-to-end id), the sequence type, what
a bank's return reason means, the automatic top-up's limits and the mandate text a parent accepts.
Nothing here reads or writes a database; the pain.008 file itself is :mod:`.pain008`.

Identifiers (all within ISO 20022 ``Max35Text`` and the SEPA character set: upper-case letters,
digits and ``-``; no spaces, nothing a bank could change):

- mandate reference (UMR, printed on the parent's bank statement): ``CRT-<yymmdd>-<10 characters>``,
  e.g. ``CRT-261214-7KQ2M9XD4A`` (21 characters), random from an alphabet without 0/O and 1/I;
  unique (the database's unique index; a collision, one in 10^15, is drawn again);
- a batch's message id (the file's ``MsgId``, and what the bank's credit of the batch repeats):
  ``DD<yymmddHHMMSS><8 hex>`` (22 characters); each payment information block's id is the message
  id, ``-`` and its sequence type (``DD...-FRST``);
- a collection's end-to-end id (what the bank gives back on a per-transaction credit or a return):
  ``E`` and 32 hex digits.

The sequence type: ``FRST`` while no collection went out on the mandate, ``RCUR`` after (a batch's
items of a new mandate are all ``FRST``: the EPC rulebook's first collection of the series).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

__all__ = [
    "FRST",
    "LANGUAGES",
    "MANDATE_ENDING_REASONS",
    "MAX_AMOUNT_CENTS",
    "MAX_HOLDER",
    "MAX_THRESHOLD_CENTS",
    "MIN_AMOUNT_CENTS",
    "RCUR",
    "R_TYPES",
    "BankAccount",
    "auto_top_up_errors",
    "batch_status",
    "check_debtor_iban",
    "end_to_end_id",
    "ends_mandate",
    "find_message_id",
    "is_end_to_end_id",
    "mandate_reference",
    "mandate_text",
    "mask_iban",
    "message_id",
    "payment_information_id",
    "sepa_text",
    "sequence_type",
]

FRST = "FRST"
RCUR = "RCUR"

MAX_HOLDER = 70  # the debtor's name in pain.008 (Max70Text)
# An automatic top-up: a threshold from 0 to 1 000 €, an amount from 1 € to 500 €.
MAX_THRESHOLD_CENTS = 100_000
MIN_AMOUNT_CENTS = 100
MAX_AMOUNT_CENTS = 50_000

# CODA record 2.2 position 113: the type of R-transaction.
R_TYPES = {"1": "reject", "2": "return", "3": "refund", "4": "reversal", "5": "cancellation"}

# ISO 20022 return reasons after which the mandate can never be collected on again, so finance marks
# it revoked (reason bank_return) and collects nothing more on it: MD01 no valid mandate (the debtor
# cancelled it at their bank, or never gave it), MD07 the debtor died, AC04 the account is closed,
# AC01 the account number is wrong. Any other reason (AM04 insufficient funds, MS02/MS03 refused,
# MD06 a refund asked within 8 weeks, ...) reopens what was paid and keeps the mandate.
MANDATE_ENDING_REASONS = frozenset({"MD01", "MD07", "AC04", "AC01"})

_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
_MESSAGE_ID = re.compile(r"DD[0-9]{12}[0-9A-F]{8}")
_END_TO_END_ID = re.compile(r"E[0-9A-F]{32}")
# The Latin characters every SEPA bank accepts (EPC guidelines); anything else becomes a space.
_SEPA_CHARS = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class BankAccount:
    """A parent's account, checked: the compact IBAN and its BIC ("" when the bank's is unknown)."""

    __slots__ = ("bic", "iban")

    def __init__(self, iban: str, bic: str) -> None:
        self.iban = iban
        self.bic = bic


def check_debtor_iban(text: str) -> BankAccount:
    """The account a parent gives for a mandate: a valid IBAN (schwifty: length, check digits, the
    country's format) of the SEPA zone, and its BIC derived from the IBAN where schwifty knows the
    bank (Belgian banks: from the bank code). Raises ValueError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the IBAN is missing")
    try:
        iban = IBAN(text.strip())
    except SchwiftyException as e:
        raise ValueError(f"not a valid IBAN: {e}") from None
    if not iban.in_sepa_zone:
        raise ValueError("this IBAN is not of a SEPA country")
    bic: BIC | None
    try:
        bic = iban.bic
    except SchwiftyException:
        bic = None
    return BankAccount(iban.compact, bic.compact if bic is not None else "")


def mask_iban(iban: str) -> str:
    """``BE68539007547034`` -> ``BE68 **** **** 7034``: the country and check digits and the last 4
    characters (what a parent recognises their account by); "" for ""."""
    if not iban:
        return ""
    return f"{iban[:4]} **** **** {iban[-4:]}"


def sepa_text(text: str, limit: int) -> str:
    """``text`` as a SEPA file may carry it: accents dropped (é -> e), other characters outside the
    SEPA set replaced by spaces, spaces squeezed, at most ``limit`` characters."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    return " ".join(_SEPA_CHARS.sub(" ", plain).split())[:limit].strip()


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def mandate_reference(signed_at: datetime) -> str:
    """A new unique mandate reference (UMR) for a mandate signed at ``signed_at``."""
    return f"CRT-{signed_at:%y%m%d}-{_random(10)}"


def message_id(created_at: datetime) -> str:
    """A new batch's message id (MsgId), also the reference of the bank's credit of the batch."""
    return f"DD{created_at:%y%m%d%H%M%S}{secrets.token_hex(4).upper()}"


def payment_information_id(msg_id: str, sequence: str) -> str:
    """The id of a batch's payment information block of one sequence type."""
    return f"{msg_id}-{sequence}"


def end_to_end_id() -> str:
    """A new collection's end-to-end id."""
    return "E" + secrets.token_hex(16).upper()


def is_end_to_end_id(text: str) -> bool:
    """Whether ``text`` may be one of finance's end-to-end ids (banks write their own in the field)."""
    return bool(_END_TO_END_ID.fullmatch(text or ""))


def find_message_id(*texts: str) -> tuple[str, str]:
    """The batch message id a bank's movement carries in its communication or references, and the
    sequence type when it names a payment information block (``DD...-FRST``): ``(msg id, "FRST" |
    "RCUR" | "")``, or ``("", "")``. Spaces and case are ignored (banks wrap and upper-case text)."""
    for text in texts:
        compact = "".join((text or "").split()).upper()
        match = _MESSAGE_ID.search(compact)
        if match:
            rest = compact[match.end() : match.end() + 5]
            sequence = rest[1:] if rest in ("-FRST", "-RCUR") else ""
            return match.group(0), sequence
    return "", ""


def sequence_type(first_collected: bool) -> str:
    """FRST for a mandate's first collection, RCUR once one went out on it."""
    return RCUR if first_collected else FRST


def ends_mandate(reason: str) -> bool:
    """Whether a returned debit's ISO reason means the mandate is gone (see MANDATE_ENDING_REASONS)."""
    return (reason or "").strip().upper() in MANDATE_ENDING_REASONS


def auto_top_up_errors(threshold_cents: int, amount_cents: int) -> dict[str, str]:
    """The fields of an automatic top-up that are out of range (empty when both are right)."""
    errors = {}
    if not 0 <= threshold_cents <= MAX_THRESHOLD_CENTS:
        errors["threshold_cents"] = f"0 to {MAX_THRESHOLD_CENTS}"
    if not MIN_AMOUNT_CENTS <= amount_cents <= MAX_AMOUNT_CENTS:
        errors["amount_cents"] = f"{MIN_AMOUNT_CENTS} to {MAX_AMOUNT_CENTS}"
    return errors


_TEXTS = {
    "fr": (
        "Mandat de domiciliation européenne SEPA (Core). Référence du mandat : {reference}. "
        "Créancier : {school}, identifiant du créancier : {creditor_id}. "
        "En signant ce mandat, vous autorisez {school} à envoyer des instructions à votre banque pour "
        "débiter votre compte {iban} (titulaire : {holder}), et votre banque à débiter votre compte "
        "conformément aux instructions de {school}, pour les factures scolaires et les rechargements "
        "des portefeuilles de vos enfants. Vous bénéficiez du droit d'être remboursé par votre banque "
        "selon les conditions décrites dans la convention que vous avez passée avec elle ; une demande "
        "de remboursement doit être présentée dans les 8 semaines suivant la date de débit de votre "
        "compte. Vous êtes informé par courriel du montant et de la date de chaque encaissement au moins un "
        "jour avant celui-ci : c'est le délai de préavis convenu par ce mandat. Vous pouvez révoquer ce "
        "mandat à tout moment dans Cartable."
    ),
    "nl": (
        "Europees SEPA-domiciliëringsmandaat (Core). Mandaatreferentie: {reference}. "
        "Schuldeiser: {school}, identificatie van de schuldeiser: {creditor_id}. "
        "Door dit mandaat te ondertekenen geeft u {school} toestemming om uw bank opdrachten te sturen "
        "om uw rekening {iban} (houder: {holder}) te debiteren, en uw bank om uw rekening te debiteren "
        "volgens de opdrachten van {school}, voor de schoolfacturen en het opladen van de portefeuilles "
        "van uw kinderen. U hebt het recht om door uw bank terugbetaald te worden volgens de "
        "voorwaarden van uw overeenkomst met haar; een terugbetaling moet binnen 8 weken na de "
        "debitering van uw rekening worden gevraagd. U wordt per e-mail ten minste één dag vóór elke "
        "invordering op de hoogte gebracht van het bedrag en de datum ervan: dat is de termijn van "
        "voorafgaande kennisgeving die dit mandaat overeenkomt. U kunt dit mandaat op elk moment in "
        "Cartable herroepen."
    ),
    "en": (
        "SEPA Core direct debit mandate. Mandate reference: {reference}. "
        "Creditor: {school}, creditor identifier: {creditor_id}. "
        "By signing this mandate, you authorise {school} to send instructions to your bank to debit "
        "your account {iban} (holder: {holder}), and your bank to debit your account in accordance "
        "with the instructions from {school}, for school invoices and top-ups of your children's "
        "wallets. You are entitled to a refund from your bank under the terms and conditions of your "
        "agreement with your bank; a refund must be claimed within 8 weeks starting from the date on "
        "which your account was debited. You are told the amount and date of each collection by e-mail "
        "at least one day before it: that is the pre-notification period this mandate agrees. You may "
        "revoke this mandate at any time in Cartable."
    ),
}
LANGUAGES = tuple(_TEXTS)


def mandate_text(
    language: str, *, reference: str, school: str, creditor_id: str, iban_masked: str, holder: str
) -> str:
    """The text of the e-mandate in ``language`` (fr, nl, en; anything else: fr), naming the school
    and its creditor id: what the parent accepts, stored as they saw it."""
    template = _TEXTS.get(language, _TEXTS["fr"])
    return template.format(
        reference=reference, school=school, creditor_id=creditor_id, iban=iban_masked, holder=holder
    )


def batch_status(pending_count: int, collected_cents: int, returned_cents: int) -> str:
    """A batch's status: ``partially_returned`` once the bank returned one of its debits,
    ``collected`` once every item not withdrawn was credited, ``created`` before."""
    if returned_cents:
        return "partially_returned"
    if collected_cents and not pending_count:
        return "collected"
    return "created"
