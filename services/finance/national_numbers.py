"""The national numbers of a tax certificate's people, sealed wherever finance keeps or sends them
(issue #21): in ``tax_certificates.content`` each person's ``national_number`` is stored as
``sealed_national_number`` (``kit.secretbox``, key ``NATIONAL_NUMBER_KEY``; "" when there is none,
or no more after an erasure), and in finance.tax_certificate.issued.v1 the certificate's
``national_number`` fields carry the sealed text, which documents opens only to render the PDF.

The rest of the content stays readable: an erasure or an export needs no key (each drops the sealed
field). The fingerprint that tells whether a regeneration changed anything is taken over the content
without the numbers (a SHA-256 of an 11-digit number next to a known birth date is guessed in
seconds); a regeneration compares the numbers themselves by opening the stored ones.

A number is never logged: a wrong key raises ValueError naming no part of what it could not open."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cartable.finance.v1 import tax_certificates_pb2 as pb
from kit.secretbox import SecretBox, national_number_box
from kit.service import Runtime

PEOPLE = ("child", "parent")
CLEAR = "national_number"
SEALED = "sealed_national_number"
_EXTRA = "national_number_box"


def box(rt: Runtime) -> SecretBox:
    """The runtime's box (built once; outside a local run, refused without NATIONAL_NUMBER_KEY)."""
    found = rt.extras.get(_EXTRA)
    if found is None:
        found = rt.extras[_EXTRA] = national_number_box(rt.settings)
    return found


def canonical(content: dict[str, Any]) -> str:
    """The content as stored: sorted keys, no spaces."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def _people(content: dict[str, Any]) -> dict[str, Any]:
    out = dict(content)
    for who in PEOPLE:
        if isinstance(out.get(who), dict):
            out[who] = dict(out[who])
    return out


def sealed(content: dict[str, Any], b: SecretBox) -> dict[str, Any]:
    """``content`` as stored: each person's clear number replaced by its sealed text."""
    out = _people(content)
    for who in PEOPLE:
        person = out.get(who)
        if isinstance(person, dict) and CLEAR in person:
            number = person.pop(CLEAR)
            person[SEALED] = b.seal(number) if number else ""
    return out


def opened(content: dict[str, Any], b: SecretBox) -> dict[str, Any]:
    """``content`` as certified: each person's sealed number opened (ValueError for a wrong key)."""
    out = _people(content)
    for who in PEOPLE:
        person = out.get(who)
        if isinstance(person, dict) and SEALED in person:
            number = person.pop(SEALED)
            person[CLEAR] = b.open(number) if number else ""
    return out


def numbers(content: dict[str, Any]) -> tuple[str, ...]:
    """The clear numbers of certified content, child's then parent's."""
    return tuple(str((content.get(who) or {}).get(CLEAR, "")) for who in PEOPLE)


def without_numbers(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with no national number, clear or sealed."""
    out = _people(content)
    for who in PEOPLE:
        person = out.get(who)
        if isinstance(person, dict):
            person.pop(CLEAR, None)
            person.pop(SEALED, None)
    return out


def fingerprint(content: dict[str, Any]) -> str:
    """SHA-256 of the content without its numbers (certified or stored: the same)."""
    return hashlib.sha256(canonical(without_numbers(content)).encode()).hexdigest()


def seal_message(cert: pb.TaxCertificate, b: SecretBox) -> None:
    """The certificate's national numbers replaced by their sealed text, for the event."""
    for person in (cert.child, cert.parent):
        if person.national_number:
            person.national_number = b.seal(person.national_number)
