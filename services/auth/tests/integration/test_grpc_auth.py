"""The auth service over gRPC, on SQLite and PostgreSQL, with real identity tokens: staff sign in and
call the staff RPCs with the identity token auth signed for them; parents read their connection token
from the event auth wrote to its outbox (what notifications mails)."""

from __future__ import annotations

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import RETRY_KEY
from services.auth.db import metadata
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    bearer,
    error_code,
    events,
    last_token,
    make_school,
)

NEW_PASSWORD = "Trois petits chats blancs"


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def staff_session(stub, school) -> pb.Session:
    return stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session


def create_family(stub, staff_session, first="Marie", last="Dupont", email="marie@example.be", n=2):
    md = bearer(staff_session.identity_token)
    kids = [
        stub.CreateStudent(
            pb.CreateStudentRequest(first_name=name, last_name=last, class_name=klass, level=level),
            metadata=md,
        ).student
        for name, klass, level in [("Lucas", "3A", "primary"), ("Emma", "1S2", "secondary")][:n]
    ]
    parent = stub.CreateParent(
        pb.CreateParentRequest(
            first_name=first, last_name=last, email=email, student_ids=[k.id for k in kids], language="nl"
        ),
        metadata=md,
    )
    return parent, kids


def activate(stub, token, password=PARENT_PASSWORD):
    return stub.Activate(
        pb.ActivateRequest(token=token, password=password, password_confirm=password)
    ).session


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_first_connection_end_to_end(stub, auth_rt, staff_session, keys):
    parent, kids = create_family(stub, staff_session)
    assert parent.username == "marie.dupont"
    mailed = last_token(auth_rt, parent.id)
    assert (mailed.username, mailed.email, mailed.language, mailed.reason) == (
        "marie.dupont",
        "marie@example.be",
        "nl",
        "created",
    )

    checked = stub.CheckConnectionToken(pb.CheckConnectionTokenRequest(token=f"  {mailed.token} "))
    assert (checked.username, checked.display_name) == ("marie.dupont", "Marie Dupont")
    weak = refused(
        lambda: stub.Activate(
            pb.ActivateRequest(token=mailed.token, password="azertyuiop", password_confirm="azertyuiop")
        )
    )
    assert weak.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(weak) == "invalid_request"
    assert dict(weak.trailing_metadata())["x-error-fields"] == '{"password": "common"}'
    session = activate(stub, f"  {mailed.token}\n")
    assert session.account.username == "marie.dupont"
    assert session.account.school_name == "École Sainte-Marie"
    assert {(c.id, c.class_name, c.school_name) for c in session.children} == {
        (k.id, k.class_name, "École Sainte-Marie") for k in kids
    }
    assert session.active_child_id == ""
    assert session.session_token and session.csrf_token
    assert session.expires_at > 0

    resolved = stub.ResolveSession(pb.ResolveSessionRequest(session_token=session.session_token)).session
    assert resolved.account.id == parent.id
    assert keys.verifier.verify(resolved.identity_token).account_id == parent.id

    again = stub.SignIn(
        pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD, client_address="::1")
    )
    assert again.session.session_token != session.session_token
    stub.SignOut(pb.SignOutRequest(session_token=again.session.session_token))
    err = refused(
        lambda: stub.ResolveSession(pb.ResolveSessionRequest(session_token=again.session.session_token))
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_expires_at_exactly_14_days(stub, auth_rt, staff_session, clock):
    parent, _ = create_family(stub, staff_session)
    token = last_token(auth_rt, parent.id).token
    clock.advance(days=14, microseconds=-1)
    stub.CheckConnectionToken(pb.CheckConnectionTokenRequest(token=token))
    clock.advance(microseconds=1)
    err = refused(lambda: activate(stub, token))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_code(err) == "token_expired"
    assert "expired" in err.details()


def test_a_used_token_is_refused(stub, auth_rt, staff_session):
    parent, _ = create_family(stub, staff_session)
    token = last_token(auth_rt, parent.id).token
    activate(stub, token)
    err = refused(lambda: activate(stub, token, NEW_PASSWORD))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_code(err) == "token_used"
    # the password set with it still holds
    stub.SignIn(pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD))


