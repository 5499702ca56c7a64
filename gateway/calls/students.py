"""The school's students as its staff keep them (API.md "School back office"): auth's list (search,
class, active or left, a page at a time), one student with their parents, a change, a leaver, the
year's turn (a whole class moved); and finance's wallets and invoices of one student, asked at once.

The JSON API (``gateway.api.students``) and the pages (``gateway.pages.students``) call these; auth
checks every rule and that each id is the caller's school's (another school's student: NotFound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc

from cartable.auth.v1 import auth_pb2
from cartable.finance.v1 import finance_pb2
from gateway.clients import rpc, rpc_future
from kit.errors import from_rpc_error

STATUSES = ("active", "left")
LEVELS = ("nursery", "primary", "secondary")  # nursery: maternelle / kleuter (issue #19)
# The fields a manager may change (UpdateStudentRequest's optional fields, API.md's PATCH body).
EDITABLE = (
    "first_name",
    "last_name",
    "class_name",
    "level",
    "birth_date",
    "external_id",
    "national_number",
    "severe_disability",  # a boolean (the tax certificate 281.86's age limit 21; issue #19)
)
# A whole class moves in one transaction (one event per student): longer than a page's read.
MOVE_TIMEOUT = 30.0
FINANCE_TIMEOUT = 5.0


@dataclass(frozen=True)
class StudentPage:
    students: list[auth_pb2.Student]
    next_cursor: str  # "" on the last page


def find_students(
    q: str = "", class_name: str = "", status: str = "active", limit: int = 50, cursor: str = ""
) -> StudentPage:
    """A page of the school's students (by class, last name, first name): ``q`` any part of a
    name (accents and case ignored), one ``class_name``, ``status`` active or left, ``limit`` 1-200
    from ``cursor`` (a ``next_cursor`` given before; auth refuses another with fields.cursor)."""
    resp = rpc(
        "auth",
        "ListStudents",
        auth_pb2.ListStudentsRequest(
            q=q, class_name=class_name, status=status or "active", limit=limit, cursor=cursor
        ),
    )
    return StudentPage(list(resp.students), resp.next_cursor)


def get_student(student_id: str) -> auth_pb2.GetStudentResponse:
    """One student of the school (active or left) with their parents; the national number in full."""
    return rpc("auth", "GetStudent", auth_pb2.GetStudentRequest(student_id=student_id))


def update_student(student_id: str, changes: dict[str, str | bool]) -> auth_pb2.Student:
    """Change the fields named in ``changes`` (of EDITABLE; "" clears birth_date, external_id and
    national_number); the student as they are now. Bad values: InvalidRequest with fields; another
    student's external id: Conflict ``external_id_taken``."""
    req = auth_pb2.UpdateStudentRequest(student_id=student_id)
    for name, value in changes.items():
        setattr(req, name, value)
    return rpc("auth", "UpdateStudent", req).student


def leave_student(student_id: str, left_on: str = "") -> auth_pb2.Student:
    """The student leaves on ``left_on`` (YYYY-MM-DD; empty: today on the school's clock)."""
    req = auth_pb2.LeaveStudentRequest(student_id=student_id, left_on=left_on)
    return rpc("auth", "LeaveStudent", req).student


def move_class(from_class: str, to_class: str) -> int:
    """Every active student of ``from_class`` moves to ``to_class`` at once; how many moved.
    auth's refusals name ``from_class`` / ``to_class``."""
    req = auth_pb2.MoveClassRequest(from_class=from_class, to_class=to_class)
    return rpc("auth", "MoveClass", req, timeout=MOVE_TIMEOUT).moved


def active_classes() -> dict[str, int]:
    """The classes of the school's active students and how many each has, in their order."""
    students = rpc("auth", "ListStudents", auth_pb2.ListStudentsRequest()).students  # unpaged lookup
    counts: dict[str, int] = {}
    for s in students:
        counts[s.class_name] = counts.get(s.class_name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: _class_key(kv[0])))


def _class_key(name: str) -> tuple:
    """``2A`` before ``10A``: digits compared as numbers."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", name))


def student_finance(student_id: str) -> tuple[list[finance_pb2.Wallet], list[finance_pb2.Invoice]]:
    """The student's wallets and invoices, both asked of finance at once (call after auth said the
    student is the school's: finance scopes by school too)."""
    wallets = rpc_future(
        "finance",
        "ListWallets",
        finance_pb2.ListWalletsRequest(student_id=student_id),
        timeout=FINANCE_TIMEOUT,
    )
    invoices = rpc_future(
        "finance",
        "ListInvoices",
        finance_pb2.ListInvoicesRequest(student_id=student_id),
        timeout=FINANCE_TIMEOUT,
    )
    try:
        return list(wallets.result().wallets), list(invoices.result().invoices)
    except grpc.RpcError as exc:
        wallets.cancel()
        invoices.cancel()
        raise from_rpc_error(exc) from None


@dataclass(frozen=True)
class StudentMoney:
    """What finance holds on one student for a statement of account: the wallets as they stand,
    the invoices, and every wallet movement from ``first`` to today (oldest first)."""

    wallets: list[finance_pb2.Wallet]
    invoices: list[finance_pb2.Invoice]
    operations: list[finance_pb2.Operation]


def student_money(student_id: str, first: str, today: str) -> StudentMoney:
    """The student's wallets, invoices and wallet movements since ``first`` (YYYY-MM-DD, the school's
    days, at most 366 days before ``today``), asked of finance at once (call after auth said the student
    is the school's: finance scopes by school too)."""
    period = finance_pb2.PeriodFilter(period="custom", from_date=first, to_date=today)
    calls = [
        rpc_future(
            "finance",
            "ListWallets",
            finance_pb2.ListWalletsRequest(student_id=student_id),
            timeout=FINANCE_TIMEOUT,
        ),
        rpc_future(
            "finance",
            "ListInvoices",
            finance_pb2.ListInvoicesRequest(student_id=student_id),
            timeout=FINANCE_TIMEOUT,
        ),
        rpc_future(
            "finance",
            "ListOperations",
            finance_pb2.ListOperationsRequest(student_id=student_id, period=period),
            timeout=FINANCE_TIMEOUT,
        ),
    ]
    try:
        wallets, invoices, operations = (c.result() for c in calls)
    except grpc.RpcError as exc:
        for c in calls:
            c.cancel()
        raise from_rpc_error(exc) from None
    return StudentMoney(list(wallets.wallets), list(invoices.invoices), list(reversed(operations.operations)))
