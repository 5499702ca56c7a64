"""A family's erasure and the school's retention policy (issue #21; docs/family-data.md).

Auth decides who is erased and says so (``auth.family.erased.v1``, ids only); every service then erases
its own part. Here an erased parent's account stays as a tombstone (ids in other services still point
somewhere): names replaced by ``kit.privacy.pseudonym``, e-mail and username by unique placeholders,
no password, national number, second factor, session nor token, disabled. Their children who left and
have no other guardian not erased are erased the same way; a child still enrolled, or with another
guardian, is kept as they are. The ``erasures`` table says who was erased (a second request answers
the same and publishes nothing); the audit log's earlier entries lose the family's names.

``run_retention`` is the daily job: families whose children all left more than ``personal_years``
school years ago are erased (reason ``retention``), and so are such students left without a guardian
not erased (a child kept at a parent's erasure because still enrolled, who left since).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import InvalidRequest, NotFound
from kit.family_data import purge_published
from kit.identity import Identity
from kit.privacy import ERASED_PARENT, ERASED_STUDENT, pseudonym
from services.auth import db, events
from services.auth.db import aware, directory, roster
from services.auth.db import erasure as store
from services.auth.domain import retention as rules
from services.auth.domain.people import search_key
from services.auth.domain.usernames import display_name
from services.auth.use_cases.common import Deps, log, school_today
from services.auth.use_cases.schools import operator

REQUEST, RETENTION = "request", "retention"


def erase_family(deps: Deps, who: Identity, parent_id: str, confirm: bool) -> pb.EraseFamilyResponse:
    """Staff: erase a parent of the school and those of their children who left and have no other
    guardian not erased (API.md POST /api/v1/admin/parents/{id}/erase). ``confirm`` must be true.
    Another school's account, a staff account or none: NotFound. Erased already: the same answer,
    ``already_erased``, nothing written."""
    who.require_staff()
    if not confirm:
        raise InvalidRequest("confirm the erasure", fields={"confirm": "must be true"})
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        parent = directory.parent_of_school(s, parent_id, who.school_id, lock=True) if parent_id else None
        if parent is None:
            raise NotFound("no such parent")
        done = store.erasure(s, "parent", parent.id)
        if done is None:
            _erase(deps, s, who, parent, REQUEST, now)
            done = store.erasure(s, "parent", parent.id)
            already = False
        else:
            already = True
        assert done is not None
        children = [c.id for c in roster.all_children_of(s, parent)]
        erased = store.erased(s, "student", children)
    return pb.EraseFamilyResponse(
        parent_id=parent.id,
        erased_student_ids=[c for c in children if c in erased],
        kept_student_ids=[c for c in children if c not in erased],
        already_erased=already,
        keep_financial_until=done.keep_financial_until.isoformat(),
    )


def get_retention_policy(deps: Deps, who: Identity) -> pb.RetentionPolicy:
    """Staff: the school's retention policy (the defaults, 1 and 7 years, until it sets one)."""
    who.require_staff()
    with deps.db.unit_of_work() as s:
        p = store.policy(s, who.school_id)
    return pb.RetentionPolicy(personal_years=p.personal_years, financial_years=p.financial_years)


def update_retention_policy(
    deps: Deps, who: Identity, personal_years: int, financial_years: int
) -> pb.RetentionPolicy:
    """Staff: change the school's retention policy (personal_years 1-10, financial_years 7-30, else
    InvalidRequest with fields); a real change is audited."""
    who.require_staff()
    errors = rules.policy_errors(personal_years, financial_years)
    if errors:
        raise InvalidRequest("the retention policy is not valid", fields=errors)
    wanted = rules.Policy(personal_years, financial_years)
    with deps.db.unit_of_work() as s:
        before = store.policy(s, who.school_id)
        if wanted != before:
            store.save_policy(s, who.school_id, wanted, deps.clock(), who.account_id)
            audit.record(
                deps,
                s,
                who,
                "auth.retention_policy.updated",
                "school",
                who.school_id,
                f"personal data {before.personal_years} → {personal_years} years, "
                f"financial records {before.financial_years} → {financial_years} years",
            )
    return pb.RetentionPolicy(personal_years=personal_years, financial_years=financial_years)


