"""Connection tokens' lifetimes over gRPC, on SQLite and PostgreSQL: a forgotten password's token lives
1 hour (what the mail says, expires_at), a first connection's 14 days."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.tests.conftest import PARENT_PASSWORD, STAFF_PASSWORD, error_code, last_token, make_school
from services.auth.tests.integration.test_grpc_auth import activate, create_family, refused


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def staff_session(stub, school):
    return stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session


def test_a_password_reset_token_expires_after_one_hour(stub, auth_rt, staff_session, clock):
    parent, _ = create_family(stub, staff_session)
    activate(stub, last_token(auth_rt, parent.id).token)
    stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email="marie@example.be"))
    issued = last_token(auth_rt, parent.id)
    assert issued.reason == "password_reset"
    assert issued.expires_at == int((clock.now + timedelta(hours=1)).timestamp())

    clock.advance(minutes=59, seconds=59)
    stub.CheckConnectionToken(pb.CheckConnectionTokenRequest(token=issued.token))
    clock.advance(seconds=1)
    err = refused(lambda: activate(stub, issued.token, "Une nouvelle phrase de passe"))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_code(err) == "token_expired"
    assert "1 hour" in err.details()
    # the old password still works: nothing changed
    stub.SignIn(pb.SignInRequest(username="marie.dupont", password=PARENT_PASSWORD))


def test_a_first_connection_token_still_lives_14_days(stub, auth_rt, staff_session, clock):
    parent, _ = create_family(stub, staff_session)
    issued = last_token(auth_rt, parent.id)
    assert issued.expires_at == int((clock.now + timedelta(days=14)).timestamp())
    clock.advance(days=13, hours=23)
    assert activate(stub, issued.token).account.id == parent.id
