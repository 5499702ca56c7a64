"""Parents as the school's manager finds and keeps them: the list (by name or e-mail, by status, a
page at a time), one parent with their children, and a change of names, e-mail or national number.

The caller's school only: another school's parent is NOT_FOUND, checked here. An e-mail is one
account's only (compared lower-case, whatever the school: a password reset by e-mail must name one
person). A change is announced (auth.parent.updated.v1: notifications' contact book) and audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest, NotFound
from kit.identity import Identity
from services.auth import events, views
from services.auth.db import directory, roster
from services.auth.domain import people as rules
from services.auth.domain.accounts import STATUSES
from services.auth.domain.paging import encode_cursor
from services.auth.use_cases.common import (
    Deps,
    email_field,
    log,
    page_of,
    refuse_erased,
    seal_national_number,
    shown_national_number,
    unique,
)


def list_parents(
    deps: Deps,
    who: Identity,
    student_ids: Iterable[str] = (),
    status: str = "",
    *,
    q: str = "",
    limit: int = 0,
    cursor: str = "",
) -> pb.ListParentsResponse:
    """Staff: their school's parents, all or those of the given students, all or those with a
    status (invited, active, disabled), all or those whose names or e-mail hold ``q`` (accents and
    case ignored), with their children, by name; a page of ``limit`` (1-200; 50, or everything
    without ``q`` nor ``cursor``) from ``cursor``."""
    who.require_staff()
    ids = unique(student_ids)
    status = (status or "").strip().lower()
    if status and status not in STATUSES:
        raise InvalidRequest("unknown status", fields={"status": "one of " + ", ".join(STATUSES)})
    term = rules.search_term(q)
    size, after = page_of(limit, cursor, paged=bool(term or cursor), values=3)
    with deps.db.unit_of_work() as s:
        parents = directory.find_parents(
            s,
            who.school_id,
            ids,
            status,
            term=term,
            after=after,
            limit=size + 1 if size is not None else None,
        )
        more = size is not None and len(parents) > size
        parents = parents[:size] if size is not None else parents
        links = directory.children_ids_by_parent(s, [p.id for p in parents])
    return pb.ListParentsResponse(
        parents=[
            views.parent_contact(p, links.get(p.id, []), shown_national_number(deps, p.national_number))
            for p in parents
        ],
        next_cursor=encode_cursor(directory.parent_sort_values(parents[-1])) if more else "",
    )


def get_parent(deps: Deps, who: Identity, parent_id: str) -> pb.GetParentResponse:
    """Staff: one parent of the school with their children (active and left), the national number
    in full."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        acc = _parent(s, who, parent_id)
        children = roster.all_children_of(s, acc)
        links = directory.children_ids_by_parent(s, [acc.id]).get(acc.id, [])
        return pb.GetParentResponse(
            parent=views.parent_contact(
                acc, links, shown_national_number(deps, acc.national_number, full=True)
            ),
            children=[views.student(c) for c in children],
        )


def update_parent(deps: Deps, who: Identity, req: pb.UpdateParentRequest) -> pb.UpdateParentResponse:
    """Staff: change the fields the request sets (names; e-mail, refused with Conflict
    ``email_taken`` when another account has it; national number, "" clears it). A real change is
    announced and audited; none changes nothing."""
    who.require_staff()
    wanted = _checked_changes(req)
    with deps.db.unit_of_work() as s:
        acc = _parent(s, who, req.parent_id, lock=True)
        refuse_erased(s, acc.id)
        changes = {}
        for name, value in wanted.items():
            now = (
                shown_national_number(deps, acc.national_number, full=True) or None
                if name == "national_number"
                else getattr(acc, name)
            )
            if now != value:
                changes[name] = value
        if "email" in changes and directory.other_account_with_email(s, str(changes["email"]), acc.id):
            raise Conflict("another account uses this e-mail address", code="email_taken")
        if changes:
            values = dict(changes)
            if "national_number" in values:
                values["national_number"] = seal_national_number(deps, str(values["national_number"] or ""))
            values["search_name"] = rules.search_key(
                str(changes.get("first_name", acc.first_name)),
                str(changes.get("last_name", acc.last_name)),
                str(changes.get("email", acc.email)),
            )
            directory.update_account(s, acc.id, values)
            acc = _parent(s, who, acc.id)
            deps.emit(s, events.parent_updated(acc, roster.all_children_of(s, acc)))
            said = [f"email {changes['email']}" if n == "email" else n for n in sorted(changes)]
            audit.record(
                deps,
                s,
                who,
                "auth.parent.updated",
                "account",
                acc.id,
                f"{acc.first_name} {acc.last_name}: {', '.join(said)}",
            )
        links = directory.children_ids_by_parent(s, [acc.id]).get(acc.id, [])
        answer = pb.UpdateParentResponse(
            parent=views.parent_contact(acc, links, shown_national_number(deps, acc.national_number))
        )
    if changes:
        log.info("parent updated", extra={"account_id": acc.id, "fields": sorted(changes)})
    return answer


def _parent(s, who: Identity, parent_id: str, *, lock: bool = False):
    acc = directory.parent_of_school(s, parent_id or "", who.school_id, lock=lock) if parent_id else None
    if acc is None:
        raise NotFound("no such parent")
    return acc


def _checked_changes(req: pb.UpdateParentRequest) -> dict[str, object]:
    errors: dict[str, str] = {}
    out: dict[str, object] = {}
    for name in ("first_name", "last_name"):
        if req.HasField(name):
            try:
                out[name] = rules.clean_name(getattr(req, name))
            except rules.BadValue as bad:
                errors[name] = bad.message
    if req.HasField("email"):
        out["email"] = email_field(req.email, errors)
    if req.HasField("national_number"):
        try:
            out["national_number"] = (
                rules.clean_national_number(req.national_number) if req.national_number.strip() else None
            )
        except rules.BadValue as bad:
            errors["national_number"] = bad.message
    if errors:
        raise InvalidRequest("the parent is not valid", fields=errors)
    return out
