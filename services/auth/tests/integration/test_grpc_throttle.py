"""Throttling over gRPC, on SQLite and PostgreSQL: one address's guesses do not shut out the people
behind it, and a refused attempt says why (rate_limited with retry-after)."""

from __future__ import annotations

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import RETRY_KEY
from services.auth.tests.conftest import STAFF_PASSWORD, error_code, make_school
from services.auth.tests.integration.test_grpc_auth import refused

NAT = "198.51.100.77"


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


def test_guesses_from_one_address_lock_its_failures_not_the_right_password_behind_it(stub, school):
    for i in range(30):
        err = refused(
            lambda i=i: stub.SignIn(pb.SignInRequest(username=f"u{i}", password="x", client_address=NAT))
        )
        assert error_code(err) == "invalid_credentials"
    err = refused(lambda: stub.SignIn(pb.SignInRequest(username="u99", password="x", client_address=NAT)))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_code(err) == "rate_limited"
    assert int(dict(err.trailing_metadata())[RETRY_KEY]) > 800
    session = stub.SignIn(
        pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD, client_address=NAT)
    ).session
    assert session.account.id == school.staff_id
