"""The EPC ("SEPA") QR code that banking apps scan to prefill a transfer (EPC069-12, version 002),
and the IBAN/BIC checks the school's payment settings need.

Where the structured communication goes: the EPC payload has a "structured reference" line and an
"unstructured text" line, never both. The structured line is specified for the ISO 11649 creditor
reference (``RF…``); the EPC QR has no field saying that 12 digits are a Belgian OGM, and whether
Belgian apps read an OGM from that line is not verified. So the OGM goes in the text line, written
``+++123/4567/89002+++``: an app that recognises the Belgian form turns it into a structured
communication, and one that does not still sends the ``+++…+++`` text, which the bank statement
carries as free communication and the statement matcher reads (CODA free text, camt.053 ``Ustrd``).
Putting it in the reference line would risk strict apps refusing the code or dropping the reference.
The invoice PDFs (documents service) write it the same way, so both codes behave alike.
"""

from __future__ import annotations

import io
from decimal import Decimal

import segno
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from segno import helpers as segno_helpers

from kit.ogm import format_ogm, normalize_ogm

__all__ = [
    "EPC_MAX_BYTES",
    "EPC_MAX_CENTS",
    "epc_payload",
    "epc_qr_svg",
    "validate_bic",
    "validate_iban",
]

EPC_MAX_BYTES = 331
EPC_MAX_CENTS = 99_999_999_999  # 999 999 999,99 €
_MAX_NAME = 70
_MAX_TEXT = 140
_MAX_QR_VERSION = 13  # EPC069-12: at most version 13 with error correction M


def validate_iban(text: str) -> str:
    """The IBAN in compact upper-case form (``BE68539007547034``), from any usual spelling (spaces,
    lower case). Raises ValueError naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the IBAN is missing")
    try:
        return IBAN(text.strip()).compact
    except SchwiftyException as exc:
        raise ValueError(f"invalid IBAN {text.strip()!r}: {exc}") from exc


def validate_bic(text: str | None) -> str:
    """The BIC in compact upper-case form, or ``""`` when none is given: version 002 of the EPC QR
    lets the BIC be empty inside the EEA, so a school need not know it. Raises ValueError when a
    BIC is given but malformed."""
    if text is None or not text.strip():
        return ""
    try:
        return BIC(text.strip()).compact
    except SchwiftyException as exc:
        raise ValueError(f"invalid BIC {text.strip()!r}: {exc}") from exc


def _one_line(value: str, label: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"the {label} must fit on one line")
    return value


def _amount_line(amount_cents: int | None) -> str:
    if amount_cents is None:
        return ""  # the payer types the amount
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise TypeError(f"the amount must be an int of cents, got {type(amount_cents).__name__}")
    if not 1 <= amount_cents <= EPC_MAX_CENTS:
        raise ValueError("the amount of an EPC QR code must be between 0,01 € and 999 999 999,99 €")
    # Written as segno writes it ("EUR10.5", "EUR10"), so both encoding paths produce the same bytes.
    return f"EUR{Decimal(amount_cents) / 100:.2f}".rstrip("0").rstrip(".")


def _fields(
    name: str,
    iban: str,
    bic: str | None,
    amount_cents: int | None,
    structured_communication: str | None,
    text: str | None,
) -> tuple[str, str, str, str, str]:
    """Validated (name, iban, bic, amount line, remittance text)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("the beneficiary name is missing")
    name = _one_line(name.strip(), "beneficiary name")
    if len(name) > _MAX_NAME:
        raise ValueError(f"the beneficiary name has at most {_MAX_NAME} characters, got {len(name)}")
    has_ogm = structured_communication is not None and structured_communication.strip() != ""
    has_text = text is not None and text.strip() != ""
    if has_ogm and has_text:
        raise ValueError("give a structured communication or a free text, not both")
    if not has_ogm and not has_text:
        raise ValueError("a transfer needs a structured communication or a free text")
    if has_ogm:
        digits = normalize_ogm(structured_communication)
        if digits is None:
            raise ValueError(f"not a valid structured communication: {structured_communication!r}")
        remittance = format_ogm(digits)
    else:
        assert text is not None  # has_text
        remittance = _one_line(text.strip(), "text")
        if len(remittance) > _MAX_TEXT:
            raise ValueError(f"the text has at most {_MAX_TEXT} characters, got {len(remittance)}")
    return name, validate_iban(iban), validate_bic(bic), _amount_line(amount_cents), remittance


