"""A family erased on a manager's request (EraseFamily, issue #21), over gRPC on SQLite and PostgreSQL:
the parent's account becomes a tombstone, the children who left with no other guardian are erased and
the others kept, auth.family.erased.v1 names the right ids, the audit log keeps no name of theirs, and
no table of auth holds their names, e-mail or national numbers any more, but for a kept child's own
rows. A second request changes nothing; another school's parent, a staff account, a parent caller and
an unconfirmed request are refused."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
import pytest
from sqlalchemy import select, update

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.privacy import ERASED_PARENT, ERASED_STUDENT, find_text, pseudonym
from kit.service import make_consumer
from services.auth.app import use_case_deps
from services.auth.db import accounts, audit_entries, metadata, outbox, sessions, sign_in_failures, students
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    bearer,
    error_code,
    events,
    last_token,
    make_school,
)
from services.auth.tests.integration.test_grpc_auth import activate, refused
from services.auth.tests.integration.test_school_scoping import snapshot

ERASED = "auth.family.erased.v1"
PARENT_NN, ANATOLE_NN, BARNABE_NN = "79040278962", "15031512383", "14052045678"


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


def student(stub, md, first, last, klass="3A"):
    req = pb.CreateStudentRequest(first_name=first, last_name=last, class_name=klass, level="primary")
    return stub.CreateStudent(req, metadata=md).student


def parent(stub, md, first, last, email, kids):
    req = pb.CreateParentRequest(
        first_name=first, last_name=last, email=email, student_ids=[k.id for k in kids]
    )
    return stub.CreateParent(req, metadata=md)


def deliver_audit(rt) -> None:
    """What the broker does with auth's own audit entries: to its consumer (duplicates skipped)."""
    consumer = make_consumer(rt)
    with rt.db.unit_of_work() as s:
        q = select(outbox.c.body).where(outbox.c.event_name == audit.event_name("auth")).order_by(outbox.c.id)
        bodies = list(s.execute(q).scalars())
    for body in bodies:
        consumer.handle(body)


def publish_all(rt) -> None:
    """What the relay does: every outbox row published."""
    with rt.db.unit_of_work() as s:
        s.execute(update(outbox).where(outbox.c.published_at.is_(None)).values(published_at=rt.clock()))


@pytest.fixture
def family(stub, auth_rt, md, school):
    """Zéphyrine Quorndel: Anatole left (erasable), Barnabé still enrolled (kept), Céleste left but
    with another guardian, Octave Brimbelle (kept). Beside them, Paul Martin and Zoé."""
    anatole = student(stub, md, "Anatole", "Quorndel")
    barnabe = student(stub, md, "Barnabé", "Quorndel", "5B")
    celeste = student(stub, md, "Céleste", "Quorndel")
    zephyrine = parent(
        stub, md, "Zéphyrine", "Quorndel", "zephyrine.q@example.be", [anatole, barnabe, celeste]
    )
    octave = parent(stub, md, "Octave", "Brimbelle", "octave.b@example.be", [celeste])
    zoe = student(stub, md, "Zoé", "Martin")
    paul = parent(stub, md, "Paul", "Martin", "paul.m@example.be", [zoe])
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=zephyrine.id, national_number=PARENT_NN), metadata=md)
    stub.UpdateStudent(
        pb.UpdateStudentRequest(
            student_id=anatole.id, national_number=ANATOLE_NN, birth_date="2015-03-15", external_id="Q-1"
        ),
        metadata=md,
    )
    stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=barnabe.id, national_number=BARNABE_NN), metadata=md
    )
    for kid in (anatole, celeste):
        stub.LeaveStudent(pb.LeaveStudentRequest(student_id=kid.id, left_on="2026-06-30"), metadata=md)
    stub.DisableAccount(pb.DisableAccountRequest(account_id=paul.id), metadata=md)
    stub.EnableAccount(pb.EnableAccountRequest(account_id=paul.id), metadata=md)
    session = activate(stub, last_token(auth_rt, zephyrine.id).token)
    refused(lambda: stub.SignIn(pb.SignInRequest(username=zephyrine.username, password="not her password")))
    with auth_rt.db.unit_of_work() as s:  # an entry about something else that names her (as finance's may)
        audit.record(
            use_case_deps(auth_rt),
            s,
            school.staff,
            "auth.invoice.noted",
            "invoice",
            "inv-1",
            "for Zéphyrine Quorndel (zephyrine.q@example.be)",
        )
    deliver_audit(auth_rt)
    publish_all(auth_rt)
    return SimpleNamespace(
        parent=zephyrine,
        octave=octave,
        paul=paul,
        anatole=anatole,
        barnabe=barnabe,
        celeste=celeste,
        zoe=zoe,
        session=session,
    )


