"""A student's severe disability flag (the tax certificate 281.86 counts childcare until 21, issue
#19): staff set and clear it, see it in GetStudent and the list; it is kept when an update leaves it
unset, and audited by name only."""

from __future__ import annotations

from sqlalchemy import select

from cartable.auth.v1 import auth_pb2 as pb
from services.auth.db import students as students_table
from services.auth.tests.integration.test_students import md, pupils, school  # noqa: F401 (fixtures)


def test_staff_set_keep_and_clear_the_flag(stub, auth_rt, md, pupils):  # noqa: F811
    lucas = pupils["Lucas"]
    assert lucas.severe_disability is False
    got = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=lucas.id, severe_disability=True), metadata=md
    ).student
    assert got.severe_disability is True
    kept = stub.UpdateStudent(pb.UpdateStudentRequest(student_id=lucas.id, class_name="4A"), metadata=md)
    assert kept.student.severe_disability is True
    assert stub.GetStudent(pb.GetStudentRequest(student_id=lucas.id), metadata=md).student.severe_disability
    listed = stub.ListStudents(pb.ListStudentsRequest(student_ids=[lucas.id]), metadata=md).students
    assert [s.severe_disability for s in listed] == [True]
    with auth_rt.db.unit_of_work() as s:
        assert (
            s.execute(
                select(students_table.c.severe_disability).where(students_table.c.id == lucas.id)
            ).scalar()
            is True
        )
    cleared = stub.UpdateStudent(
        pb.UpdateStudentRequest(student_id=lucas.id, severe_disability=False), metadata=md
    ).student
    assert cleared.severe_disability is False
    assert pupils["Noé"].severe_disability is False