def test_a_new_token_makes_the_old_one_stop_working(stub, auth_rt, staff_session):
    parent, _ = create_family(stub, staff_session)
    old = last_token(auth_rt, parent.id).token
    stub.IssueConnectionToken(
        pb.IssueConnectionTokenRequest(parent_id=parent.id), metadata=bearer(staff_session.identity_token)
    )
    new = last_token(auth_rt, parent.id)
    assert new.reason == "reissued" and new.token != old
    err = refused(lambda: activate(stub, old))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(err) == "invalid_token"
    assert activate(stub, new.token).account.id == parent.id


def test_a_reset_for_an_unknown_address_is_indistinguishable(stub, auth_rt, staff_session):
    parent, _ = create_family(stub, staff_session)
    activate(stub, last_token(auth_rt, parent.id).token)
    before = len(events(auth_rt))

    unknown = stub.RequestPasswordReset.with_call(
        pb.RequestPasswordResetRequest(email="nobody@example.be", client_address="192.0.2.5")
    )
    assert len(events(auth_rt)) == before
    known = stub.RequestPasswordReset.with_call(
        pb.RequestPasswordResetRequest(email=" Marie@Example.be", client_address="192.0.2.5")
    )
    assert known[0].SerializeToString() == unknown[0].SerializeToString() == b""
    assert known[1].code() == unknown[1].code() == grpc.StatusCode.OK
    assert dict(known[1].trailing_metadata() or ()) == dict(unknown[1].trailing_metadata() or ())

    ((_, reset),) = events(auth_rt)[before:]
    assert (reset.account_id, reset.username, reset.reason) == (parent.id, "marie.dupont", "password_reset")
    session = activate(stub, reset.token, NEW_PASSWORD)
    assert session.account.id == parent.id
    stub.SignIn(pb.SignInRequest(username="marie.dupont", password=NEW_PASSWORD))


def test_lockout_after_repeated_failures_then_release(stub, auth_rt, staff_session, clock, sleeps):
    parent, _ = create_family(stub, staff_session)
    activate(stub, last_token(auth_rt, parent.id).token)

    def sign_in(password, address="192.0.2.20"):
        return stub.SignIn(
            pb.SignInRequest(username="marie.dupont", password=password, client_address=address)
        )

    for _ in range(5):
        err = refused(lambda: sign_in("not my password"))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_code(err) == "invalid_credentials"
    assert sleeps == [0.5, 1.0, 2.0]

    clock.advance(seconds=10)
    err = refused(lambda: sign_in(PARENT_PASSWORD, "192.0.2.99"))  # right password, other address: locked
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_code(err) == "rate_limited"
    retry_after = int(dict(err.trailing_metadata())[RETRY_KEY])
    assert 280 <= retry_after <= 300

    clock.advance(seconds=retry_after)
    assert sign_in(PARENT_PASSWORD).session.account.id == parent.id


