"""The school's audit log, on SQLite and PostgreSQL: every service's staff actions reach auth's
append-only ``audit_entries`` (through the broker in production: each service's outbox, auth's
consumer), each once, with the actor's name, and the school's staff read them newest first."""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc
import pika
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from cartable.auth.v1 import auth_pb2 as pb
from cartable.events.v1 import audit_pb2, envelope_pb2
from kit import audit, migrations
from kit.bus import make_envelope
from kit.identity import Identity
from kit.service import Runtime, bootstrap, make_consumer, make_relay
from kit.testing import test_settings, wait_for
from services.auth.app import use_case_deps
from services.auth.db import audit_entries, outbox
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, last_token, make_runtime, make_school
from services.auth.tests.integration.test_grpc_auth import activate, create_family, refused
from services.auth.use_cases import audit as audit_log
from services.auth.use_cases import people
from services.orders.app import spec as orders_spec
from services.orders.app import use_cases as orders_use_cases

AUDIT = audit.event_name("auth")


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def staff_session(stub, school) -> pb.Session:
    return stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session


@pytest.fixture
def consumer(auth_rt):
    return make_consumer(auth_rt)


def audit_bodies(rt: Runtime) -> list[bytes]:
    """The audit events auth's own actions left in its outbox, oldest first."""
    with rt.db.unit_of_work() as s:
        q = select(outbox.c.body).where(outbox.c.event_name == AUDIT).order_by(outbox.c.id)
        return list(s.execute(q).scalars())


def deliver(rt: Runtime, consumer) -> list[str]:
    """What the broker would do: each audit event of the outbox to auth's consumer."""
    return [consumer.handle(body) for body in audit_bodies(rt)]


def listed(stub, session: pb.Session, **kw) -> pb.ListAuditEntriesResponse:
    return stub.ListAuditEntries(pb.ListAuditEntriesRequest(**kw), metadata=bearer(session.identity_token))


def kept(rt: Runtime) -> int:
    with rt.db.unit_of_work() as s:
        return len(s.execute(select(audit_entries.c.id)).all())


def test_the_staff_actions_on_people_and_permissions_are_listed_newest_first_with_who_did_them(
    stub, auth_rt, school, staff_session, consumer
):
    md = bearer(staff_session.identity_token)
    parent, kids = create_family(stub, staff_session, n=1)
    more = stub.CreateStudent(
        pb.CreateStudentRequest(first_name="Emma", last_name="Dupont", class_name="1S2", level="secondary"),
        metadata=md,
    ).student
    stub.LinkChildren(pb.LinkChildrenRequest(parent_id=parent.id, student_ids=[more.id]), metadata=md)
    stub.IssueConnectionToken(pb.IssueConnectionTokenRequest(parent_id=parent.id), metadata=md)
    stub.DisableAccount(pb.DisableAccountRequest(account_id=parent.id), metadata=md)
    stub.EnableAccount(pb.EnableAccountRequest(account_id=parent.id), metadata=md)
    stub.EndSessions(pb.EndSessionsRequest(account_id=parent.id), metadata=md)
    colleague = stub.CreateStaff(
        pb.CreateStaffRequest(first_name="Paul", last_name="Martin", email="paul@ecole.example"), metadata=md
    )
    stub.ResetSecondFactor(pb.ResetSecondFactorRequest(account_id=colleague.id), metadata=md)
    stub.UpdateSecuritySettings(pb.UpdateSecuritySettingsRequest(require_second_factor=False), metadata=md)
    assert set(deliver(auth_rt, consumer)) == {"handled"}

    entries = list(listed(stub, staff_session).entries)
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("auth.security_settings.updated", "school", school.id),
        ("auth.second_factor.reset", "account", colleague.id),
        ("auth.staff.created", "account", colleague.id),
        ("auth.sessions.ended", "account", parent.id),
        ("auth.account.enabled", "account", parent.id),
        ("auth.account.disabled", "account", parent.id),
        ("auth.connection_token.issued", "account", parent.id),
        ("auth.parent.children_linked", "account", parent.id),
        ("auth.student.created", "student", more.id),
        ("auth.parent.created", "account", parent.id),
        ("auth.student.created", "student", kids[0].id),
        ("auth.staff.created", "account", school.staff_id),  # make_school's create-staff command
    ]
    by_me = entries[:-1]
    assert {(e.actor_id, e.actor_name) for e in by_me} == {(school.staff_id, "Anne Lambert")}
    assert (entries[-1].actor_id, entries[-1].actor_name) == ("", "")  # an operator's command
    assert entries[8].detail == "Emma Dupont, 1S2"
    assert entries[7].detail.startswith("students linked: ")
    assert all(e.at.endswith("+00:00") and len(e.id) == 36 for e in entries)


def test_a_refused_action_records_nothing(stub, auth_rt, staff_session):
    md = bearer(staff_session.identity_token)
    before = len(audit_bodies(auth_rt))
    refused(lambda: stub.CreateStudent(pb.CreateStudentRequest(first_name="Emma"), metadata=md))
    refused(lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id="nobody"), metadata=md))
    assert len(audit_bodies(auth_rt)) == before


