"""The People CSV import (API.md), over gRPC on SQLite and PostgreSQL: what spreadsheets save (`;` or
`,`, UTF-8 with or without BOM, Windows-1252, French level names, two date formats) imported into
the school; students matched by their school id and parents by e-mail, never doubled; every bad row
listed with its line and column and nothing written; a second import of the same file changing and
sending nothing; new parents mailed their connection token, known parents not."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import func, select

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import accounts, guardianships, outbox, students
from services.auth.tests.conftest import STAFF_PASSWORD, bearer, error_code, events, make_school
from services.auth.tests.integration.test_grpc_auth import refused

HEADER = (
    "student_id;first_name;last_name;class_name;level;birth_date;"
    "parent1_first_name;parent1_last_name;parent1_email;parent2_first_name;parent2_last_name;parent2_email"
)
ROWS = [
    "M001;Lucas;Dupont;3A;primaire;12/03/2017;Marie;Dupont;marie.dupont@example.be;Jean;Dupont;jean.dupont@example.be",
    "M002;Emma;Dupont;1S2;secondaire;2013-07-01;Marie;Dupont;Marie.Dupont@Example.be;;;",
    "M003;Zoë;D'Hondt;3A;primary;;Inès;Lefèvre;ines@example.be;;;",
]


def csv_of(*rows: str, header: str = HEADER, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


@pytest.fixture
def school(auth_rt):
    return make_school(auth_rt)


@pytest.fixture
def md(stub, school):
    session = stub.SignIn(pb.SignInRequest(username=school.staff_username, password=STAFF_PASSWORD)).session
    return bearer(session.identity_token)


def imported(stub, md, data: bytes, dry_run: bool = False) -> pb.ImportPeopleResponse:
    return stub.ImportPeople(
        pb.ImportPeopleRequest(csv=data, dry_run=dry_run, filename="eleves.csv"), metadata=md
    )


def counts(answer: pb.ImportPeopleResponse) -> tuple[int, ...]:
    return (
        answer.rows,
        answer.students_created,
        answer.students_updated,
        answer.parents_created,
        answer.parents_updated,
        answer.links_created,
    )


def problems(answer: pb.ImportPeopleResponse) -> list[tuple[int, str, str]]:
    return [(p.line, p.column, p.code) for p in answer.problems]


def table_counts(rt) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        return {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (students, accounts, guardianships, outbox)
        }


def test_a_dry_run_counts_then_the_import_writes_then_the_same_file_again_changes_and_sends_nothing(
    stub, auth_rt, md
):
    before = table_counts(auth_rt)
    dry = imported(stub, md, csv_of(*ROWS), dry_run=True)
    assert dry.dry_run and not dry.problems
    assert counts(dry) == (3, 3, 0, 3, 0, 4)
    assert table_counts(auth_rt) == before

    done = imported(stub, md, csv_of(*ROWS))
    assert counts(done) == (3, 3, 0, 3, 0, 4) and not done.dry_run
    listed = {s.external_id: s for s in stub.ListStudents(pb.ListStudentsRequest(), metadata=md).students}
    lucas, emma, zoe = listed["M001"], listed["M002"], listed["M003"]
    assert (lucas.first_name, lucas.class_name, lucas.level, lucas.birth_date) == (
        "Lucas",
        "3A",
        "primary",
        "2017-03-12",
    )
    assert (emma.level, emma.birth_date, zoe.last_name, zoe.birth_date) == (
        "secondary",
        "2013-07-01",
        "D'Hondt",
        "",
    )
    parents = {p.email: p for p in stub.ListParents(pb.ListParentsRequest(), metadata=md).parents}
    assert sorted(parents) == ["ines@example.be", "jean.dupont@example.be", "marie.dupont@example.be"]
    marie = parents["marie.dupont@example.be"]
    assert (marie.username, marie.status, set(marie.student_ids)) == (
        "marie.dupont",
        "invited",
        {lucas.id, emma.id},
    )
    assert len(lucas.parent_ids) == 2
    mailed = [ev for _, ev in events(auth_rt, "auth.token.issued.v1")]
    assert sorted(ev.email for ev in mailed) == sorted(parents)
    assert {ev.reason for ev in mailed} == {"created"}
    assert len(events(auth_rt, "auth.student.created.v1")) == 3
    created = {ev.email: ev for _, ev in events(auth_rt, "auth.parent.created.v1")}
    assert set(created["marie.dupont@example.be"].student_ids) == {lucas.id, emma.id}
    ((_, entry),) = [
        e for e in events(auth_rt, "auth.audit.recorded.v1") if e[1].action == "auth.people.imported"
    ]
    assert entry.detail.startswith("eleves.csv: 3 rows, students created 3")

    after = table_counts(auth_rt)
    again = imported(stub, md, csv_of(*ROWS))
    assert counts(again) == (3, 0, 0, 0, 0, 0)
    assert table_counts(auth_rt) == after  # no row, no event, no mail, no audit entry


def test_an_updated_file_updates_without_doubling_and_mails_only_new_parents(stub, auth_rt, md):
    kid = stub.CreateStudent(
        pb.CreateStudentRequest(first_name="Noah", last_name="Martin", class_name="2B", level="primary"),
        metadata=md,
    ).student
    known = stub.CreateParent(
        pb.CreateParentRequest(
            first_name="Paul", last_name="Martin", email="paul.martin@example.be", student_ids=[kid.id]
        ),
        metadata=md,
    )
    imported(stub, md, csv_of(*ROWS))
    mails = len(events(auth_rt, "auth.token.issued.v1"))
    alone = stub.CreateStudent(
        pb.CreateStudentRequest(first_name="Léa", last_name="Absente", class_name="6C", level="primary"),
        metadata=md,
    ).student
    changed = [
        # a class, a level and a name changed; a second parent who is already known (another case)
        "M001;Lucas;Dupont;4A;primaire;12/03/2017;Marie;Dupont;marie.dupont@example.be;Paul;Martin;PAUL.Martin@example.be",
        "M002;Emma;Dupont;2S1;secondaire;2013-07-01;Marie;Dupont;marie.dupont@example.be;;;",
        "M003;Zoé;D'Hondt;3A;primary;;Inès;Lefèvre-Dubois;ines@example.be;;;",
        "M004;Hugo;Petit;1A;primary;;Anaïs;Petit;anais@example.be;;;",  # new, with a new parent
    ]
    answer = imported(stub, md, csv_of(*changed))
    # students: M001, M002, M003 updated, M004 created; parents: Inès renamed, Anaïs created;
    # links: Paul -> Lucas, Anaïs -> Hugo
    assert counts(answer) == (4, 1, 3, 1, 1, 2)
    listed = {s.external_id: s for s in stub.ListStudents(pb.ListStudentsRequest(), metadata=md).students}
    assert len([s for s in listed.values() if s.external_id]) == 4
    assert (listed["M001"].class_name, listed["M002"].class_name, listed["M003"].first_name) == (
        "4A",
        "2S1",
        "Zoé",
    )
    got = stub.GetStudent(pb.GetStudentRequest(student_id=alone.id), metadata=md).student
    assert (got.class_name, got.status) == ("6C", "active")  # absent from the file: left alone
    paul = next(p for p in stub.ListParents(pb.ListParentsRequest(q="paul"), metadata=md).parents)
    assert paul.id == known.id and set(paul.student_ids) == {kid.id, listed["M001"].id}
    new_mails = [ev.email for _, ev in events(auth_rt, "auth.token.issued.v1")[mails:]]
    assert new_mails == ["anais@example.be"]  # Paul and the others were known: no mail
    moved = [ev for _, ev in events(auth_rt, "auth.student.updated.v1")]
    assert {(ev.student_id, ev.previous_class_name, ev.class_name) for ev in moved} >= {
        (listed["M001"].id, "3A", "4A"),
        (listed["M002"].id, "1S2", "2S1"),
    }
    updated_parents = {ev.account_id: ev for _, ev in events(auth_rt, "auth.parent.updated.v1")}
    assert set(updated_parents[known.id].student_ids) == {kid.id, listed["M001"].id}


def test_windows_1252_with_commas_and_a_header_in_capitals(stub, md):
    text = (
        "STUDENT_ID,First_Name,LAST_NAME,Class_Name,Level,Birth_Date,Remarque\r\n"
        'W1,Chloé,Lefèvre-Dubois,5B,Secondaire,01/09/2012,"ignorée, tant pis"\r\n'
        "\r\n"
        "W2,Œdipe,Müller,5B,PRIMAIRE,,\r\n"
    )
    answer = imported(stub, md, text.encode("cp1252"))
    assert not answer.problems and counts(answer) == (2, 2, 0, 0, 0, 0)
    got = {
        s.external_id: s
        for s in stub.ListStudents(pb.ListStudentsRequest(class_name="5B"), metadata=md).students
    }
    assert (got["W1"].first_name, got["W1"].last_name, got["W1"].level) == (
        "Chloé",
        "Lefèvre-Dubois",
        "secondary",
    )
    assert (got["W2"].first_name, got["W2"].last_name) == ("Œdipe", "Müller")


def test_every_bad_row_is_listed_with_its_line_and_column_and_nothing_is_written(stub, auth_rt, md, school):
    other = make_school(auth_rt, "Athénée Royal", staff_first="Paul")  # paul@ecole.example: staff elsewhere
    assert other.id != school.id
    rows = [
        "B01;Lucas;Dupont;3A;primaire;12/03/2017;Marie;Dupont;marie@example.be;;;",  # good: line 2
        ";Emma;Dupont;3A;primaire;;;;;;;",  # 3: no student_id
        "B03;Emma;Dupont;3A;creche;31/02/2017;;;;;;",  # 4: level, date
        "B04;<b>;Dupont;3A;primary;;Jean;Dupont;jean@;;;",  # 5: first name, e-mail
        "B01;Lucas;Dupont;3A;primaire;;;;;;;",  # 6: B01 again
        "B06;Hugo;Petit;;primary;;;;;;;",  # 7: a new student without a class
        "B07;Inès;Petit;1A;primary;;Paul;Lambert;paul@ecole.example;;;",  # 8: a staff member's e-mail
        "B08;Tom;Petit;1A;primary;;Ana;Petit;ana@example.be;Ana;Petit;ANA@example.be",  # 9: twice the same
        "B09;Léo;Dupont;3A;primary;;Marine;Dupont;marie@example.be;;;",  # 10: another name for marie@
        "B10;Noé;Petit;1A;primary;;;Petit;anne@example.be;;;;extra",  # 11: too many values
        "B11;Sam;Petit;1A;primary;;;;;;;zoe@example.be",  # 12: a new parent without names
    ]
    before = table_counts(auth_rt)
    answer = imported(stub, md, csv_of(*rows))
    assert problems(answer) == [
        (3, "student_id", "required"),
        (4, "level", "invalid_level"),
        (4, "birth_date", "invalid_date"),
        (5, "first_name", "invalid_name"),
        (5, "parent1_email", "invalid_email"),
        (6, "student_id", "duplicate_student_id"),
        (7, "class_name", "required"),
        (8, "parent1_email", "email_taken"),
        (9, "parent2_email", "same_parent_twice"),
        (10, "parent1_first_name", "conflicting_parent"),
        (11, "", "too_many_values"),
        (12, "parent2_first_name", "required"),
        (12, "parent2_last_name", "required"),
    ]
    assert all(p.message for p in answer.problems)
    assert "line 2" in next(p.message for p in answer.problems if p.code == "duplicate_student_id")
    assert answer.rows == 11 and answer.students_created == 0
    assert table_counts(auth_rt) == before
    # line 11's other problem (a new parent without a first name) shows once its row reads right
    assert problems(imported(stub, md, csv_of(rows[9].removesuffix(";extra")))) == [
        (2, "parent1_first_name", "required")
    ]


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"", [(1, "", "empty_file")]),
        (b"first_name;last_name\r\nLucas;Dupont\r\n", [(1, "student_id", "missing_column")]),
        (b"student_id;level;LEVEL\r\nX;primary;primary\r\n", [(1, "level", "duplicate_column")]),
        (b"student_id;first_name\r\n", [(2, "", "empty_file")]),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x81\x8d", [(1, "", "not_text")]),
    ],
)
def test_a_file_that_is_no_people_csv_is_refused_on_line_1(stub, md, data, found):
    assert problems(imported(stub, md, data)) == found


def test_a_whole_file_of_bad_rows_is_listed_whole(stub, auth_rt, md):
    rows = [f"X{i:04d};Élève;Nom;3A;kindergarten;;;;;;;" for i in range(2000)]
    answer = imported(stub, md, csv_of(*rows))
    assert len(answer.problems) == 2000  # far over gRPC's 8 KB of metadata: they travel in the answer
    assert answer.problems[-1].line == 2001


def test_a_new_parent_of_a_known_unchanged_student_is_linked_to_them(stub, md):
    first = "M009;Jade;Lambert;2A;primaire;;Paul;Lambert;paul@example.be;;;"
    assert counts(imported(stub, md, csv_of(first))) == (1, 1, 0, 1, 0, 1)
    # the student's own cells are the same: only a second parent is new
    answer = imported(stub, md, csv_of(first.replace(";;;", ";Rita;Lambert;rita@example.be")))
    assert counts(answer) == (1, 0, 0, 1, 0, 1)
    (jade,) = stub.ListStudents(pb.ListStudentsRequest(q="jade"), metadata=md).students
    (rita,) = stub.ListParents(pb.ListParentsRequest(q="rita"), metadata=md).parents
    assert list(rita.student_ids) == [jade.id]


def test_a_left_student_in_the_file_is_updated_and_stays_left(stub, md):
    imported(stub, md, csv_of(ROWS[2]))
    (zoe,) = stub.ListStudents(pb.ListStudentsRequest(q="zoe"), metadata=md).students
    stub.LeaveStudent(pb.LeaveStudentRequest(student_id=zoe.id), metadata=md)
    answer = imported(stub, md, csv_of(ROWS[2].replace(";3A;", ";4A;")))
    assert counts(answer) == (1, 0, 1, 0, 0, 0)
    (left,) = stub.ListStudents(pb.ListStudentsRequest(status="left"), metadata=md).students
    assert (left.id, left.class_name, left.status) == (zoe.id, "4A", "left")


def test_an_anonymous_import_is_refused_and_a_huge_file_is_too_large(stub, md, auth_rt):
    err = refused(lambda: stub.ImportPeople(pb.ImportPeopleRequest(csv=csv_of(*ROWS))))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    huge = csv_of(*ROWS) + b"x" * (10 * 1024 * 1024)
    err = refused(lambda: imported(stub, md, huge))
    assert (err.code(), error_code(err)) == (grpc.StatusCode.OUT_OF_RANGE, "too_large")