def test_changing_the_password_ends_the_other_sessions(stub, auth_rt, staff_session):
    parent, _ = create_family(stub, staff_session)
    activate(stub, last_token(auth_rt, parent.id).token)
    here = stub.SignIn(pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD)).session
    phone = stub.SignIn(pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD)).session

    stub.ChangePassword(
        pb.ChangePasswordRequest(
            session_token=here.session_token,
            current_password=PARENT_PASSWORD,
            new_password=NEW_PASSWORD,
            new_password_confirm=NEW_PASSWORD,
        )
    )
    err = refused(lambda: stub.ResolveSession(pb.ResolveSessionRequest(session_token=phone.session_token)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert stub.ResolveSession(pb.ResolveSessionRequest(session_token=here.session_token)).session.account.id
    err = refused(lambda: stub.SignIn(pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD)))
    assert error_code(err) == "invalid_credentials"
    stub.SignIn(pb.SignInRequest(username="marie.dupont", password=NEW_PASSWORD))


def test_choosing_another_family_s_child_is_refused(stub, auth_rt, staff_session):
    marie, marie_kids = create_family(stub, staff_session)
    paul, (paul_kid,) = create_family(
        stub, staff_session, first="Paul", last="Martin", email="paul@example.be", n=1
    )
    session = activate(stub, last_token(auth_rt, marie.id).token)
    paul_session = activate(stub, last_token(auth_rt, paul.id).token, NEW_PASSWORD)
    assert paul_session.active_child_id == paul_kid.id  # one child: chosen at once

    err = refused(
        lambda: stub.SelectChild(
            pb.SelectChildRequest(session_token=session.session_token, child_id=paul_kid.id)
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    chosen = stub.SelectChild(
        pb.SelectChildRequest(session_token=session.session_token, child_id=marie_kids[1].id)
    ).session
    assert chosen.active_child_id == marie_kids[1].id
    resolved = stub.ResolveSession(pb.ResolveSessionRequest(session_token=session.session_token)).session
    assert resolved.active_child_id == marie_kids[1].id


def test_the_identity_token_verifies_with_the_public_key_and_names_the_right_students(
    stub, auth_rt, school, staff_session, keys
):
    marie, kids = create_family(stub, staff_session)
    create_family(stub, staff_session, first="Paul", last="Martin", email="paul@example.be", n=1)
    session = activate(stub, last_token(auth_rt, marie.id).token)

    who = keys.verifier.verify(session.identity_token)
    assert (who.account_id, who.role, who.school_id) == (marie.id, "parent", school.id)
    assert who.students == {k.id: k.class_name for k in kids}
    assert session.identity_expires_at > 0

    staff = keys.verifier.verify(staff_session.identity_token)
    assert (staff.account_id, staff.role, staff.school_id, staff.students) == (
        school.staff_id,
        "staff",
        school.id,
        {},
    )
    assert staff.may_act_for(kids[0].id)


def test_staff_rpcs_are_refused_to_parents_and_without_an_identity_token(stub, auth_rt, staff_session):
    marie, kids = create_family(stub, staff_session)
    _, (other_kid,) = create_family(
        stub, staff_session, first="Paul", last="Martin", email="paul@example.be", n=1
    )
    parent = activate(stub, last_token(auth_rt, marie.id).token)
    staff_calls = [
        (
            stub.CreateStudent,
            pb.CreateStudentRequest(first_name="A", last_name="B", class_name="1A", level="primary"),
        ),
        (stub.CreateParent, pb.CreateParentRequest(first_name="A", last_name="B", email="a@example.be")),
        (stub.IssueConnectionToken, pb.IssueConnectionTokenRequest(parent_id=marie.id)),
        (stub.ListParents, pb.ListParentsRequest()),
    ]
    for call, request in staff_calls:
        err = refused(
            lambda call=call, request=request: call(request, metadata=bearer(parent.identity_token))
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, call
    for call, request in [*staff_calls, (stub.ListStudents, pb.ListStudentsRequest())]:
        err = refused(lambda call=call, request=request: call(request))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, call
        err = refused(lambda call=call, request=request: call(request, metadata=bearer("not.a.token")))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, call

    mine = stub.ListStudents(
        pb.ListStudentsRequest(student_ids=[kids[0].id, other_kid.id]), metadata=bearer(parent.identity_token)
    )
    assert [s.id for s in mine.students] == [kids[0].id]
    everyone = stub.ListStudents(pb.ListStudentsRequest(), metadata=bearer(staff_session.identity_token))
    assert len(everyone.students) == 3
    parents = stub.ListParents(
        pb.ListParentsRequest(student_ids=[kids[0].id]), metadata=bearer(staff_session.identity_token)
    )
    assert [(p.id, set(p.student_ids)) for p in parents.parents] == [(marie.id, {k.id for k in kids})]


def test_migrations_create_exactly_the_declared_tables(auth_rt):
    with auth_rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
