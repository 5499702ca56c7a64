"""The national numbers' box (kit/secretbox.py): its key from NATIONAL_NUMBER_KEY, a local run's own key
shared by its processes, production refusing to build it without the key, a wrong key failing loudly."""

from __future__ import annotations

import dataclasses
import stat

import pytest
from cryptography.fernet import Fernet

from kit.secretbox import NATIONAL_NUMBER_KEY_FILE, SecretBox, local_key_file, national_number_box, totp_box
from kit.settings import SettingsError, load_settings

NN = "85010112345"


def test_finance_and_documents_of_a_local_run_share_one_key_readable_by_its_owner_only(tmp_path):
    finance = load_settings("finance", {"CARTABLE_VAR_DIR": str(tmp_path)})
    documents = load_settings("documents", {"CARTABLE_VAR_DIR": str(tmp_path)})
    sealed = national_number_box(finance).seal(NN)
    assert NN not in sealed
    assert national_number_box(documents).open(sealed) == NN
    path = local_key_file(finance, NATIONAL_NUMBER_KEY_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # not the TOTP secrets' key
    with pytest.raises(ValueError, match="unknown key"):
        totp_box(finance).open(sealed)


def test_the_key_comes_from_the_setting_when_given_and_a_rotation_keeps_the_old_one(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = {"CARTABLE_VAR_DIR": str(tmp_path), "NATIONAL_NUMBER_KEY": old}
    settings = load_settings("finance", env)
    sealed = national_number_box(settings).seal(NN)
    assert not local_key_file(settings, NATIONAL_NUMBER_KEY_FILE).exists()
    rotated = national_number_box(dataclasses.replace(settings, national_number_key=f"{new}, {old}"))
    assert rotated.open(sealed) == NN
    assert SecretBox([new.encode()]).open(rotated.seal(NN)) == NN  # the first key seals


def test_a_wrong_key_fails_loudly_without_naming_the_number(tmp_path):
    sealed = SecretBox([Fernet.generate_key()]).seal(NN)
    with pytest.raises(ValueError, match="unknown key") as err:
        SecretBox([Fernet.generate_key()]).open(sealed)
    assert NN not in str(err.value)
    with pytest.raises(ValueError, match="unknown key"):
        SecretBox([Fernet.generate_key()]).open(NN)  # a number never sealed is no secret of ours
    with pytest.raises(SettingsError, match="NATIONAL_NUMBER_KEY"):
        national_number_box(
            load_settings("documents", {"CARTABLE_VAR_DIR": str(tmp_path), "NATIONAL_NUMBER_KEY": "nope"})
        )


@pytest.mark.parametrize("service", ["finance", "documents"])
def test_production_refuses_to_build_the_box_without_its_key(service, tmp_path):
    settings = dataclasses.replace(
        load_settings(service, {"CARTABLE_VAR_DIR": str(tmp_path)}), env="production"
    )
    with pytest.raises(SettingsError, match="missing environment variable NATIONAL_NUMBER_KEY"):
        national_number_box(settings)
    assert not (tmp_path / "keys").exists()  # no local key made outside a local run
    key = Fernet.generate_key().decode()
    box = national_number_box(dataclasses.replace(settings, national_number_key=key))
    assert box.open(box.seal(NN)) == NN
