"""What auth's server needs is read when it starts (app.registrations), so that a missing secret fails
the deployment at once instead of the first sign-in of the day."""

from __future__ import annotations

import dataclasses
from typing import cast

import pytest

from kit.settings import SettingsError
from services.auth.app import registrations, use_case_deps
from services.auth.grpc_api import Servicer
from services.auth.tests.conftest import STAFF_PASSWORD, make_school
from services.auth.use_cases import signin


def test_a_missing_signing_key_fails_the_server_at_start(sqlite_rt, tmp_path):
    missing = tmp_path / "nowhere" / "identity.pem"
    sqlite_rt.settings = dataclasses.replace(sqlite_rt.settings, identity_private_key_file=missing)
    with pytest.raises(SettingsError, match="IDENTITY_PRIVATE_KEY_FILE"):
        registrations(sqlite_rt)


def test_an_unreadable_signing_key_fails_the_server_at_start(sqlite_rt, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    sqlite_rt.settings = dataclasses.replace(sqlite_rt.settings, identity_private_key_file=bad)
    with pytest.raises(SettingsError, match="IDENTITY_PRIVATE_KEY_FILE"):
        registrations(sqlite_rt)


def test_the_server_signs_with_the_key_it_read_at_start(sqlite_rt):
    school = make_school(sqlite_rt)
    regs = registrations(sqlite_rt)
    deps = cast(Servicer, regs[0].servicer).deps
    sqlite_rt.settings.identity_private_key_file.unlink()  # read already: sign-ins still get a token
    session = signin.sign_in(deps, school.staff_username, STAFF_PASSWORD).session
    assert sqlite_rt.verifier.verify(session.identity_token).account_id == school.staff_id


def test_commands_that_sign_nothing_need_no_signing_key(sqlite_rt, tmp_path):
    sqlite_rt.settings = dataclasses.replace(
        sqlite_rt.settings, identity_private_key_file=tmp_path / "absent.pem"
    )
    make_school(sqlite_rt)  # create-school and create-staff never sign
    with pytest.raises(SettingsError):
        use_case_deps(sqlite_rt).signer()