def erase(stub, md, parent_id, confirm=True):
    return stub.EraseFamily(pb.EraseFamilyRequest(parent_id=parent_id, confirm=confirm), metadata=md)


def test_the_parent_becomes_a_tombstone_and_the_child_who_left_is_erased(stub, auth_rt, md, family):
    f = family
    answer = erase(stub, md, f.parent.id)
    assert answer == pb.EraseFamilyResponse(
        parent_id=f.parent.id,
        erased_student_ids=[f.anatole.id],
        kept_student_ids=[f.barnabe.id, f.celeste.id],  # still enrolled; another guardian
        already_erased=False,
        keep_financial_until="2033-12-31",  # erased in 2026, 7 years by default
    )
    got = stub.GetParent(pb.GetParentRequest(parent_id=f.parent.id), metadata=md).parent
    assert (got.first_name, got.last_name, got.status) == (
        pseudonym(ERASED_PARENT, f.parent.id),
        "",
        "disabled",
    )
    assert got.national_number == "" and "quorndel" not in got.email + got.username
    with auth_rt.db.unit_of_work() as s:
        acc = s.execute(select(accounts).where(accounts.c.id == f.parent.id)).one()
        assert (acc.password_hash, acc.national_number, acc.disabled_at is not None) == (None, None, True)
        assert s.execute(select(sessions).where(sessions.c.account_id == f.parent.id)).all() == []
        assert s.execute(select(sign_in_failures)).all() == []
    # no way in any more: the session is gone, the username is no one's
    err = refused(
        lambda: stub.ResolveSession(pb.ResolveSessionRequest(session_token=f.session.session_token))
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = refused(lambda: stub.SignIn(pb.SignInRequest(username=f.parent.username, password=PARENT_PASSWORD)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED

    gone = stub.GetStudent(pb.GetStudentRequest(student_id=f.anatole.id), metadata=md).student
    assert (gone.first_name, gone.last_name, gone.status) == (
        pseudonym(ERASED_STUDENT, f.anatole.id),
        "",
        "left",
    )
    assert (gone.birth_date, gone.national_number, gone.external_id) == ("", "", "")
    kept = stub.GetStudent(pb.GetStudentRequest(student_id=f.barnabe.id), metadata=md).student
    assert (kept.first_name, kept.last_name, kept.national_number) == ("Barnabé", "Quorndel", BARNABE_NN)
    other = stub.GetParent(pb.GetParentRequest(parent_id=f.paul.id), metadata=md).parent
    assert (other.first_name, other.email, other.status) == ("Paul", "paul.m@example.be", "invited")


def test_the_erasure_is_published_once_with_the_ids_only(stub, auth_rt, md, school, family):
    f = family
    erase(stub, md, f.parent.id)
    ((env, ev),) = events(auth_rt, ERASED)
    assert (env.school_id, ev.school_id, list(ev.parent_ids), list(ev.student_ids), ev.reason) == (
        school.id,
        school.id,
        [f.parent.id],
        [f.anatole.id],
        "request",
    )
    assert ev.keep_financial_until == "2033-12-31" and ev.erased_at.startswith("2026-09-01")
    # the published rows went (their payloads held names); the erasure and its audit entry wait
    with auth_rt.db.unit_of_work() as s:
        left = s.execute(select(outbox.c.event_name, outbox.c.published_at)).all()
    assert sorted(n for n, _ in left) == [audit.event_name("auth"), ERASED]
    assert all(p is None for _, p in left)

    before = snapshot(auth_rt)
    again = erase(stub, md, f.parent.id)
    assert again.already_erased
    assert (list(again.erased_student_ids), list(again.kept_student_ids), again.keep_financial_until) == (
        [f.anatole.id],
        [f.barnabe.id, f.celeste.id],
        "2033-12-31",
    )
    assert snapshot(auth_rt) == before  # nothing published, nothing changed


def test_no_table_of_auth_holds_the_family_s_names_but_a_kept_child_s_own_rows(stub, auth_rt, md, family):
    f = family
    erase(stub, md, f.parent.id)
    deliver_audit(auth_rt)  # the erasure's own entry reaches the log
    with auth_rt.db.engine.connect() as conn:
        assert (
            find_text(
                conn,
                metadata.sorted_tables,
                ["Zéphyrine", "zephyrine", "Anatole", "zephyrine.q@example.be", PARENT_NN, ANATOLE_NN, "Q-1"],
            )
            == []
        )
        # the kept children's own rows (and the log's entries about them) still name them
        assert set(find_text(conn, metadata.sorted_tables, ["Quorndel"])) <= {
            ("students", "last_name"),
            ("students", "search_name"),
            ("audit_entries", "detail"),
        }
        for table in ("audit_entries",):
            rows = conn.execute(select(metadata.tables[table])).all()
            naming = [r for r in rows if "quorndel" in r.detail.lower()]
            assert naming and {r.object_id for r in naming} <= {f.barnabe.id, f.celeste.id}
        # Paul's family is untouched
        assert ("accounts", "first_name") in find_text(conn, metadata.sorted_tables, ["Paul"])
    entries = stub.ListAuditEntries(pb.ListAuditEntriesRequest(limit=200), metadata=md).entries
    erased = [e for e in entries if e.action == "auth.family.erased"]
    assert [(e.object_type, e.object_id) for e in erased] == [("account", f.parent.id)]
    assert f.anatole.id in erased[0].detail and "Quorndel" not in erased[0].detail
    created = next(e for e in entries if e.action == "auth.parent.created" and e.object_id == f.parent.id)
    assert (created.actor_name, created.detail) == ("Anne Lambert", "")  # who did what, when: kept
    left = next(e for e in entries if e.action == "auth.student.left" and e.object_id == f.anatole.id)
    assert left.detail == ""
    # an entry about someone else keeps its detail, their whole names replaced
    noted = next(e for e in entries if e.action == "auth.invoice.noted")
    label = pseudonym(ERASED_PARENT, f.parent.id)
    assert (noted.object_id, noted.detail) == ("inv-1", f"for {label} ({label})")
    disabled = next(e for e in entries if e.action == "auth.account.disabled")
    assert disabled.detail == "parent paul.martin"  # another family's: as it was
    assert any(e.detail.startswith("Céleste Quorndel") for e in entries if e.object_id == f.celeste.id)


def test_a_child_kept_for_another_guardian_goes_with_that_guardian(stub, auth_rt, md, family):
    f = family
    erase(stub, md, f.parent.id)
    answer = erase(stub, md, f.octave.id)
    assert (list(answer.erased_student_ids), list(answer.kept_student_ids)) == ([f.celeste.id], [])
    assert [list(ev.student_ids) for _, ev in events(auth_rt, ERASED)] == [[f.anatole.id], [f.celeste.id]]
    with auth_rt.db.unit_of_work() as s:
        names = dict(s.execute(select(students.c.id, students.c.first_name)).all())
    assert names[f.celeste.id] == pseudonym(ERASED_STUDENT, f.celeste.id)
    assert names[f.barnabe.id] == "Barnabé"  # still enrolled: kept, though no guardian is left


def test_an_unconfirmed_request_a_staff_account_a_stranger_or_a_parent_caller_is_refused(
    stub, auth_rt, md, school, family
):
    f = family
    other = make_school(auth_rt, "Athénée Royal", staff_first="Marc")
    their = stub.SignIn(pb.SignInRequest(username=other.staff_username, password=STAFF_PASSWORD)).session
    before = snapshot(auth_rt)
    err = refused(lambda: erase(stub, md, f.parent.id, confirm=False))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.trailing_metadata())["x-error-fields"] == '{"confirm": "must be true"}'
    for account_id in (school.staff_id, "no-such-account", ""):
        err = refused(lambda account_id=account_id: erase(stub, md, account_id))
        assert err.code() == grpc.StatusCode.NOT_FOUND, account_id
    err = refused(lambda: erase(stub, bearer(their.identity_token), f.parent.id))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = refused(lambda: erase(stub, bearer(f.session.identity_token), f.parent.id))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert snapshot(auth_rt) == before
    assert (
        stub.GetParent(pb.GetParentRequest(parent_id=f.parent.id), metadata=md).parent.first_name
        == "Zéphyrine"
    )


def test_an_entry_about_them_still_on_its_way_at_the_erasure_is_kept_without_its_detail(
    stub, auth_rt, md, clock, family
):
    f = family
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=f.parent.id, first_name="Zéphyrinette"), metadata=md)
    clock.advance(seconds=5)
    erase(stub, md, f.parent.id)  # the change's audit entry has not reached the log yet
    deliver_audit(auth_rt)
    with auth_rt.db.engine.connect() as conn:
        about_her = conn.execute(
            select(audit_entries.c.detail).where(audit_entries.c.object_id == f.parent.id)
        ).scalars()
        assert all("zéphyrin" not in d.lower() and "quorndel" not in d.lower() for d in about_her)
    entries = stub.ListAuditEntries(pb.ListAuditEntriesRequest(limit=200), metadata=md).entries
    (late,) = [e for e in entries if e.action == "auth.parent.updated" and e.object_id == f.parent.id][:1]
    assert late.detail == ""
    (done,) = [e for e in entries if e.action == "auth.family.erased"]
    assert f.anatole.id in done.detail  # the erasure's own entry, ids only, kept whole


