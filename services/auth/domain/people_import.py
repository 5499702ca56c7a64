"""What a People CSV would change in a school: its rows (domain/people_csv.py) against what the school
has, read in the import's transaction. Students match by the school's own id (``external_id``),
parents by e-mail; what matches is updated, the rest created, links only ever added. Pure: the
school's rows come in as plain objects (anything with their attributes), the plan goes out, with
the problems only the school's data can show (a new student without a name, an e-mail of another
school's account, two rows naming one parent differently)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.auth.domain.people_csv import ParentEntry, Problem, StudentEntry

STUDENT_FIELDS = ("first_name", "last_name", "class_name", "level", "birth_date")
NEEDED_BY_A_NEW_STUDENT = ("first_name", "last_name", "class_name", "level")
PARENT_NAMES = ("first_name", "last_name")


@dataclass(frozen=True)
class Known:
    """The school's side: its students with one of the file's ids (by external id), every account
    with one of the file's e-mails whatever its school (by e-mail), the links of those accounts."""

    students: Mapping[str, Any]
    accounts: Mapping[str, Sequence[Any]]
    links: set[tuple[str, str]]  # (parent account id, student id)


@dataclass(frozen=True)
class NewParent:
    email: str
    first_name: str
    last_name: str


@dataclass
class Plan:
    new_students: list[StudentEntry] = field(default_factory=list)
    # (the student's row, {column: new value}) for known students with something new
    student_changes: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    new_parents: dict[str, NewParent] = field(default_factory=dict)  # by e-mail, in the file's order
    parent_changes: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    known_parents: dict[str, Any] = field(default_factory=dict)  # e-mail -> account row
    links: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, external id) to add
    known_students: dict[str, Any] = field(default_factory=dict)  # external id -> the file's known rows
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "students_created": len(self.new_students),
            "students_updated": len(self.student_changes),
            "parents_created": len(self.new_parents),
            "parents_updated": len(self.parent_changes),
            "links_created": len(self.links),
        }


def plan_import(entries: Sequence[StudentEntry], school_id: str, known: Known) -> Plan:
    plan = Plan()
    for entry in entries:
        row = known.students.get(entry.external_id)
        if row is None:
            missing = [f for f in NEEDED_BY_A_NEW_STUDENT if getattr(entry, f) is None]
            for name in missing:
                plan.problems.append(
                    Problem(entry.line, name, "required", f"a new student needs their {name}")
                )
            if not missing:
                plan.new_students.append(entry)
            continue
        plan.known_students[entry.external_id] = row
        changes = {
            f: getattr(entry, f)
            for f in STUDENT_FIELDS
            if getattr(entry, f) is not None and getattr(entry, f) != getattr(row, f)
        }
        if changes:
            plan.student_changes.append((row, changes))
    _plan_parents(entries, school_id, known, plan)
    return plan


def _plan_parents(entries: Sequence[StudentEntry], school_id: str, known: Known, plan: Plan) -> None:
    by_email: dict[str, list[ParentEntry]] = {}
    for entry in entries:
        for parent in entry.parents:
            by_email.setdefault(parent.email, []).append(parent)
    for email, mentions in by_email.items():
        names = _agreed_names(mentions, plan.problems)
        accounts = known.accounts.get(email, ())
        ours = [a for a in accounts if a.school_id == school_id and a.role == "parent"]
        first = mentions[0]
        if len(ours) != len(accounts) or len(ours) > 1:
            why = (
                "another account uses this e-mail" if len(ours) != len(accounts) else "several parents use it"
            )
            for m in mentions:
                plan.problems.append(Problem(m.line, f"{m.slot}_email", "email_taken", why))
            continue
        if ours:
            acc = ours[0]
            plan.known_parents[email] = acc
            changes = {n: v for n, v in names.items() if v is not None and v != getattr(acc, n)}
            if changes:
                plan.parent_changes.append((acc, changes))
        elif (first_name := names["first_name"]) is None or (last_name := names["last_name"]) is None:
            for n in PARENT_NAMES:
                if names[n] is None:
                    plan.problems.append(
                        Problem(first.line, f"{first.slot}_{n}", "required", f"a new parent needs their {n}")
                    )
            continue
        else:
            plan.new_parents[email] = NewParent(email, first_name, last_name)
    _plan_links(entries, known, plan)


def _agreed_names(mentions: list[ParentEntry], problems: list[Problem]) -> dict[str, str | None]:
    """The names the rows give one parent (the first given of each); a row that gives other ones is
    a problem (the same e-mail, two people?)."""
    names: dict[str, str | None] = {n: None for n in PARENT_NAMES}
    said_on: dict[str, int] = {}
    for m in mentions:
        for n in PARENT_NAMES:
            value = getattr(m, n)
            if value is None:
                continue
            if names[n] is None:
                names[n], said_on[n] = value, m.line
            elif value.casefold() != str(names[n]).casefold():
                problems.append(
                    Problem(
                        m.line,
                        f"{m.slot}_{n}",
                        "conflicting_parent",
                        f"line {said_on[n]} gives this e-mail another {n}",
                    )
                )
    return names


def _plan_links(entries: Sequence[StudentEntry], known: Known, plan: Plan) -> None:
    """Each row's parents linked to its student, unless they are already."""
    for entry in entries:
        student = known.students.get(entry.external_id)
        for parent in entry.parents:
            acc = plan.known_parents.get(parent.email)
            if acc is None and parent.email not in plan.new_parents:
                continue  # refused above
            if acc is not None and student is not None and (acc.id, student.id) in known.links:
                continue
            plan.links.append((parent.email, entry.external_id))