def _payload(name: str, iban: str, bic: str, amount: str, remittance: str) -> str:
    lines = [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        bic,
        name,
        iban,
        amount,
        "",  # purpose code
        "",  # structured (ISO 11649) reference: unused, see the module docstring
        remittance,  # unstructured remittance text
    ]
    payload = "\n".join(lines)
    size = len(payload.encode("utf-8"))
    if size > EPC_MAX_BYTES:
        raise ValueError(f"the EPC QR payload is {size} bytes, at most {EPC_MAX_BYTES} are allowed")
    return payload


def epc_payload(
    name: str,
    iban: str,
    bic: str | None = None,
    amount_cents: int | None = None,
    structured_communication: str | None = None,
    text: str | None = None,
) -> str:
    """The exact text the EPC QR code encodes (lines separated by LF, UTF-8).

    ``structured_communication`` (any form :func:`~.ogm.normalize_ogm` accepts) or ``text`` (≤140
    characters), exactly one; ``amount_cents`` None leaves the amount for the payer to type.
    Raises ValueError on anything a banking app would refuse."""
    return _payload(*_fields(name, iban, bic, amount_cents, structured_communication, text))


def _qr(
    name: str,
    iban: str,
    bic: str | None,
    amount_cents: int | None,
    structured_communication: str | None,
    text: str | None,
) -> segno.QRCode:
    """The one EPC QR code both forms draw: segno's EPC helper with the amount as an exact Decimal of
    cents (never a float), or the same payload in the same settings when there is no amount."""
    name, iban, bic, amount, remittance = _fields(
        name, iban, bic, amount_cents, structured_communication, text
    )
    payload = _payload(name, iban, bic, amount, remittance)
    if amount_cents is not None:
        qr = segno_helpers.make_epc_qr(
            name=name,
            iban=iban,
            amount=Decimal(amount_cents).scaleb(-2),
            text=remittance,
            bic=bic or None,
            encoding=1,
        )
    else:
        # segno's helper insists on an amount, which EPC069-12 makes optional: encode the same payload
        # with the same settings it uses (byte mode, level M, no error-level boost).
        qr = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False)
    # A Micro QR's version is a string ("M1".."M4"); neither maker above makes one.
    assert isinstance(qr.version, int)
    if qr.version > _MAX_QR_VERSION:  # pragma: no cover - 331 bytes always fit in version 13 at level M
        raise ValueError(f"the EPC QR code needs version {qr.version}, at most {_MAX_QR_VERSION} is allowed")
    return qr


def epc_qr_svg(
    name: str,
    iban: str,
    bic: str | None = None,
    amount_cents: int | None = None,
    structured_communication: str | None = None,
    text: str | None = None,
    *,
    title: str = "Code QR du virement (EPC / SEPA)",
    scale: int = 4,
    border: int = 4,
) -> str:
    """The EPC QR code as an inline ``<svg>`` element (no XML declaration, no namespace: ready to put
    in HTML), with ``role="img"`` and a ``<title>`` naming it for screen readers; pass a translated
    ``title`` for nl/en pages. Arguments as :func:`epc_payload`; error correction M."""
    qr = _qr(name, iban, bic, amount_cents, structured_communication, text)
    svg = qr.svg_inline(scale=scale, border=border, title=title)
    return svg.replace("<svg ", '<svg role="img" ', 1)


def epc_qr_png(
    name: str,
    iban: str,
    bic: str | None = None,
    amount_cents: int | None = None,
    structured_communication: str | None = None,
    text: str | None = None,
    *,
    scale: int = 4,
    border: int = 2,
) -> bytes:
    """The same EPC QR code as :func:`epc_qr_svg`, as PNG bytes (for PDFs). Arguments as
    :func:`epc_payload`; raises ValueError on anything a banking app would refuse."""
    qr = _qr(name, iban, bic, amount_cents, structured_communication, text)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()