@pytest.mark.parametrize("shared", [False, True], ids=["only his", "another Anatole"])
def test_an_erased_childs_first_name_alone_goes_when_no_other_student_has_it(
    stub, auth_rt, md, school, family, shared
):
    f = family
    if shared:
        student(stub, md, "Anatole", "Dupont")
    with auth_rt.db.unit_of_work() as s:  # as documents' entry: a document's title names him by first name
        audit.record(
            use_case_deps(auth_rt),
            s,
            school.staff,
            "auth.document.noted",
            "document",
            "doc-1",
            "Bulletin d'Anatole, 1 students",
        )
    deliver_audit(auth_rt)
    erase(stub, md, f.parent.id)
    [detail] = [
        e.detail
        for e in stub.ListAuditEntries(pb.ListAuditEntriesRequest(limit=200), metadata=md).entries
        if e.object_id == "doc-1"
    ]
    if shared:  # it may be the other Anatole's: left as it was
        assert detail == "Bulletin d'Anatole, 1 students"
    else:
        assert detail == f"Bulletin d'{pseudonym(ERASED_STUDENT, f.anatole.id)}, 1 students"


def test_an_erased_parents_tombstone_is_not_enabled_renamed_given_children_or_a_token(
    stub, auth_rt, md, family
):
    f = family
    erase(stub, md, f.parent.id)
    before = snapshot(auth_rt)
    calls = [
        lambda: stub.EnableAccount(pb.EnableAccountRequest(account_id=f.parent.id), metadata=md),
        lambda: stub.UpdateParent(
            pb.UpdateParentRequest(parent_id=f.parent.id, first_name="Zéphyrine", email="z@example.be"),
            metadata=md,
        ),
        lambda: stub.LinkChildren(
            pb.LinkChildrenRequest(parent_id=f.parent.id, student_ids=[f.zoe.id]), metadata=md
        ),
    ]
    for call in calls:
        assert error_code(refused(call)) == "account_erased"
    # a connection token needs an enabled account: the tombstone is disabled
    token = refused(
        lambda: stub.IssueConnectionToken(pb.IssueConnectionTokenRequest(parent_id=f.parent.id), metadata=md)
    )
    assert error_code(token) == "account_disabled"
    assert snapshot(auth_rt) == before
    # another parent is still enabled and renamed as before
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=f.paul.id, first_name="Paulo"), metadata=md)
