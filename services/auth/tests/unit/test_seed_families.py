"""``python -m services.auth seed-families``: signed-in families for the benchmarks, made by the use
cases' own steps (the same rows and events as the staff's forms)."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.auth.app import use_case_deps
from services.auth.commands import seed_families_command
from services.auth.db import accounts, outbox, students
from services.auth.tests.conftest import make_school
from services.auth.use_cases import sessions, signin


def test_seeded_families_are_signed_in_parents_of_one_new_child_each(sqlite_rt, capsys):
    deps = use_case_deps(sqlite_rt)
    school = make_school(sqlite_rt)
    args = ["--school-id", school.id, "--count", "30", "--class-name", "2B"]
    assert seed_families_command(deps, args) == 0
    out = json.loads(capsys.readouterr().out)
    families = out["families"]
    assert len(families) == 30
    assert len({f["username"] for f in families}) == 30
    for fam in (families[0], families[-1]):
        resolved = sessions.resolve_session(deps, fam["session_token"]).session
        assert resolved.account.id == fam["parent_id"]
        assert [c.id for c in resolved.children] == [fam["student_id"]]
        assert resolved.children[0].class_name == "2B"
        assert resolved.identity_token
    signed = signin.sign_in(deps, families[7]["username"], out["password"]).session
    assert signed.account.id == families[7]["parent_id"]
    with sqlite_rt.db.unit_of_work() as s:
        names = list(s.execute(select(outbox.c.event_name)).scalars())
        assert names.count("auth.student.created.v1") == 30
        assert names.count("auth.parent.created.v1") == 30
        assert len(s.execute(select(students.c.id).where(students.c.school_id == school.id)).all()) == 30
        assert len(s.execute(select(accounts.c.id).where(accounts.c.role == "parent")).all()) == 30


def test_a_count_out_of_range_or_an_unknown_school_is_refused(sqlite_rt, capsys):
    deps = use_case_deps(sqlite_rt)
    school = make_school(sqlite_rt)
    assert seed_families_command(deps, ["--school-id", school.id, "--count", "0"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "invalid_request"
    assert seed_families_command(deps, ["--school-id", "nope", "--count", "2"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "not_found"
