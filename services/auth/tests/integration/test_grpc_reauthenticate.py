"""Reauthenticate over gRPC, on SQLite and PostgreSQL: the caller types their password again and gets
an identity token carrying ``reauthenticated_at`` (what finance asks for before an IBAN change);
a wrong password is counted like a failed sign-in."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import cast

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import FIELDS_KEY, RETRY_KEY
from kit.identity import Identity
from services.auth.db import sign_in_failures
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    bearer,
    error_code,
    last_token,
    make_school,
)
from services.auth.tests.integration.test_grpc_auth import activate, create_family, refused

IBAN_WINDOW = 300  # finance's REAUTH_WINDOW_SECONDS


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def staff_session(stub, school) -> pb.Session:
    return stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session


def fields(err: grpc.RpcError) -> str:
    trailing = dict(cast("tuple[tuple[str, str], ...]", err.trailing_metadata() or ()))
    return trailing.get(FIELDS_KEY, "")


def failures(rt) -> set[str]:
    """The kinds of failed attempts counted (account, address)."""
    with rt.db.unit_of_work() as s:
        return set(s.execute(select(sign_in_failures.c.key_kind)).scalars())


def test_the_right_password_gives_a_token_reauthenticated_now_for_the_same_account(
    stub, auth_rt, school, staff_session
):
    before = int(time.time())
    resp = stub.Reauthenticate(
        pb.ReauthenticateRequest(session_token=staff_session.session_token, current_password=STAFF_PASSWORD)
    )
    who = auth_rt.verifier.verify(resp.identity_token)
    assert (who.account_id, who.role, who.school_id) == (school.staff_id, "staff", school.id)
    assert who.reauthenticated_at == resp.reauthenticated_at
    assert before <= resp.reauthenticated_at <= int(time.time())
    assert resp.identity_expires_at > resp.reauthenticated_at
    who.require_reauthenticated(IBAN_WINDOW)  # what finance's UpdateSettings checks
    # the session's own identity token says nothing of it
    assert auth_rt.verifier.verify(staff_session.identity_token).reauthenticated_at is None


def test_without_a_session_token_the_identity_tokens_account_reauthenticates(
    stub, auth_rt, school, staff_session
):
    resp = stub.Reauthenticate(
        pb.ReauthenticateRequest(current_password=STAFF_PASSWORD),
        metadata=bearer(staff_session.identity_token),
    )
    assert auth_rt.verifier.verify(resp.identity_token).account_id == school.staff_id


def test_a_parents_token_keeps_their_children(stub, auth_rt, staff_session):
    parent, kids = create_family(stub, staff_session)
    session = activate(stub, last_token(auth_rt, parent.id).token)
    resp = stub.Reauthenticate(
        pb.ReauthenticateRequest(session_token=session.session_token, current_password=PARENT_PASSWORD)
    )
    who = auth_rt.verifier.verify(resp.identity_token)
    assert who.role == "parent"
    assert who.students == {k.id: k.class_name for k in kids}
    assert who.reauthenticated_at is not None


def test_a_wrong_password_is_invalid_credentials_on_current_password_and_counted(
    stub, auth_rt, staff_session
):
    err = refused(
        lambda: stub.Reauthenticate(
            pb.ReauthenticateRequest(
                session_token=staff_session.session_token,
                current_password="wrong guess",
                client_address="198.51.100.7",
            )
        )
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_code(err) == "invalid_credentials"
    assert "current_password" in fields(err)
    assert failures(auth_rt) == {"account", "address"}  # one failed attempt, as a sign-in counts it


def test_repeated_wrong_passwords_lock_like_sign_ins_and_the_right_one_then_waits(
    stub, staff_session, sleeps
):
    req = pb.ReauthenticateRequest(session_token=staff_session.session_token, current_password="wrong guess")
    for _ in range(5):
        assert error_code(refused(lambda: stub.Reauthenticate(req))) == "invalid_credentials"
    assert sleeps  # the later guesses were slowed
    err = refused(
        lambda: stub.Reauthenticate(
            pb.ReauthenticateRequest(
                session_token=staff_session.session_token, current_password=STAFF_PASSWORD
            )
        )
    )
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_code(err) == "rate_limited"
    assert int(dict(err.trailing_metadata())[RETRY_KEY]) > 0


def test_an_empty_password_is_refused_without_hashing(stub, auth_rt, staff_session):
    hasher = auth_rt.extras["password_hasher"]
    checked = hasher.verified
    err = refused(
        lambda: stub.Reauthenticate(pb.ReauthenticateRequest(session_token=staff_session.session_token))
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_credentials")
    assert "required" in fields(err)
    assert hasher.verified == checked


def test_no_session_and_no_identity_is_unauthenticated(stub):
    err = refused(lambda: stub.Reauthenticate(pb.ReauthenticateRequest(current_password=STAFF_PASSWORD)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = refused(
        lambda: stub.Reauthenticate(
            pb.ReauthenticateRequest(session_token="not-a-session", current_password=STAFF_PASSWORD)
        )
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_identity_of_an_account_another_school_does_not_hold_is_unauthenticated(stub, keys, school):
    forged_school = keys.signer.sign(
        Identity(account_id=school.staff_id, role="staff", school_id="elsewhere")
    )[0]
    err = refused(
        lambda: stub.Reauthenticate(
            pb.ReauthenticateRequest(current_password=STAFF_PASSWORD), metadata=bearer(forged_school)
        )
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_disabled_account_cannot_reauthenticate(stub, auth_rt, staff_session):
    parent, _kids = create_family(stub, staff_session)
    session = activate(stub, last_token(auth_rt, parent.id).token)
    stub.DisableAccount(
        pb.DisableAccountRequest(account_id=parent.id), metadata=bearer(staff_session.identity_token)
    )
    err = refused(
        lambda: stub.Reauthenticate(
            pb.ReauthenticateRequest(current_password=PARENT_PASSWORD),
            metadata=bearer(session.identity_token),
        )
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.UNAUTHENTICATED, "account_disabled")


def test_a_full_hashing_gate_answers_unavailable_with_retry_after_and_counts_nothing(
    stub, auth_rt, staff_session
):
    gate = auth_rt.extras["hash_gate"]  # the servicer's (app._gate)
    req = pb.ReauthenticateRequest(session_token=staff_session.session_token, current_password=STAFF_PASSWORD)
    with ExitStack() as held:
        for _ in range(gate.slots):
            held.enter_context(gate.slot())
        err = refused(lambda: stub.Reauthenticate(req))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.UNAVAILABLE, "unavailable")
    assert int(dict(err.trailing_metadata())[RETRY_KEY]) > 0
    assert failures(auth_rt) == set()
    assert stub.Reauthenticate(req).identity_token  # the gate free again
