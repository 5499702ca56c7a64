"""A collection batch as a SEPA direct-debit file, ``pain.008.001.02`` (the version Belgian banks take,
Febelfin's implementation of the EPC SDD Core rulebook), from plain values.

Written by ``sepaxml`` (the batch mode: one payment information block per sequence type and
collection date, FRST before RCUR), then made deterministic and Belgian where sepaxml is neither:

- ``GrpHdr/MsgId`` is the batch's message id and ``GrpHdr/CreDtTm`` its creation time (sepaxml draws
  a random id and takes the current time), each ``PmtInf/PmtInfId`` is ``<message id>-FRST`` or
  ``-RCUR`` (sepaxml draws random ones): the bank's credit of a batch or of one block repeats them,
  which is how a statement finds the batch again;
- the remittance information of a collection with a structured communication is
  ``RmtInf/Strd/CdtrRefInf`` (type ``SCOR``, issuer ``BBA``, the 12 digits), as Belgian banks carry
  an OGM, instead of an unstructured line;
- a creditor or debtor bank whose BIC is not known is ``FinInstnId/Othr/Id NOTPROVIDED`` (IBAN-only,
  allowed by the rulebook since 2016).

Every file is then checked against the official schema shipped with sepaxml (``xmlschema``): a file
that does not validate is never answered (:class:`InvalidFile`).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sepaxml  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring
from sepaxml import SepaDD

from services.finance.domain.sepa import FRST, RCUR, payment_information_id, sepa_text

__all__ = ["SCHEMA", "SCHEMA_PATH", "Collection", "Creditor", "InvalidFile", "build_pain008", "validate"]

SCHEMA = "pain.008.001.02"
SCHEMA_PATH = os.path.join(os.path.dirname(sepaxml.__file__), "schemas", f"{SCHEMA}.xsd")
NS = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
_PLACEHOLDER_BIC = "NOTPROVIDED"


class InvalidFile(ValueError):
    """The file does not validate against the pain.008.001.02 schema (a bug, or a value no bank takes)."""


@dataclass(frozen=True)
class Creditor:
    """The school: its name, account (IBAN, BIC or "") and SEPA creditor identifier."""

    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Collection:
    """One direct debit: ``communication`` is the 12 digits of the structured communication ("" for
    none: ``text`` is then the unstructured remittance)."""

    end_to_end_id: str
    amount_cents: int
    sequence_type: str  # FRST | RCUR
    mandate_reference: str
    mandate_signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    communication: str = ""
    text: str = ""


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def build_pain008(
    creditor: Creditor,
    message_id: str,
    created_at: datetime,
    collection_date: date,
    collections: Sequence[Collection],
) -> bytes:
    """The batch's pain.008.001.02 file (UTF-8 XML), validated against the schema. ``created_at``
    is written as given (the school's local time, without offset, as banks expect)."""
    if not collections:
        raise ValueError("a direct-debit file needs at least one collection")
    sdd = SepaDD(
        {
            "name": sepa_text(creditor.name, 70) or "Ecole",
            "IBAN": creditor.iban,
            "BIC": creditor.bic or _PLACEHOLDER_BIC,
            "batch": True,
            "creditor_id": creditor.creditor_id,
            "currency": "EUR",
        },
        schema=SCHEMA,
    )
    order = {FRST: 0, RCUR: 1}
    for c in sorted(collections, key=lambda c: (order[c.sequence_type], c.end_to_end_id)):
        payment: dict[str, object] = {
            "name": sepa_text(c.debtor_name, 70) or "Debiteur",
            "IBAN": c.debtor_iban,
            "amount": c.amount_cents,
            "type": c.sequence_type,
            "collection_date": collection_date,
            "mandate_id": c.mandate_reference,
            "mandate_date": c.mandate_signed_on,
            "description": c.communication or sepa_text(c.text, 140) or c.end_to_end_id,
            "endtoend_id": c.end_to_end_id,
        }
        if c.debtor_bic:
            payment["BIC"] = c.debtor_bic
        sdd.add_payment(payment)
    raw = sdd.export(validate=False)
    by_id = {c.end_to_end_id: c for c in collections}
    out = _finish(raw, message_id, created_at, by_id, creditor_has_bic=bool(creditor.bic))
    validate(out)
    return out


def _finish(
    raw: bytes, message_id: str, created_at: datetime, by_id: dict[str, Collection], *, creditor_has_bic: bool
) -> bytes:
    ET.register_namespace("", NS)
    root = fromstring(raw)  # our own sepaxml output; defused all the same
    initiation = root.find(_q("CstmrDrctDbtInitn"))
    assert initiation is not None
    header = initiation.find(_q("GrpHdr"))
    assert header is not None
    header.find(_q("MsgId")).text = message_id  # type: ignore[union-attr]
    header.find(_q("CreDtTm")).text = created_at.replace(tzinfo=None, microsecond=0).isoformat()  # type: ignore[union-attr]
    for info in initiation.findall(_q("PmtInf")):
        sequence = info.findtext(f"{_q('PmtTpInf')}/{_q('SeqTp')}") or ""
        info.find(_q("PmtInfId")).text = payment_information_id(message_id, sequence)  # type: ignore[union-attr]
        if not creditor_has_bic:
            _not_provided(info.find(f"{_q('CdtrAgt')}/{_q('FinInstnId')}"))
        for tx in info.findall(_q("DrctDbtTxInf")):
            e2e = tx.findtext(f"{_q('PmtId')}/{_q('EndToEndId')}") or ""
            c = by_id[e2e]
            if c.communication:
                _structured(tx, c.communication)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body


def _not_provided(fin: ET.Element | None) -> None:
    """``FinInstnId`` of a bank whose BIC is not known: ``Othr/Id NOTPROVIDED``."""
    if fin is None:
        return
    for child in list(fin):
        fin.remove(child)
    other = ET.SubElement(fin, _q("Othr"))
    ET.SubElement(other, _q("Id")).text = _PLACEHOLDER_BIC


def _structured(tx: ET.Element, digits: str) -> None:
    """Replace the transaction's unstructured remittance with the Belgian structured communication."""
    remittance = tx.find(_q("RmtInf"))
    if remittance is None:
        remittance = ET.SubElement(tx, _q("RmtInf"))
    for child in list(remittance):
        remittance.remove(child)
    ref = ET.SubElement(ET.SubElement(remittance, _q("Strd")), _q("CdtrRefInf"))
    kind = ET.SubElement(ref, _q("Tp"))
    ET.SubElement(ET.SubElement(kind, _q("CdOrPrtry")), _q("Cd")).text = "SCOR"
    ET.SubElement(kind, _q("Issr")).text = "BBA"
    ET.SubElement(ref, _q("Ref")).text = digits


@lru_cache(maxsize=1)
def _schema() -> Any:
    import xmlschema  # imported late: it patches ElementTree, which sepaxml warns about

    return xmlschema.XMLSchema(SCHEMA_PATH)


def validate(content: bytes) -> None:
    """Raise :class:`InvalidFile` (with the schema's reason) unless ``content`` is a valid
    pain.008.001.02 document."""
    import xmlschema

    try:
        _schema().validate(content.decode("utf-8"))
    except xmlschema.XMLSchemaValidationError as e:
        raise InvalidFile(f"the direct-debit file does not validate: {e.reason}") from None