def test_the_back_office_s_changes_are_listed_with_who_made_them_and_refusals_record_nothing(
    stub, auth_rt, school, staff_session, consumer
):
    md = bearer(staff_session.identity_token)
    parent, (lucas,) = create_family(stub, staff_session, n=1)
    before = len(audit_bodies(auth_rt))
    csv = b"student_id;first_name;last_name;class_name;level\r\nM1;Hugo;Petit;3A;primary\r\n"
    refused(lambda: stub.UpdateStudent(pb.UpdateStudentRequest(student_id=lucas.id, level="x"), metadata=md))
    refused(lambda: stub.UpdateParent(pb.UpdateParentRequest(parent_id=parent.id, email="x"), metadata=md))
    refused(lambda: stub.MoveClass(pb.MoveClassRequest(from_class="3A", to_class="3A"), metadata=md))
    stub.ImportPeople(pb.ImportPeopleRequest(csv=csv, dry_run=True), metadata=md)  # a dry run changes nothing
    stub.ImportPeople(pb.ImportPeopleRequest(csv=csv.replace(b"primary", b"creche")), metadata=md)  # bad row
    stub.UpdateStudent(pb.UpdateStudentRequest(student_id=lucas.id, class_name="3A"), metadata=md)  # the same
    assert len(audit_bodies(auth_rt)) == before

    stub.UpdateStudent(pb.UpdateStudentRequest(student_id=lucas.id, class_name="4A"), metadata=md)
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=parent.id, first_name="Marie-Anne"), metadata=md)
    stub.MoveClass(pb.MoveClassRequest(from_class="4A", to_class="5A"), metadata=md)
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=lucas.id), metadata=md)
    stub.ImportPeople(pb.ImportPeopleRequest(csv=csv, filename="rentree.csv"), metadata=md)
    assert set(deliver(auth_rt, consumer)) == {"handled"}
    entries = list(listed(stub, staff_session, limit=5).entries)
    assert [(e.action, e.object_type, e.actor_name) for e in entries] == [
        ("auth.people.imported", "import", "Anne Lambert"),
        ("auth.student.left", "student", "Anne Lambert"),
        ("auth.class.moved", "class", "Anne Lambert"),
        ("auth.parent.updated", "account", "Anne Lambert"),
        ("auth.student.updated", "student", "Anne Lambert"),
    ]
    assert [e.object_id for e in entries[1:]] == [lucas.id, "4A", parent.id, lucas.id]
    assert entries[0].detail.startswith("rentree.csv: 1 rows, students created 1")


def test_an_entry_delivered_twice_is_kept_once(stub, auth_rt, staff_session, consumer):
    create_family(stub, staff_session, n=1)
    first = deliver(auth_rt, consumer)
    assert set(first) == {"handled"}
    assert set(deliver(auth_rt, consumer)) == {"duplicate"}  # the inbox
    count = kept(auth_rt)
    # past the inbox too (purged after 30 days): the event's id is the entry's key
    deps = use_case_deps(auth_rt)
    for body in audit_bodies(auth_rt):
        env = envelope_pb2.Envelope.FromString(body)
        ev = audit_pb2.AuditRecorded()
        env.payload.Unpack(ev)
        with auth_rt.db.unit_of_work() as s:
            assert audit_log.keep_entry(deps, s, env, ev) is False
    assert kept(auth_rt) == count == len(first)


def test_pages_follow_each_other_without_gap_or_repeat(stub, auth_rt, staff_session, consumer):
    md = bearer(staff_session.identity_token)
    for i in range(5):
        stub.CreateStudent(
            pb.CreateStudentRequest(first_name=f"Kid{i}", last_name="X", class_name="1A", level="primary"),
            metadata=md,
        )
    deliver(auth_rt, consumer)
    everything = [e.id for e in listed(stub, staff_session, limit=200).entries]
    assert len(everything) == 6  # the command's staff.created and 5 students
    seen, cursor = [], ""
    while True:
        page = listed(stub, staff_session, limit=2, cursor=cursor)
        assert len(page.entries) <= 2
        seen += [e.id for e in page.entries]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == everything
    for bad in ({"cursor": "not-a-cursor"}, {"limit": 201}, {"limit": -1}):
        err = refused(lambda bad=bad: listed(stub, staff_session, **bad))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_only_the_schools_staff_read_its_log(stub, auth_rt, staff_session, consumer):
    parent, _kids = create_family(stub, staff_session, n=1)
    deliver(auth_rt, consumer)
    other = make_school(auth_rt, "École du Parc", staff_first="Zoé")
    other_session = stub.SignIn(
        pb.SignInRequest(username=other.staff_username, password=STAFF_PASSWORD)
    ).session
    deliver(auth_rt, consumer)
    assert [e.action for e in listed(stub, other_session).entries] == ["auth.staff.created"]
    assert len(listed(stub, staff_session).entries) == 3  # staff.created, student.created, parent.created
    parent_session = activate(stub, last_token(auth_rt, parent.id).token)
    err = refused(lambda: listed(stub, parent_session))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_actor_of_another_school_is_not_named(auth_rt, school, consumer):
    other = make_school(auth_rt, "École du Parc", staff_first="Zoé")
    forged = audit_pb2.AuditRecorded(
        school_id=school.id,
        actor_id=other.staff_id,
        actor_role="staff",
        action="finance.invoice.created",
        object_type="invoice",
        object_id="inv-1",
        at="2026-09-01T08:00:00+00:00",
    )
    assert (
        consumer.handle(make_envelope("finance.audit.recorded.v1", forged, school.id).SerializeToString())
        == "handled"
    )
    with auth_rt.db.unit_of_work() as s:
        row = s.execute(select(audit_entries).where(audit_entries.c.object_id == "inv-1")).one()
    assert (row.actor_id, row.actor_name) == (other.staff_id, "")


