"""The People CSV import (API.md): the school's whole list of students and parents from the file its
administration software or a spreadsheet saves, checked whole before anything is written.

A dry run reads and counts. The import itself is one transaction of a few bulk statements, whatever
the file's size (1,500 students with two parents each take a few seconds: bench/bench_import.py), so
it answers when done and needs no status to poll. The school's row stays locked meanwhile: one
import at a time per school. New parents get their connection token (mailed through
auth.token.issued.v1, as CreateParent's); known parents get none; a second import of the same file
changes nothing and announces nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import TooLarge
from kit.identity import Identity
from services.auth import events
from services.auth.db import directory, roster
from services.auth.domain import people as rules
from services.auth.domain.people_csv import COLUMNS, Problem, StudentEntry, read_people_csv
from services.auth.domain.people_csv import TooLarge as FileTooLarge
from services.auth.domain.people_import import Known, Plan, plan_import
from services.auth.domain.tokens import hash_token, new_connection_token, token_expires_at
from services.auth.domain.usernames import candidates_prefix, make_username, username_base
from services.auth.events import Event
from services.auth.use_cases.common import Deps, log, require_school, retrying, school_today


def import_people(
    deps: Deps, who: Identity, data: bytes, dry_run: bool = False, filename: str = ""
) -> pb.ImportPeopleResponse:
    """Staff: import the People CSV into their school, or with ``dry_run`` only say what it would
    do. Every problem of the file is in the answer's ``problems`` (then nothing was written); a
    file over 10 MB or 20,000 rows: TooLarge."""
    who.require_staff()
    try:
        entries, problems, rows = read_people_csv(data or b"", school_today(deps))
    except FileTooLarge as err:
        raise TooLarge(f"the file is too large ({err})", code="too_large") from None
    if problems and not entries:  # the file itself (its header, its encoding): nothing to plan
        return _refused(rows, problems, dry_run)
    now = deps.clock()

    def run(s: Session) -> pb.ImportPeopleResponse:
        require_school(s, who.school_id)
        if not dry_run and not problems:
            roster.lock_school(s, who.school_id)
        # the good rows planned too, so that the answer lists what only the school's data shows
        plan = plan_import(entries, who.school_id, _known(s, who.school_id, entries))
        if problems or plan.problems:
            return _refused(rows, [*problems, *plan.problems], dry_run)
        counts = plan.counts()
        if not dry_run and any(counts.values()):
            _write(deps, s, who, plan, now)
            audit.record(
                deps,
                s,
                who,
                "auth.people.imported",
                "import",
                str(uuid.uuid4()),
                f"{filename or 'people.csv'}: {rows} rows, "
                + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()),
            )
        answer = pb.ImportPeopleResponse(rows=rows, dry_run=dry_run)
        for name, value in counts.items():
            setattr(answer, name, value)
        return answer

    if dry_run:
        with deps.db.unit_of_work() as s:
            answer = run(s)
    else:
        answer = retrying(deps, run)  # a username or an id taken by someone else at the same moment
    log.info(
        "people imported" if not dry_run else "people import checked",
        extra={"rows": rows, "problems": len(answer.problems), "students_created": answer.students_created},
    )
    return answer


def _refused(rows: int, problems: list[Problem], dry_run: bool) -> pb.ImportPeopleResponse:
    order = {name: i for i, name in enumerate(COLUMNS)}
    return pb.ImportPeopleResponse(
        rows=rows,
        dry_run=dry_run,
        problems=[
            pb.ImportProblem(line=p.line, column=p.column, code=p.code, message=p.message)
            for p in sorted(problems, key=lambda p: (p.line, order.get(p.column, -1)))
        ],
    )


def _known(s: Session, school_id: str, entries: list[StudentEntry]) -> Known:
    """What the school (and every account with one of the file's e-mails) has now."""
    emails = sorted({p.email for e in entries for p in e.parents})
    accounts = roster.accounts_by_emails(s, emails)
    return Known(
        students=roster.students_by_external_id(s, school_id, [e.external_id for e in entries]),
        accounts=accounts,
        links=roster.links_between(s, [a.id for rows in accounts.values() for a in rows]),
    )


def _write(deps: Deps, s: Session, who: Identity, plan: Plan, now: datetime) -> None:
    """The plan, in a few bulk statements, and its events in one multi-row insert."""
    school_id = who.school_id
    manager = directory.account(s, who.account_id)
    language = manager.language if manager is not None else "fr"
    said: list[Event] = []

    # students: the new ones, then the changes (with what they were)
    # every student of the file, changed or not: a new parent may be linked to one unchanged
    ids = {ext: row.id for ext, row in plan.known_students.items()}
    new_students = [_student_row(e, school_id, now) for e in plan.new_students]
    roster.insert_students(s, new_students)
    for row in new_students:
        ids[row["external_id"]] = row["id"]
        said.append(events.student_created(row["id"], school_id, row["class_name"], row["level"]))
    roster.update_many(
        s, "students", [_with_search_key(row, changes) for row, changes in plan.student_changes]
    )
    for row, changes in plan.student_changes:
        after = SimpleNamespace(**{**row._mapping, **changes})
        said.append(events.student_updated(after, row.class_name, row.level))

    # parents: the new ones (usernames from their names), the known ones' new names, the links
    accounts = {email: acc.id for email, acc in plan.known_parents.items()}
    new_parents = _parent_rows(s, plan, school_id, language, now)
    roster.insert_accounts(s, new_parents)
    accounts.update({row["email"]: row["id"] for row in new_parents})
    roster.update_many(
        s,
        "accounts",
        [_with_search_key(acc, changes, acc.email) for acc, changes in plan.parent_changes],
    )
    roster.insert_links(
        s,
        [
            {"parent_id": accounts[email], "student_id": ids[ext], "school_id": school_id, "created_at": now}
            for email, ext in plan.links
        ],
    )
    touched = {accounts[email] for email, _ in plan.links} | {acc.id for acc, _ in plan.parent_changes}
    known_touched = [acc for acc in plan.known_parents.values() if acc.id in touched]
    children = roster.children_by_parent(s, [*touched])
    changed_names = {acc.id: changes for acc, changes in plan.parent_changes}
    for acc in known_touched:
        now_acc = SimpleNamespace(**{**acc._mapping, **changed_names.get(acc.id, {})})
        said.append(events.parent_updated(now_acc, children.get(acc.id, [])))
    tokens = []
    for row in new_parents:
        acc = SimpleNamespace(**row, disabled_at=None)
        kids = children.get(acc.id, [])
        said.append(events.parent_created(acc, [k.id for k in kids], {k.id: k.first_name for k in kids}))
        token, expires = new_connection_token(), token_expires_at(now, "created")
        tokens.append(
            {
                "id": str(uuid.uuid4()),
                "school_id": school_id,
                "account_id": acc.id,
                "token_hash": hash_token(token),
                "reason": "created",
                "issued_at": now,
                "expires_at": expires,
            }
        )
        said.append(events.token_issued(acc, token, "created", expires))
    roster.insert_tokens(s, tokens)
    deps.emit_many(s, said)


def _student_row(e: StudentEntry, school_id: str, now: datetime) -> dict[str, Any]:
    assert e.first_name and e.last_name and e.class_name and e.level  # plan_import saw to it
    return {
        "id": str(uuid.uuid4()),
        "school_id": school_id,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "class_name": e.class_name,
        "level": e.level,
        "active": True,
        "created_at": now,
        "external_id": e.external_id,
        "birth_date": e.birth_date,
        "search_name": rules.search_key(e.first_name, e.last_name),
    }


def _with_search_key(row, changes: dict[str, Any], *more: str) -> dict[str, Any]:
    """A row's changes for update_many, its search key again when a name changed."""
    out = {"id": row.id, **changes}
    if "first_name" in changes or "last_name" in changes:
        first, last = changes.get("first_name", row.first_name), changes.get("last_name", row.last_name)
        out["search_name"] = rules.search_key(first, last, *more)
    return out


def _parent_rows(
    s: Session, plan: Plan, school_id: str, language: str, now: datetime
) -> list[dict[str, Any]]:
    """The new parents' account rows, each with the first free username for their names: the bases
    looked up at once, and every username that could be in the way of those taken (or wanted twice)."""
    bases = {email: username_base(p.first_name, p.last_name) for email, p in plan.new_parents.items()}
    taken = roster.usernames_taken(s, list(bases.values()))
    wanted: dict[str, int] = {}
    for base in bases.values():
        wanted[base] = wanted.get(base, 0) + 1
    crowded = [candidates_prefix(b) for b in bases.values() if b in taken or wanted[b] > 1]
    taken |= roster.usernames_like(s, crowded)
    rows = []
    for email, p in plan.new_parents.items():
        username = make_username(p.first_name, p.last_name, taken.__contains__)
        taken.add(username)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "school_id": school_id,
                "role": "parent",
                "username": username,
                "email": email,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "language": language,
                "created_at": now,
                "search_name": rules.search_key(p.first_name, p.last_name, email),
            }
        )
    return rows