def run_retention(deps: Deps) -> dict[str, list[str]]:
    """Every school's families and left students past their retention period, erased (reason
    ``retention``), one transaction each; what was erased. A second run finds nothing more."""
    with deps.db.unit_of_work() as s:
        school_ids = store.school_ids(s)
    out: dict[str, list[str]] = {"parent_ids": [], "student_ids": []}
    today = school_today(deps)
    for school_id in school_ids:
        who = operator(school_id)
        with deps.db.unit_of_work() as s:
            years = store.policy(s, school_id).personal_years
            due = [
                parent_id
                for parent_id, children in store.families(s, school_id).items()
                if all(not c.active and rules.erasable(c.left_on, years, today) for c in children)
            ]
        for parent_id in due:
            with deps.db.unit_of_work() as s:
                parent = directory.parent_of_school(s, parent_id, school_id, lock=True)
                if parent is None or store.erasure(s, "parent", parent_id) is not None:
                    continue  # erased meanwhile
                out["student_ids"] += _erase(deps, s, who, parent, RETENTION, deps.clock())
                out["parent_ids"].append(parent_id)
        with deps.db.unit_of_work() as s:
            orphans = _orphans(s, school_id, years, today)
            if orphans:
                _erase_students(deps, s, who, orphans, RETENTION, deps.clock(), parent=None)
                out["student_ids"] += [o.id for o in orphans]
    log.info(
        "retention applied", extra={"parents": len(out["parent_ids"]), "students": len(out["student_ids"])}
    )
    return out


# -- steps ------------------------------------------------------------------------------------------


def _erase(deps: Deps, s: Session, who: Identity, parent, reason: str, now: datetime) -> list[str]:
    """Erase ``parent`` and those of their children who left with no other guardian not erased, in
    the transaction of ``s``; the ids of the children erased."""
    children = roster.all_children_of(s, parent)
    ids = [c.id for c in children]
    others = roster.parent_ids_by_student(s, ids)
    erased_parents = store.erased(s, "parent", [p for ps in others.values() for p in ps])
    already = store.erased(s, "student", ids)
    leaving = [
        c
        for c in children
        if c.id not in already
        and not c.active
        and all(p == parent.id or p in erased_parents for p in others.get(c.id, []))
    ]
    _erase_students(deps, s, who, leaving, reason, now, parent=parent)
    return [c.id for c in leaving]


