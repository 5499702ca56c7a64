"""Disabling and enabling accounts, and ending their sessions, over gRPC on SQLite and PostgreSQL, by
a manager of the account's school (checked by the service: another school's account is NOT_FOUND)."""

from __future__ import annotations

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.app import use_case_deps
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    bearer,
    error_code,
    events,
    last_token,
    make_school,
)
from services.auth.tests.integration.test_grpc_auth import activate, create_family, refused
from services.auth.use_cases import schools


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


def sign_in(stub, username, password, address=""):
    return stub.SignIn(pb.SignInRequest(username=username, password=password, client_address=address)).session


@pytest.fixture
def staff_session(stub, school):
    return sign_in(stub, school.staff_username, STAFF_PASSWORD)


@pytest.fixture
def md(staff_session):
    return bearer(staff_session.identity_token)


@pytest.fixture
def marie(stub, auth_rt, staff_session):
    """An activated parent with two open sessions."""
    parent, _ = create_family(stub, staff_session)
    first = activate(stub, last_token(auth_rt, parent.id).token)
    second = sign_in(stub, "marie.dupont", PARENT_PASSWORD)
    return parent, [first, second]


def resolve(stub, session):
    return stub.ResolveSession(pb.ResolveSessionRequest(session_token=session.session_token)).session


def test_a_disabled_parent_s_sessions_end_at_once_and_the_right_password_says_account_disabled(
    stub, auth_rt, md, marie
):
    parent, sessions = marie
    answer = stub.DisableAccount(pb.DisableAccountRequest(account_id=parent.id), metadata=md)
    assert answer.WhichOneof("account") == "parent"
    assert (answer.parent.id, answer.parent.status, answer.parent.username) == (
        parent.id,
        "disabled",
        "marie.dupont",
    )
    assert (answer.parent.first_name, answer.parent.last_name) == ("Marie", "Dupont")
    assert len(answer.parent.student_ids) == 2
    for session in sessions:
        err = refused(lambda session=session: resolve(stub, session))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = refused(lambda: sign_in(stub, "marie.dupont", PARENT_PASSWORD))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_code(err) == "account_disabled"
    err = refused(lambda: sign_in(stub, "marie.dupont", "not the password"))
    assert error_code(err) == "invalid_credentials"  # a guess learns nothing more
    listed = stub.ListParents(pb.ListParentsRequest(status="disabled"), metadata=md).parents
    assert [p.id for p in listed] == [parent.id]
    assert stub.ListParents(pb.ListParentsRequest(status="active"), metadata=md).parents == []
    (_, announced), *_ = [e for e in events(auth_rt, "auth.parent.updated.v1")]
    assert (announced.account_id, announced.disabled) == (parent.id, True)

    again = stub.DisableAccount(pb.DisableAccountRequest(account_id=parent.id), metadata=md)
    assert again.parent.status == "disabled"
    assert len(events(auth_rt, "auth.parent.updated.v1")) == 1  # nothing changed, nothing announced

    enabled = stub.EnableAccount(pb.EnableAccountRequest(account_id=parent.id), metadata=md)
    assert enabled.parent.status == "active"
    assert sign_in(stub, "marie.dupont", PARENT_PASSWORD).account.id == parent.id
    assert events(auth_rt, "auth.parent.updated.v1")[-1][1].disabled is False
    for session in sessions:  # ended sessions stay ended
        refused(lambda session=session: resolve(stub, session))


def test_a_parent_s_status_is_invited_until_the_first_connection(stub, auth_rt, md, staff_session):
    parent, _ = create_family(stub, staff_session)
    (listed,) = stub.ListParents(pb.ListParentsRequest(), metadata=md).parents
    assert listed.status == "invited"
    assert [p.id for p in stub.ListParents(pb.ListParentsRequest(status="invited"), metadata=md).parents] == [
        parent.id
    ]
    activate(stub, last_token(auth_rt, parent.id).token)
    (listed,) = stub.ListParents(pb.ListParentsRequest(), metadata=md).parents
    assert listed.status == "active"
    err = refused(lambda: stub.ListParents(pb.ListParentsRequest(status="asleep"), metadata=md))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_disabled_invited_parent_gets_no_way_in_by_token_or_mail(stub, auth_rt, md, staff_session):
    parent, _ = create_family(stub, staff_session)
    token = last_token(auth_rt, parent.id).token
    stub.DisableAccount(pb.DisableAccountRequest(account_id=parent.id), metadata=md)
    for call in (
        lambda: activate(stub, token),
        lambda: stub.CheckConnectionToken(pb.CheckConnectionTokenRequest(token=token)),
    ):
        err = refused(call)
        assert (err.code(), error_code(err)) == (grpc.StatusCode.PERMISSION_DENIED, "account_disabled")
    issued = len(events(auth_rt, "auth.token.issued.v1"))
    stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email="marie@example.be"))
    assert len(events(auth_rt, "auth.token.issued.v1")) == issued
    err = refused(
        lambda: stub.IssueConnectionToken(pb.IssueConnectionTokenRequest(parent_id=parent.id), metadata=md)
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "account_disabled")

    assert (
        stub.EnableAccount(pb.EnableAccountRequest(account_id=parent.id), metadata=md).parent.status
        == "invited"
    )
    refused(lambda: activate(stub, token))  # revoked when disabled: the school sends a new one
    stub.IssueConnectionToken(pb.IssueConnectionTokenRequest(parent_id=parent.id), metadata=md)
    assert activate(stub, last_token(auth_rt, parent.id).token).account.id == parent.id


