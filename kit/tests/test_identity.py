"""Identity tokens naming children who left the school (issue #16): still shown, nothing new for them."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from kit.errors import Conflict, Unauthenticated
from kit.identity import Identity, TokenVerifier
from kit.testing import Keys


@pytest.fixture
def keys(tmp_path):
    return Keys(tmp_path)


def _parent(**kw) -> Identity:
    return Identity(account_id="acc-1", role="parent", school_id="school-1", **kw)


def test_a_leaver_is_in_the_token_read_only_with_its_class_and_date(keys):
    token, _ = keys.signer.sign(_parent(students={"s1": "3A", "s2": "1B"}, left={"s2": "2026-06-30"}))
    who = keys.verifier.verify(token)
    assert who.students == {"s1": "3A", "s2": "1B"}
    assert who.left == {"s2": "2026-06-30"}
    assert who.may_act_for("s2") and who.may_act_for("s1")
    assert who.may_change_for("s1") and not who.may_change_for("s2")
    assert (who.is_left("s2"), who.left_on("s2"), who.left_on("s1")) == (True, "2026-06-30", "")
    who.refuse_left("s1")
    with pytest.raises(Conflict) as err:
        who.refuse_left("s2")
    assert (err.value.code, err.value.http_status) == ("student_left", 409)


def test_the_active_children_claim_stays_as_before_so_an_older_verifier_sees_no_leaver(keys):
    token, _ = keys.signer.sign(_parent(students={"s1": "3A", "s2": "1B"}, left={"s2": "2026-06-30"}))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["stu"] == {"s1": "3A"}
    assert claims["left"] == {"s2": {"class": "1B", "left_on": "2026-06-30"}}


def test_a_token_without_the_claim_names_no_leaver(keys):
    who = keys.verifier.verify(keys.token(students={"s1": "3A"}))
    assert who.left == {} and who.may_change_for("s1") and not who.may_change_for("s9")
    plain = jwt.decode(
        keys.signer.sign(_parent(students={"s1": "3A"}))[0], options={"verify_signature": False}
    )
    assert "left" not in plain


def test_staff_may_change_for_any_student_the_token_does_not_say_left(keys):
    who = keys.verifier.verify(keys.token(role="staff"))
    assert who.may_change_for("anyone") and not who.is_left("anyone")


@pytest.mark.parametrize("bad", [["s2"], {"s2": "2026-06-30"}, {"s2": {"class": 3}}])
def test_a_malformed_left_claim_is_refused(keys, bad):
    key = load_pem_private_key(keys.private_file.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    claims = {"iss": "cartable-auth", "aud": "cartable", "sub": "a", "exp": 2**40, "left": bad}
    token = jwt.encode(claims, key, algorithm="EdDSA")
    with pytest.raises(Unauthenticated):
        TokenVerifier.from_files([keys.public_file]).verify(token)