def _erase_students(
    deps: Deps, s: Session, who: Identity, students: Sequence, reason: str, now: datetime, *, parent
) -> None:
    """Tombstone ``parent`` (or none) and ``students``, redact the audit log, publish the erasure,
    audit it, purge the published outbox."""
    until = rules.keep_financial_until(school_today(deps), store.policy(s, who.school_id).financial_years)
    # (needle, pseudonym) for the audit log: whole names, e-mail, username
    whole: list[tuple[str, str]] = []
    ids: list[str] = []
    subjects: list[tuple[str, str]] = []
    if parent is not None:
        label = pseudonym(ERASED_PARENT, parent.id)
        whole += _names(parent.first_name, parent.last_name, label)
        whole += [(parent.email, label), (parent.username, label)]
        store.tombstone_account(
            s,
            parent.id,
            {
                "first_name": label,
                "last_name": "",
                "username": f"erased-{parent.id}",
                "email": f"erased-{parent.id}@invalid",
                "password_hash": None,
                "password_changed_at": None,
                "national_number": None,
                "search_name": search_key(label, ""),
                "disabled_at": parent.disabled_at or now,
                "disabled_by": parent.disabled_by if parent.disabled_at else (who.account_id or None),
            },
        )
        store.delete_sign_in_material(s, parent.id, parent.username)
        ids.append(parent.id)
        subjects.append(("parent", parent.id))
    # a child's first name alone ("Bulletin de Barnabé", a document's title in documents' audit
    # entry) goes too when no other student of the school has it: then it can only be theirs
    others = store.other_first_names(s, who.school_id, [st.id for st in students]) if students else set()
    for st in students:
        label = pseudonym(ERASED_STUDENT, st.id)
        whole += _names(st.first_name, st.last_name, label)
        if len(st.first_name.strip()) >= 3 and st.first_name.casefold() not in others:
            whole.append((st.first_name, label))
        store.tombstone_student(
            s,
            st.id,
            {
                "first_name": label,
                "last_name": "",
                "birth_date": None,
                "national_number": None,
                "external_id": None,
                "severe_disability": False,
                "search_name": search_key(label, ""),
            },
        )
        ids.append(st.id)
        subjects.append(("student", st.id))
    store.record_erasures(s, who.school_id, subjects, reason, now, until)
    redacted = _redact_audit(s, who.school_id, ids, whole, now)
    student_ids = [st.id for st in students]
    parent_ids = [parent.id] if parent is not None else []
    deps.emit(s, events.family_erased(who.school_id, parent_ids, student_ids, reason, now, until))
    audit.record(
        deps,
        s,
        who,
        "auth.family.erased",
        "account" if parent is not None else "student",
        parent.id if parent is not None else student_ids[0],
        f"{reason}: parents {' '.join(parent_ids) or '-'}; students erased {' '.join(student_ids) or '-'}",
    )
    purge_published(s, db.outbox)
    log.info(
        "family erased",
        extra={"parent_ids": parent_ids, "student_ids": student_ids, "reason": reason, "redacted": redacted},
    )


def _names(first: str, last: str, label: str) -> list[tuple[str, str]]:
    """A person's whole name as it may be written, both orders."""
    return [(display_name(first, last), label), (f"{last} {first}", label)]


def _redact_audit(
    s: Session, school_id: str, ids: list[str], whole: list[tuple[str, str]], now: datetime
) -> int:
    """Take the family out of the school's audit log: an entry about or by them keeps who did what to
    which id and when, but not its detail (it may hold their names of any time, a former one
    included), the parent as actor named by their pseudonym; in any other entry their whole names,
    e-mail and username are replaced by their pseudonyms, and an erased child's first name alone when
    no other student of the school has it (a first name shared with another child stays: it may be
    theirs). How many entries changed."""
    changed = 0
    for row in store.entries_naming(s, school_id, ids, [n for n, _ in whole]):
        if row.object_id in ids or row.actor_id in ids:
            detail = ""
        else:
            detail = rules.redact(row.detail, whole)
        actor = (
            pseudonym(ERASED_PARENT, row.actor_id)
            if row.actor_id in ids
            else rules.redact(row.actor_name, whole)
        )
        if (actor, detail) != (row.actor_name, row.detail):
            last = aware(row.redacted_at) if row.redacted_at is not None else None
            # the trigger lets a redaction through only if redacted_at moves
            when = now if last is None or now > last else last + timedelta(microseconds=1)
            store.redact_entry(s, row.seq, actor, detail, when)
            changed += 1
    return changed


def _orphans(s: Session, school_id: str, years: int, today: date) -> list:
    """The school's students who left past the retention period, not erased, without a guardian not
    erased (a family's erasure kept them while enrolled, or they never had one)."""
    rows = [
        r for r in store.left_students_not_erased(s, school_id) if rules.erasable(r.left_on, years, today)
    ]
    links = roster.parent_ids_by_student(s, [r.id for r in rows])
    erased_parents = store.erased(s, "parent", [p for ps in links.values() for p in ps])
    return [r for r in rows if all(p in erased_parents for p in links.get(r.id, []))]
