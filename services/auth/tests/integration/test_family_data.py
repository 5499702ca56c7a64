"""Auth's part of a family's export (FamilyDataService.ExportFamilyData, issue #21) over the real gRPC
server on SQLite and PostgreSQL, with identity tokens auth signed: the parent gets their account, their
children (national numbers in full, opened), guardianships, sessions and the audit entries about them,
never a hash nor a secret, nothing of another family; a parent asking for another account or child is
refused; the school's staff get the same; another school's staff get empty parts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import pytest

from cartable.auth.v1 import auth_pb2 as pb
from cartable.auth.v1 import auth_pb2_grpc
from cartable.privacy.v1 import privacy_pb2 as ppb
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.service import start_grpc
from services.auth.tests.conftest import PARENT_PASSWORD, STAFF_PASSWORD, bearer, last_token, make_school
from services.auth.tests.integration.test_erasure import deliver_audit, parent, student
from services.auth.tests.integration.test_grpc_auth import activate, refused

PARENT_NN, LUCAS_NN = "79040278962", "15031512383"
FILES = {
    "auth/account.json",
    "auth/children.json",
    "auth/guardianships.json",
    "auth/sessions.json",
    "auth/connection_tokens.json",
    "auth/sign_in_failures.json",
    "auth/audit_entries.json",
}


@pytest.fixture
def stubs(auth_rt) -> Iterator[SimpleNamespace]:
    server = start_grpc(auth_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield SimpleNamespace(
        auth=auth_pb2_grpc.AuthServiceStub(channel), data=privacy_pb2_grpc.FamilyDataServiceStub(channel)
    )
    channel.close()
    server.shutdown(drain=0, grace=0)


def staff_md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


@pytest.fixture
def families(stubs, auth_rt):
    stub = stubs.auth
    school = make_school(auth_rt)
    md = staff_md(stub, school)
    lucas = student(stub, md, "Lucas", "Dupont")
    emma = student(stub, md, "Emma", "Dupont", "1S2")
    marie = parent(stub, md, "Marie", "Dupont", "marie@example.be", [lucas, emma])
    zoe = student(stub, md, "Zoé", "Zanetti")
    paul = parent(stub, md, "Paulin", "Zanetti", "paulin@example.be", [zoe])
    stub.UpdateParent(pb.UpdateParentRequest(parent_id=marie.id, national_number=PARENT_NN), metadata=md)
    stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=lucas.id, national_number=LUCAS_NN, birth_date="2015-03-15"),
        metadata=md,
    )
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=emma.id, left_on="2026-06-30"), metadata=md)
    session = activate(stub, last_token(auth_rt, marie.id).token)
    activate(stub, last_token(auth_rt, paul.id).token, PARENT_PASSWORD + " bis")
    deliver_audit(auth_rt)
    return SimpleNamespace(
        school=school, md=md, marie=marie, lucas=lucas, emma=emma, paul=paul, zoe=zoe, session=session
    )


def export(stubs, md, parent_id, student_ids) -> dict[str, object]:
    got = stubs.data.ExportFamilyData(
        ppb.ExportFamilyDataRequest(parent_id=parent_id, student_ids=student_ids), metadata=md
    )
    assert {f.content_type for f in got.files} == {"application/json"}
    return {f.name: json.loads(f.content.decode("utf-8")) for f in got.files}


def test_the_parent_gets_their_own_data_and_nothing_of_another_family(stubs, auth_rt, families):
    f = families
    md = bearer(f.session.identity_token)
    parts = export(stubs, md, f.marie.id, [f.lucas.id, f.emma.id])
    assert set(parts) == FILES
    account = parts["auth/account.json"]
    assert {k: account[k] for k in ("id", "first_name", "last_name", "email", "username", "language")} == {
        "id": f.marie.id,
        "first_name": "Marie",
        "last_name": "Dupont",
        "email": "marie@example.be",
        "username": f.marie.username,
        "language": "fr",
    }
    assert account["national_number"] == PARENT_NN
    assert account["second_factor_enabled"] is False and account["created_at"].startswith("2026-09-01")
    children = {c["first_name"]: c for c in parts["auth/children.json"]}
    assert set(children) == {"Lucas", "Emma"}
    assert (children["Lucas"]["national_number"], children["Lucas"]["birth_date"]) == (LUCAS_NN, "2015-03-15")
    assert (children["Lucas"]["class_name"], children["Lucas"]["level"], children["Lucas"]["status"]) == (
        "3A",
        "primary",
        "active",
    )
    assert (children["Emma"]["status"], children["Emma"]["left_on"]) == ("left", "2026-06-30")
    assert {(g["parent_id"], g["student_id"]) for g in parts["auth/guardianships.json"]} == {
        (f.marie.id, f.lucas.id),
        (f.marie.id, f.emma.id),
    }
    (sess,) = parts["auth/sessions.json"]
    assert set(sess) == {"created_at", "last_seen_at", "expires_at", "ended_at"}  # no token, no csrf
    assert [t["reason"] for t in parts["auth/connection_tokens.json"]] == ["created"]
    audited = {(e["action"], e["object_id"]) for e in parts["auth/audit_entries.json"]}
    assert {("auth.parent.created", f.marie.id), ("auth.student.left", f.emma.id)} <= audited
    assert all("detail" not in e and "actor_name" not in e for e in parts["auth/audit_entries.json"])
    text = json.dumps(parts, ensure_ascii=False)
    for foreign in ("Paulin", "Zanetti", "Zoé", f.paul.id, f.zoe.id, "$argon2", "gAAAA"):
        assert foreign not in text, foreign


def test_a_parent_asking_for_another_account_or_child_is_refused(stubs, families):
    f = families
    md = bearer(f.session.identity_token)
    for parent_id, ids in ((f.paul.id, [f.zoe.id]), (f.paul.id, []), (f.marie.id, [f.lucas.id, f.zoe.id])):
        err = refused(lambda parent_id=parent_id, ids=ids: export(stubs, md, parent_id, ids))
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_school_s_staff_get_the_same_and_another_school_s_nothing(stubs, auth_rt, families):
    f = families
    mine = export(stubs, bearer(f.session.identity_token), f.marie.id, [f.lucas.id, f.emma.id])
    assert export(stubs, f.md, f.marie.id, [f.lucas.id, f.emma.id]) == mine
    # a child of another family named with her: not in her part
    with_zoe = export(stubs, f.md, f.marie.id, [f.lucas.id, f.zoe.id])
    assert [c["id"] for c in with_zoe["auth/children.json"]] == [f.lucas.id]
    other = make_school(auth_rt, "Athénée Royal", staff_first="Marc")
    theirs = export(stubs, staff_md(stubs.auth, other), f.marie.id, [f.lucas.id, f.emma.id])
    assert theirs == {name: ({} if name == "auth/account.json" else []) for name in FILES}
