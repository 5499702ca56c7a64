"""kit.audit: an audit entry is an event in the service's outbox, written in the caller's transaction
(it commits with the action or not at all), named after the service, with a clean detail (one line,
IBANs masked, bounded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from cartable.events.v1 import audit_pb2, envelope_pb2
from kit import audit, bus
from kit.clock import FakeClock
from kit.db import Database
from kit.identity import Identity
from kit.migrations import new_metadata

STAFF = Identity(account_id="acc-anne", role="staff", school_id="school-1")


@pytest.fixture
def outbox(tmp_path):
    metadata = new_metadata()
    table, _inbox = bus.bus_tables(metadata)
    db = Database(f"sqlite:///{tmp_path / 'svc.db'}")
    metadata.create_all(db.engine)
    yield db, table
    db.dispose()


def recorded(db, table) -> list[tuple[envelope_pb2.Envelope, audit_pb2.AuditRecorded]]:
    with db.unit_of_work() as s:
        bodies = s.execute(select(table.c.body).order_by(table.c.id)).scalars().all()
    out = []
    for body in bodies:
        env = envelope_pb2.Envelope.FromString(body)
        payload = audit_pb2.AuditRecorded()
        assert env.payload.Unpack(payload)
        out.append((env, payload))
    return out


class Runtime(SimpleNamespace):
    """What kit.audit needs of kit.service.Runtime: its name, outbox writer and clock."""

    def record(self, session, name, payload, school_id):
        return bus.record_event(session, self.outbox, name, payload, school_id)


def test_an_entry_is_the_services_audit_event_in_its_outbox(outbox):
    db, table = outbox
    clock = FakeClock(datetime(2026, 9, 1, 9, 30, tzinfo=UTC))
    rt = Runtime(spec=SimpleNamespace(name="finance"), outbox=table, clock=clock)
    with db.unit_of_work() as s:
        env = audit.record(rt, s, STAFF, "finance.invoice.created", "invoice", "inv-1", "Lucas, 12,50 €")
    [(stored, entry)] = recorded(db, table)
    assert stored.event_id == env.event_id
    assert stored.event_name == "finance.audit.recorded.v1" == audit.event_name("finance")
    assert stored.school_id == "school-1"
    assert (entry.school_id, entry.actor_id, entry.actor_role) == ("school-1", "acc-anne", "staff")
    assert (entry.action, entry.object_type, entry.object_id) == (
        "finance.invoice.created",
        "invoice",
        "inv-1",
    )
    assert entry.detail == "Lucas, 12,50 €"
    assert entry.at == "2026-09-01T09:30:00+00:00"  # the service's clock, RFC 3339 in UTC


def test_the_entry_commits_with_the_action_or_not_at_all(outbox):
    db, table = outbox

    def failing_action() -> None:
        with db.unit_of_work() as s:
            audit.record(table, s, STAFF, "orders.period.created", "order_period", "p-1", service="orders")
            raise RuntimeError("the action failed after recording")

    with pytest.raises(RuntimeError):
        failing_action()
    assert recorded(db, table) == []
    with db.unit_of_work() as s:
        audit.record(table, s, STAFF, "orders.period.created", "order_period", "p-1", service="orders")
    [(env, entry)] = recorded(db, table)
    assert env.event_name == "orders.audit.recorded.v1"
    assert entry.object_id == "p-1"


def test_an_operators_command_is_recorded_as_system(outbox):
    db, table = outbox
    operator = Identity(account_id="", role="system", school_id="school-1")
    at = datetime(2026, 9, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.unit_of_work() as s:
        audit.record(table, s, operator, "auth.staff.created", "account", "acc-2", service="auth", at=at)
    [(_env, entry)] = recorded(db, table)
    assert (entry.actor_id, entry.actor_role) == ("", "system")
    assert entry.at == "2026-09-01T09:00:00+00:00"


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("BE68539007547034 -> BE71096123456769", "BE** **** **** 7034 -> BE** **** **** 6769"),
        ("new account BE68 5390 0754 7034.", "new account BE** **** **** 7034."),
        ("already masked BE** **** **** 7034", "already masked BE** **** **** 7034"),
        ("invoice 2026-0042, 12,50 €", "invoice 2026-0042, 12,50 €"),
    ],
)
def test_ibans_are_masked_whatever_the_caller_wrote(written, kept):
    assert audit.clean_detail(written) == kept


def test_a_detail_is_one_bounded_line():
    assert audit.clean_detail("two\nlines\t and\x00 more  spaces") == "two lines and more spaces"
    long = audit.clean_detail("x" * 2000)
    assert len(long) == audit.MAX_DETAIL
    assert long.endswith("…")


@pytest.mark.parametrize(
    "action", ["", "finance", "finance.invoice", "orders.invoice.created", "finance.Invoice.created"]
)
def test_an_action_not_named_service_object_verb_is_a_programming_error(outbox, action):
    db, table = outbox
    with pytest.raises(ValueError, match="audit action"), db.unit_of_work() as s:
        audit.record(table, s, STAFF, action, "invoice", "inv-1", service="finance")


def test_an_entry_belongs_to_a_school_and_a_target_names_its_service(outbox):
    db, table = outbox
    with pytest.raises(ValueError, match="school"), db.unit_of_work() as s:
        audit.record(table, s, Identity("acc", "staff", ""), "finance.x.y", "x", "1", service="finance")
    with pytest.raises(TypeError), db.unit_of_work() as s:
        audit.record(table, s, STAFF, "finance.x.y", "x", "1")  # a bare table does not say whose
    assert recorded(db, table) == []