def test_a_manager_disables_a_colleague_but_not_themself(stub, auth_rt, school, staff_session, md):
    colleague = schools.create_staff(
        use_case_deps(auth_rt), school.id, "Paul", "Renard", "paul@ecole.example", "", STAFF_PASSWORD
    )
    theirs = sign_in(stub, colleague.username, STAFF_PASSWORD)
    listed = stub.ListStaff(pb.ListStaffRequest(), metadata=md).staff
    assert [(m.username, m.status) for m in listed] == [
        (school.staff_username, "active"),
        (colleague.username, "active"),
    ]
    answer = stub.DisableAccount(pb.DisableAccountRequest(account_id=colleague.account_id), metadata=md)
    assert (answer.WhichOneof("account"), answer.staff.status) == ("staff", "disabled")
    assert refused(lambda: resolve(stub, theirs)).code() == grpc.StatusCode.UNAUTHENTICATED
    assert (
        error_code(refused(lambda: sign_in(stub, colleague.username, STAFF_PASSWORD))) == "account_disabled"
    )
    assert [m.status for m in stub.ListStaff(pb.ListStaffRequest(), metadata=md).staff] == [
        "active",
        "disabled",
    ]

    err = refused(
        lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id=school.staff_id), metadata=md)
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.PERMISSION_DENIED, "cannot_disable_self")
    assert resolve(stub, staff_session).account.id == school.staff_id

    stub.EnableAccount(pb.EnableAccountRequest(account_id=colleague.account_id), metadata=md)
    assert sign_in(stub, colleague.username, STAFF_PASSWORD).account.id == colleague.account_id


def test_a_manager_ends_every_session_of_an_account(stub, md, marie):
    parent, sessions = marie
    assert stub.EndSessions(pb.EndSessionsRequest(account_id=parent.id), metadata=md).ended == 2
    for session in sessions:
        refused(lambda session=session: resolve(stub, session))
    assert stub.EndSessions(pb.EndSessionsRequest(account_id=parent.id), metadata=md).ended == 0
    assert sign_in(stub, "marie.dupont", PARENT_PASSWORD).account.id == parent.id  # not disabled


def test_another_school_s_accounts_are_not_found_and_untouched(stub, auth_rt, md, marie):
    other = make_school(auth_rt, "École du Parc", staff_first="Zoé")
    theirs = sign_in(stub, other.staff_username, STAFF_PASSWORD)
    for call in (
        lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id=other.staff_id), metadata=md),
        lambda: stub.EnableAccount(pb.EnableAccountRequest(account_id=other.staff_id), metadata=md),
        lambda: stub.EndSessions(pb.EndSessionsRequest(account_id=other.staff_id), metadata=md),
        lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id="no-such-id"), metadata=md),
        lambda: stub.DisableAccount(pb.DisableAccountRequest(), metadata=md),
    ):
        assert refused(call).code() == grpc.StatusCode.NOT_FOUND
    assert resolve(stub, theirs).account.id == other.staff_id
    assert [m.id for m in stub.ListStaff(pb.ListStaffRequest(), metadata=md).staff] != [other.staff_id]


def test_parents_cannot_manage_accounts(stub, school, marie):
    parent, sessions = marie
    parent_md = bearer(sessions[1].identity_token)
    for call in (
        lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id=school.staff_id), metadata=parent_md),
        lambda: stub.EnableAccount(pb.EnableAccountRequest(account_id=parent.id), metadata=parent_md),
        lambda: stub.EndSessions(pb.EndSessionsRequest(account_id=school.staff_id), metadata=parent_md),
        lambda: stub.ListStaff(pb.ListStaffRequest(), metadata=parent_md),
        lambda: stub.DisableAccount(pb.DisableAccountRequest(account_id=parent.id)),  # no identity token
    ):
        assert refused(call).code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
