"""Finance's migration d4b7e2a9c1f6 (issue #21) seals the national numbers of the tax certificates made
before it, and of their events still in the outbox, with the deployment's key (NATIONAL_NUMBER_KEY):
afterwards no number is in clear (``kit.privacy.find_text``), each opens back to what was certified,
the fingerprint is the new code's (a regeneration finds nothing changed), and the downgrade restores
the rows as they were."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import select

from cartable.events.v1 import envelope_pb2
from cartable.finance.v1 import tax_certificates_pb2 as tpb
from kit import migrations
from kit.bus import make_envelope
from kit.db import make_engine
from kit.privacy import find_text
from kit.secretbox import SecretBox
from services.finance import national_numbers as nn
from services.finance.app import spec
from services.finance.db import outbox
from services.finance.db.tax_certificate_queries import tax_certificates

BEFORE = "c8e1d4a7b2f3"
CHILD_NN, PARENT_NN = "15051012345", "85010112345"
AT = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)


def content(child_nn: str, parent_nn: str) -> dict:
    return {
        "capped_amount_cents": 8200,
        "periods": [
            {
                "start": "2024-01-08",
                "end": "2024-03-04",
                "days": 5,
                "daily_rate_cents": 2000,
                "amount_cents": 10000,
            }
        ],
        "child": {
            "student_id": "emma",
            "first_name": "Emma",
            "last_name": "Dupont",
            "birth_date": "2015-05-10",
            "national_number": child_nn,
            "severe_disability": False,
        },
        "parent": {"id": "mum", "first_name": "Marie", "last_name": "Dupont", "national_number": parent_nn},
    }


def legacy_row(cert_id: str, student: str, value: dict) -> dict:
    """A row as the code before the migration wrote it: content and its SHA-256 in clear."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return dict(
        id=cert_id, school_id="sch-1", year=2024, student_id=student, parent_id="mum", number=f"2024-{student}",
        version=1, days=5, amount_cents=10000, capped_amount_cents=8200, daily_cap_cents=1640,
        daily_cap_source="law", document_id=str(uuid.uuid4()), content=text,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(), replaced_by=None, created_at=AT,
    )  # fmt: skip


def event(cert_id: str) -> bytes:
    msg = tpb.TaxCertificateIssued(
        certificate=tpb.TaxCertificate(
            id=cert_id,
            child=tpb.TaxChild(student_id="emma", first_name="Emma", national_number=CHILD_NN),
            parent=tpb.TaxPerson(id="mum", first_name="Marie", national_number=PARENT_NN),
        ),
        school_name="École",
    )
    return make_envelope("finance.tax_certificate.issued.v1", msg, "sch-1").SerializeToString()


def event_numbers(body: bytes) -> tuple[str, str]:
    msg = tpb.TaxCertificateIssued()
    envelope_pb2.Envelope.FromString(body).payload.Unpack(msg)
    return msg.certificate.child.national_number, msg.certificate.parent.national_number


@pytest.fixture
def key(monkeypatch, tmp_path) -> str:
    """The deployment's key, given to the migration's process as production gives it."""
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("NATIONAL_NUMBER_KEY", value)
    monkeypatch.setenv("CARTABLE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CARTABLE_ENV", raising=False)
    return value


def test_the_migration_seals_the_old_rows_and_events_and_the_downgrade_restores_them(databases, key):
    migrations_dir = spec().migrations_dir
    url = databases.url("finance")
    migrations.upgrade(migrations_dir, url, BEFORE)
    engine = make_engine(url, pool_size=1)
    kept = legacy_row("cert-1", "emma", content(CHILD_NN, PARENT_NN))
    erased = legacy_row("cert-2", "zeph", content("", ""))  # an erased family's: nothing to seal
    try:
        with engine.begin() as c:
            c.execute(tax_certificates.insert(), [kept, erased])
            c.execute(
                outbox.insert().values(
                    event_id=str(uuid.uuid4()),
                    event_name="finance.tax_certificate.issued.v1",
                    body=event("cert-1"),
                )
            )
        with engine.connect() as c:
            assert find_text(c, [tax_certificates, outbox], [CHILD_NN, PARENT_NN]) != []  # the starting point

        migrations.upgrade(migrations_dir, url)

        box = SecretBox([key.encode()])
        with engine.connect() as c:
            assert find_text(c, [tax_certificates, outbox], [CHILD_NN, PARENT_NN]) == []
            rows = {r.id: r for r in c.execute(select(tax_certificates))}
            body = c.execute(select(outbox.c.body)).scalar_one()
        stored = json.loads(rows["cert-1"].content)
        assert "national_number" not in stored["child"]
        certified = content(CHILD_NN, PARENT_NN)
        assert nn.opened(stored, box) == certified
        # the new code's fingerprint: a regeneration with the same people and figures changes nothing
        assert rows["cert-1"].fingerprint == nn.fingerprint(certified)
        assert json.loads(rows["cert-2"].content)["child"]["sealed_national_number"] == ""
        assert rows["cert-2"].fingerprint == nn.fingerprint(content("", ""))
        assert tuple(box.open(n) for n in event_numbers(bytes(body))) == (CHILD_NN, PARENT_NN)

        command.downgrade(migrations.alembic_config(migrations_dir, url), BEFORE)
        with engine.connect() as c:
            rows = {r.id: r for r in c.execute(select(tax_certificates))}
            body = c.execute(select(outbox.c.body)).scalar_one()
        for before in (kept, erased):
            assert (rows[before["id"]].content, rows[before["id"]].fingerprint) == (
                before["content"],
                before["fingerprint"],
            )
        assert event_numbers(bytes(body)) == (CHILD_NN, PARENT_NN)
    finally:
        engine.dispose()


def test_a_database_without_certificates_needs_no_key(databases, monkeypatch, tmp_path):
    monkeypatch.delenv("NATIONAL_NUMBER_KEY", raising=False)
    monkeypatch.setenv("CARTABLE_ENV", "test")
    monkeypatch.setenv("CARTABLE_VAR_DIR", str(tmp_path / "var"))
    migrations.upgrade(spec().migrations_dir, databases.url("finance"))
    assert not (tmp_path / "var" / "keys").exists()
