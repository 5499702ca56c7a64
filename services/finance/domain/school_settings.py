"""The school's settings as rules: how long a password typed again lets a manager change the IBAN,
how an IBAN travels masked, the SEPA creditor identifier and the Belgian enterprise number checked,
and the invoice reminders' bounds. Nothing here reads or writes a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.be import vat as be_enterprise
from stdnum.eu import at_02
from stdnum.exceptions import ValidationError

__all__ = [
    "DEFAULT_REMINDERS",
    "REAUTH_WINDOW_SECONDS",
    "REMINDER_BOUNDS",
    "Reminders",
    "address_errors",
    "address_line",
    "clean_address",
    "iban_changes",
    "last4",
    "mask_iban",
    "reminder_errors",
    "validate_creditor_id",
    "validate_enterprise_number",
]

# A manager who typed their password again may change the school's IBAN for this long.
REAUTH_WINDOW_SECONDS = 5 * 60


def iban_changes(stored: str, new: str) -> bool:
    """Whether saving ``new`` changes the school's bank account (setting the first one does too);
    both compact, as validated."""
    return new != (stored or "")


def last4(iban: str) -> str:
    return iban[-4:] if iban else ""


def mask_iban(iban: str) -> str:
    """``BE68539007547034`` -> ``BE** **** **** 7034``: the country and the last 4 characters, the
    rest starred, in groups of 4 as IBANs are written ("" for "")."""
    if not iban:
        return ""
    if len(iban) <= 6:
        return iban[:2] + "*" * (len(iban) - 2)
    shown = iban[:2] + "*" * (len(iban) - 6) + iban[-4:]
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))


def validate_creditor_id(text: str) -> str:
    """A SEPA creditor identifier (EPC AT-02: country, ISO 7064 mod 97-10 check digits, business code,
    national identifier; ``BE69ZZZ050D000000008``), compact and upper case; "" for none. Raises
    ValueError saying what is wrong."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        compact = at_02.validate(text)
    except ValidationError as e:
        raise ValueError(f"not a SEPA creditor identifier: {e}") from None
    if len(compact) > 35:  # ISO 20022 Max35Text
        raise ValueError("not a SEPA creditor identifier: too long")
    return compact


def validate_enterprise_number(text: str) -> str:
    """A Belgian enterprise number (KBO/BCE, the ondernemingsnummer / numéro d'entreprise: 10 digits,
    mod 97 check; ``0203.201.340``, ``BE 0203201340``) as its 10 digits; "" for none. Raises
    ValueError saying what is wrong."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return be_enterprise.validate(text)
    except ValidationError as e:
        raise ValueError(f"not a Belgian enterprise number: {e}") from None


def clean_address(street: str, postal_code: str, city: str) -> tuple[str, str, str]:
    """A Belgian postal address with its spaces tidied: (street and number, postal code, city)."""
    return tuple(" ".join((v or "").split()) for v in (street, postal_code, city))  # type: ignore[return-value]


def address_errors(street: str, postal_code: str, city: str) -> dict[str, str]:
    """What is wrong with a tidied address, by field (empty when valid). Every field "" clears it;
    otherwise all three are needed and the postal code is Belgian: 4 digits, 1000 to 9999."""
    if not (street or postal_code or city):
        return {}
    errors = {}
    if not street or len(street) > 200:
        errors["street"] = "required, at most 200 characters"
    if not (len(postal_code) == 4 and postal_code.isdigit() and postal_code[0] != "0"):
        errors["postal_code"] = "a Belgian postal code: 4 digits, 1000 to 9999"
    if not city or len(city) > 100:
        errors["city"] = "required, at most 100 characters"
    return errors


def address_line(street: str, postal_code: str, city: str) -> str:
    """The address on one line, ``Rue de l'École 1, 1000 Bruxelles`` ("" when none)."""
    return ", ".join(x for x in (street, " ".join(x for x in (postal_code, city) if x)) if x)


@dataclass(frozen=True)
class Reminders:
    """When parents are reminded of an overdue invoice."""

    enabled: bool
    first_after_days: int
    repeat_every_days: int
    max_count: int


DEFAULT_REMINDERS = Reminders(enabled=False, first_after_days=7, repeat_every_days=14, max_count=3)
REMINDER_BOUNDS = {"first_after_days": (1, 180), "repeat_every_days": (1, 180), "max_count": (1, 10)}


def reminder_errors(r: Reminders) -> dict[str, str]:
    """What is out of bounds in ``r``, by field name (empty when valid)."""
    return {
        name: f"{low} to {high}"
        for name, (low, high) in REMINDER_BOUNDS.items()
        if not low <= getattr(r, name) <= high
    }
