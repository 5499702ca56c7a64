"""tax certificates: the national numbers sealed in tax_certificates.content and in the outbox (issue #21)

Each person's clear ``national_number`` of a certificate's content becomes ``sealed_national_number``
(Fernet, the key of NATIONAL_NUMBER_KEY, or a local run's var/keys/national_numbers.key), the
fingerprint is taken again without the numbers (services/finance/national_numbers.py), and the
finance.tax_certificate.issued.v1 events still in the outbox (waiting, or published and kept until
the purge) get their numbers sealed as the new code sends them. The downgrade opens them again. The
rules are copied here, not imported: a migration does what it did when it was written.

Revision ID: d4b7e2a9c1f6
Revises: c8e1d4a7b2f3
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "d4b7e2a9c1f6"
down_revision = "c8e1d4a7b2f3"
branch_labels = None
depends_on = None

PEOPLE = ("child", "parent")
CLEAR, SEALED = "national_number", "sealed_national_number"
ISSUED = "finance.tax_certificate.issued.v1"
PAGE = 500

certificates = sa.table("tax_certificates", sa.column("id"), sa.column("content"), sa.column("fingerprint"))
outbox = sa.table("outbox", sa.column("id"), sa.column("event_name"), sa.column("body", sa.LargeBinary))


class _Box:
    """The deployment's box, built on the first number met: a database without any needs no key."""

    def __init__(self) -> None:
        self._box: Any = None

    def __call__(self) -> Any:
        if self._box is None:
            from kit.secretbox import national_number_box
            from kit.settings import load_settings

            self._box = national_number_box(load_settings("finance"))
        return self._box


def _canonical(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pages(bind: sa.Connection, query: sa.Select, key: sa.ColumnElement) -> Iterator[list[sa.Row]]:
    last = None
    while True:
        q = query.order_by(key).limit(PAGE)
        rows = bind.execute(q if last is None else q.where(key > last)).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1][0]


def _rewrite_certificates(bind: sa.Connection, person_rule: Callable[[dict], None], fingerprint) -> None:
    t = certificates
    for page in _pages(bind, sa.select(t.c.id, t.c.content), t.c.id):
        for row in page:
            content = json.loads(row.content)
            for who in PEOPLE:
                if isinstance(content.get(who), dict):
                    person_rule(content[who])
            text = _canonical(content)
            bind.execute(
                sa.update(t).where(t.c.id == row.id).values(content=text, fingerprint=fingerprint(content))
            )


def _rewrite_events(bind: sa.Connection, number_rule: Callable[[str], str]) -> None:
    from cartable.events.v1 import envelope_pb2
    from cartable.finance.v1 import tax_certificates_pb2 as tpb

    o = outbox
    for page in _pages(bind, sa.select(o.c.id, o.c.body).where(o.c.event_name == ISSUED), o.c.id):
        for row in page:
            env = envelope_pb2.Envelope.FromString(bytes(row.body))
            msg = tpb.TaxCertificateIssued()
            if not env.payload.Unpack(msg):
                continue
            before = msg.SerializeToString()
            for person in (msg.certificate.child, msg.certificate.parent):
                person.national_number = number_rule(person.national_number)
            if msg.SerializeToString() != before:
                env.payload.Pack(msg)
                bind.execute(sa.update(o).where(o.c.id == row.id).values(body=env.SerializeToString()))


def upgrade() -> None:
    bind, box = op.get_bind(), _Box()

    def seal_person(person: dict) -> None:
        if CLEAR in person:
            number = person.pop(CLEAR)
            person[SEALED] = box().seal(number) if number else ""

    def without_numbers(content: dict) -> str:
        bare = {k: v for k, v in content.items()}
        for who in PEOPLE:
            if isinstance(bare.get(who), dict):
                bare[who] = {k: v for k, v in bare[who].items() if k not in (CLEAR, SEALED)}
        return _sha256(_canonical(bare))

    _rewrite_certificates(bind, seal_person, without_numbers)
    # sent in clear until now: digits alone (a sealed text never is)
    _rewrite_events(bind, lambda n: box().seal(n) if n.isdigit() else n)


def downgrade() -> None:
    bind, box = op.get_bind(), _Box()

    def open_person(person: dict) -> None:
        if SEALED in person:
            sealed = person.pop(SEALED)
            person[CLEAR] = box().open(sealed) if sealed else ""

    _rewrite_certificates(bind, open_person, lambda content: _sha256(_canonical(content)))
    _rewrite_events(bind, lambda n: box().open(n) if n and not n.isdigit() else n)