def test_the_database_refuses_to_change_or_remove_an_entry(stub, auth_rt, staff_session, consumer):
    create_family(stub, staff_session, n=1)
    deliver(auth_rt, consumer)
    count = kept(auth_rt)
    for statement in ("UPDATE audit_entries SET detail = 'nothing happened'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"), auth_rt.db.unit_of_work() as s:
            s.execute(text(statement))
    assert kept(auth_rt) == count
    with auth_rt.db.unit_of_work() as s:
        assert "nothing happened" not in set(s.execute(select(audit_entries.c.detail)).scalars())


# -- through the real broker ----------------------------------------------------------------------


class Loops:
    """Relays and the consumer running in threads, as their processes run them."""

    def __init__(self, *loops) -> None:
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=loop.run, args=(self.stop_event,), daemon=True) for loop in loops
        ]
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(60)


def counting(handle: Callable[[bytes], str], outcomes: list[str]) -> Callable[[bytes], str]:
    def counted(body: bytes) -> str:
        outcome = handle(body)
        outcomes.append(outcome)
        return outcome

    return counted


@pytest.mark.broker
def test_staff_actions_in_two_services_reach_the_log_once_each_through_the_broker(
    databases, keys, clock, sleeps, broker
):
    auth_url = databases.migrated("auth")
    auth_rt = make_runtime(auth_url, keys, clock, sleeps)
    auth_rt.settings = test_settings("auth", auth_url, keys, broker)  # the broker namespace of this test
    orders_url = databases.migrated("orders")
    migrations.upgrade(orders_spec().migrations_dir, orders_url)
    orders_rt = bootstrap(orders_spec(), test_settings("orders", orders_url, keys, broker))
    consumer = make_consumer(auth_rt)
    consumer.declare_on(broker.url)
    broker.queue("auth.events")  # deleted with the namespace
    outcomes: list[str] = []
    consumer.handle = counting(consumer.handle, outcomes)  # type: ignore[method-assign]
    auth_relay, orders_relay = make_relay(auth_rt), make_relay(orders_rt)
    loops = Loops(auth_relay, orders_relay, consumer)
    try:
        deps_school = make_school(auth_rt)  # auth: create-staff (the operator's command)
        staff = Identity(account_id=deps_school.staff_id, role="staff", school_id=deps_school.id)
        student = people.create_student(
            use_case_deps(auth_rt), staff, "Lucas", "Dupont", "3A", "primary"
        ).student
        period = orders_use_cases(orders_rt, None).periods.create_period(
            staff, "Manuels 2026-2027", "", "2026-08-20T08:00:00Z", "2026-09-10T18:00:00Z", []
        )

        def entries() -> list[pb.AuditEntry]:
            return list(audit_log.list_audit_entries(use_case_deps(auth_rt), staff).entries)

        got = wait_for(lambda: len(entries()) == 3 and entries(), what="three audit entries")
        assert sorted((e.action, e.object_id, e.actor_name) for e in got) == sorted(
            [
                ("auth.staff.created", deps_school.staff_id, ""),
                ("auth.student.created", student.id, "Anne Lambert"),
                ("orders.period.created", period.id, "Anne Lambert"),
            ]
        )
        # the broker delivers them all again (a relay that crashed before marking them published)
        bodies = []
        for rt, svc in ((auth_rt, "auth"), (orders_rt, "orders")):
            with rt.db.unit_of_work() as s:
                bodies += [
                    (svc, b)
                    for b in s.execute(
                        select(rt.spec.outbox.c.body).where(
                            rt.spec.outbox.c.event_name == audit.event_name(svc)
                        )
                    ).scalars()
                ]
        assert len(bodies) == 3

        def publish_again(ch) -> None:
            for svc, body in bodies:
                ch.basic_publish(
                    broker.exchange, audit.event_name(svc), body, pika.BasicProperties(delivery_mode=2)
                )

        broker.channel_call(publish_again)
        wait_for(lambda: outcomes.count("duplicate") == 3, what="the second deliveries handled")
        assert outcomes.count("handled") == 3
        assert len(entries()) == 3
        assert kept(auth_rt) == 3
    finally:
        loops.stop()
        auth_rt.db.dispose()
        orders_rt.db.dispose()
