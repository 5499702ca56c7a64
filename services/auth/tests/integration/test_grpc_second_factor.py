"""The second factor over gRPC, on SQLite and PostgreSQL: set up from one's session, asked for at
sign-in (and activation) once set up, throttled, never replayed; required of every staff account when
the school says so; a parent's choice."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from kit.errors import RETRY_KEY
from services.auth.app import use_case_deps
from services.auth.db import recovery_codes, second_factors
from services.auth.domain.second_factor import code_at
from services.auth.tests.conftest import (
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    bearer,
    error_code,
    last_token,
    make_school,
)
from services.auth.tests.integration.test_grpc_auth import activate, create_family, refused
from services.auth.use_cases import demo, schools


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


def sign_in(stub, username, password=STAFF_PASSWORD, otp=""):
    return stub.SignIn(pb.SignInRequest(username=username, password=password, otp=otp)).session


def set_up(stub, clock, session):
    """Set a factor up from ``session``: (secret, recovery codes, refreshed session)."""
    begun = stub.BeginSecondFactorSetup(pb.BeginSecondFactorSetupRequest(session_token=session.session_token))
    done = stub.ConfirmSecondFactorSetup(
        pb.ConfirmSecondFactorSetupRequest(
            session_token=session.session_token, code=code_at(begun.secret, clock.now)
        )
    )
    return begun.secret, list(done.recovery_codes), done.session


def test_setting_up_a_factor_then_signing_in_with_its_code(stub, auth_rt, school, clock):
    session = sign_in(stub, school.staff_username)
    other = sign_in(stub, school.staff_username)
    begun = stub.BeginSecondFactorSetup(pb.BeginSecondFactorSetupRequest(session_token=session.session_token))
    assert begun.provisioning_uri.startswith("otpauth://totp/Cartable:")
    assert f"secret={begun.secret}" in begun.provisioning_uri
    assert sign_in(stub, school.staff_username).account.id == school.staff_id  # nothing changed yet

    err = refused(
        lambda: stub.ConfirmSecondFactorSetup(
            pb.ConfirmSecondFactorSetupRequest(session_token=session.session_token, code="000000")
        )
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_otp")
    done = stub.ConfirmSecondFactorSetup(
        pb.ConfirmSecondFactorSetupRequest(
            session_token=session.session_token, code=code_at(begun.secret, clock.now)
        )
    )
    assert len(done.recovery_codes) == 10
    assert done.session.account.second_factor_enabled and done.session.identity_token
    refused(lambda: stub.ResolveSession(pb.ResolveSessionRequest(session_token=other.session_token)))
    with auth_rt.db.unit_of_work() as s:
        stored = s.execute(select(second_factors)).one()
        hashes = s.execute(select(recovery_codes.c.code_hash)).scalars().all()
    assert begun.secret not in stored.secret and stored.pending_secret is None
    assert len(hashes) == 10 and not set(done.recovery_codes) & set(hashes)

    err = refused(lambda: sign_in(stub, school.staff_username))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.UNAUTHENTICATED, "second_factor_required")
    err = refused(lambda: sign_in(stub, school.staff_username, "wrong password", otp="123456"))
    assert error_code(err) == "invalid_credentials"  # the password first
    clock.advance(seconds=30)
    code = code_at(begun.secret, clock.now)
    assert sign_in(stub, school.staff_username, otp=code).account.second_factor_enabled
    err = refused(lambda: sign_in(stub, school.staff_username, otp=code))  # the same code again
    assert (err.code(), error_code(err)) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_otp")
    clock.advance(seconds=30)
    assert (
        sign_in(stub, school.staff_username, otp=code_at(begun.secret, clock.now)).account.id
        == school.staff_id
    )


def test_a_recovery_code_opens_one_sign_in(stub, school, clock):
    _, codes, _ = set_up(stub, clock, sign_in(stub, school.staff_username))
    assert sign_in(stub, school.staff_username, otp=codes[0].lower()).account.id == school.staff_id
    err = refused(lambda: sign_in(stub, school.staff_username, otp=codes[0]))
    assert error_code(err) == "invalid_otp"
    assert sign_in(stub, school.staff_username, otp=codes[1]).account.id == school.staff_id


def test_wrong_codes_are_throttled_like_wrong_passwords_and_asking_for_the_code_clears_nothing(
    stub, school, clock, sleeps
):
    secret, _, _ = set_up(stub, clock, sign_in(stub, school.staff_username))
    for _ in range(2):
        refused(lambda: sign_in(stub, school.staff_username, otp="000000"))
    for _ in range(3):  # the right password without a code: not a failure, and no fresh start either
        assert error_code(refused(lambda: sign_in(stub, school.staff_username))) == "second_factor_required"
    for _ in range(3):
        assert (
            error_code(refused(lambda: sign_in(stub, school.staff_username, otp="000000"))) == "invalid_otp"
        )
    assert sleeps  # slowed like wrong passwords
    err = refused(lambda: sign_in(stub, school.staff_username, otp=code_at(secret, clock.now)))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited")
    clock.advance(seconds=int(dict(err.trailing_metadata())[RETRY_KEY]))
    assert sign_in(stub, school.staff_username, otp=code_at(secret, clock.now)).account.id == school.staff_id


def test_a_school_that_requires_it_sends_its_staff_to_set_it_up_and_parents_may_opt_in(
    stub, auth_rt, school, clock
):
    manager = sign_in(stub, school.staff_username)
    md = bearer(manager.identity_token)
    assert not stub.GetSecuritySettings(pb.GetSecuritySettingsRequest(), metadata=md).require_second_factor
    parent, _ = create_family(stub, manager)
    activate(stub, last_token(auth_rt, parent.id).token)

    settings = stub.UpdateSecuritySettings(
        pb.UpdateSecuritySettingsRequest(require_second_factor=True), metadata=md
    )
    assert (settings.require_second_factor, settings.staff_without_second_factor) == (True, 1)
    resolved = stub.ResolveSession(pb.ResolveSessionRequest(session_token=manager.session_token)).session
    assert resolved.second_factor_setup_required and resolved.identity_token == ""

    fresh = sign_in(stub, school.staff_username)  # no factor yet: signs in, to set it up
    assert fresh.second_factor_setup_required and fresh.identity_token == ""
    marie = sign_in(stub, "marie.dupont", PARENT_PASSWORD)  # parents are not required to
    assert not marie.second_factor_setup_required and marie.identity_token

    _, _, done = set_up(stub, clock, fresh)
    assert not done.second_factor_setup_required and done.identity_token
    again = stub.GetSecuritySettings(pb.GetSecuritySettingsRequest(), metadata=bearer(done.identity_token))
    assert (again.require_second_factor, again.staff_without_second_factor) == (True, 0)

    # a parent opts in: from then on, the code is asked for
    secret, _, _ = set_up(stub, clock, marie)
    assert (
        error_code(refused(lambda: sign_in(stub, "marie.dupont", PARENT_PASSWORD)))
        == "second_factor_required"
    )
    clock.advance(seconds=30)
    assert sign_in(stub, "marie.dupont", PARENT_PASSWORD, code_at(secret, clock.now)).account.id == parent.id
    err = refused(
        lambda: stub.UpdateSecuritySettings(
            pb.UpdateSecuritySettingsRequest(require_second_factor=False),
            metadata=bearer(marie.identity_token),
        )
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_demo_school_does_not_require_it(stub, auth_rt):
    seeded = demo.seed_demo(use_case_deps(auth_rt))
    session = sign_in(stub, seeded.staff["username"], seeded.staff["password"])
    assert not session.second_factor_setup_required
    settings = stub.GetSecuritySettings(
        pb.GetSecuritySettingsRequest(), metadata=bearer(session.identity_token)
    )
    assert not settings.require_second_factor


def test_turning_one_s_factor_off_needs_a_code_or_the_password(stub, school, clock):
    secret, _, session = set_up(stub, clock, sign_in(stub, school.staff_username))

    def turn_off(**kw):
        return stub.DisableSecondFactor(
            pb.DisableSecondFactorRequest(session_token=session.session_token, **kw)
        )

    err = refused(lambda: turn_off(password="not the password"))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_credentials")
    assert error_code(refused(lambda: turn_off(otp="000000"))) == "invalid_otp"
    assert refused(lambda: turn_off()).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not turn_off(password=STAFF_PASSWORD).session.account.second_factor_enabled
    assert sign_in(stub, school.staff_username).account.id == school.staff_id  # no code asked
    assert error_code(refused(lambda: turn_off(password=STAFF_PASSWORD))) == "second_factor_not_enabled"

    secret, _, session = set_up(stub, clock, sign_in(stub, school.staff_username))
    clock.advance(seconds=30)
    assert not turn_off(otp=code_at(secret, clock.now)).session.account.second_factor_enabled


def test_a_manager_resets_a_colleague_s_factor_of_the_same_school_only(stub, auth_rt, school, clock):
    colleague = schools.create_staff(
        use_case_deps(auth_rt), school.id, "Paul", "Renard", "paul@ecole.example", "", STAFF_PASSWORD
    )
    _, _, theirs = set_up(stub, clock, sign_in(stub, colleague.username))
    manager = sign_in(stub, school.staff_username)
    md = bearer(manager.identity_token)
    listed = {
        m.username: m.second_factor_enabled for m in stub.ListStaff(pb.ListStaffRequest(), metadata=md).staff
    }
    assert listed == {school.staff_username: False, colleague.username: True}
    other = make_school(auth_rt, "École du Parc", staff_first="Zoé")
    err = refused(
        lambda: stub.ResetSecondFactor(pb.ResetSecondFactorRequest(account_id=other.staff_id), metadata=md)
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = refused(
        lambda: stub.ResetSecondFactor(pb.ResetSecondFactorRequest(account_id=school.staff_id), metadata=md)
    )
    assert error_code(err) == "cannot_reset_self"

    stub.ResetSecondFactor(pb.ResetSecondFactorRequest(account_id=colleague.account_id), metadata=md)
    refused(lambda: stub.ResolveSession(pb.ResolveSessionRequest(session_token=theirs.session_token)))
    assert not sign_in(stub, colleague.username).account.second_factor_enabled


def test_a_password_reset_does_not_skip_the_factor(stub, auth_rt, school, clock):
    manager = sign_in(stub, school.staff_username)
    parent, _ = create_family(stub, manager)
    marie = activate(stub, last_token(auth_rt, parent.id).token)
    secret, _, _ = set_up(stub, clock, marie)
    stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email="marie@example.be"))
    token = last_token(auth_rt, parent.id).token
    assert stub.CheckConnectionToken(pb.CheckConnectionTokenRequest(token=token)).second_factor_required
    new = "Une toute nouvelle phrase"

    def activate_with(otp=""):
        return stub.Activate(
            pb.ActivateRequest(token=token, password=new, password_confirm=new, otp=otp)
        ).session

    assert error_code(refused(activate_with)) == "second_factor_required"
    assert error_code(refused(lambda: activate_with("000000"))) == "invalid_otp"
    clock.advance(seconds=30)
    assert activate_with(code_at(secret, clock.now)).account.id == parent.id
    clock.advance(seconds=30)
    assert sign_in(stub, "marie.dupont", new, code_at(secret, clock.now)).account.id == parent.id


def test_set_up_needs_a_live_session_and_no_factor_already(stub, school, clock):
    err = refused(lambda: stub.BeginSecondFactorSetup(pb.BeginSecondFactorSetupRequest(session_token="nope")))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    session = sign_in(stub, school.staff_username)
    err = refused(
        lambda: stub.ConfirmSecondFactorSetup(
            pb.ConfirmSecondFactorSetupRequest(session_token=session.session_token, code="123456")
        )
    )
    assert error_code(err) == "no_setup_pending"
    _, _, session = set_up(stub, clock, session)
    err = refused(
        lambda: stub.BeginSecondFactorSetup(
            pb.BeginSecondFactorSetupRequest(session_token=session.session_token)
        )
    )
    assert (err.code(), error_code(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "second_factor_enabled")
