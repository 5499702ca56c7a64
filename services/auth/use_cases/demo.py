"""The local run's demo school: what ``python -m services.auth seed-demo`` runs (devtools/seed.py)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from services.auth import events
from services.auth.db import directory
from services.auth.use_cases.common import Deps, log
from services.auth.use_cases.people import add_parent, add_student

DEMO_SCHOOL_NAME = "École Cartable Démo"


@dataclass
class DemoSeed:
    """What ``seed-demo`` prints (no RPC answers with it)."""

    school_id: str
    created: bool
    staff: dict[str, Any] = field(default_factory=dict)
    parent: dict[str, Any] = field(default_factory=dict)
    students: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "school_id": self.school_id,
            "created": self.created,
            "staff": self.staff,
            "parent": self.parent,
            "students": self.students,
        }


def seed_demo(deps: Deps) -> DemoSeed:
    """The local run's demo: "École Cartable Démo" with a manager and a parent of two children in
    different classes, passwords strong, random and set directly (no mail). When the demo school
    exists already, nothing changes and what exists is described (passwords ``None``: only their
    hashes are known)."""
    staff_password = secrets.token_urlsafe(18)
    parent_password = secrets.token_urlsafe(18)
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        school_id = directory.first_school_named(s, DEMO_SCHOOL_NAME)
        if school_id is not None:
            return _describe(s, school_id)
    hashes = deps.hasher.hash(staff_password), deps.hasher.hash(parent_password)
    with deps.db.unit_of_work() as s:
        school_id = str(uuid.uuid4())
        directory.insert_school(s, school_id, DEMO_SCHOOL_NAME, now)
        staff = directory.insert_account(
            s,
            school_id=school_id,
            role="staff",
            first="Claire",
            last="Martin",
            email="direction@demo.cartable.local",
            language="fr",
            now=now,
            password_hash=hashes[0],
        )
        deps.emit(s, events.staff_updated(staff))
        kids = [
            add_student(deps, s, school_id, "Lucas", "Dupont", "3A", "primary", now),
            add_student(deps, s, school_id, "Emma", "Dupont", "1S2", "secondary", now),
        ]
        parent = add_parent(
            deps,
            s,
            school_id,
            "Marie",
            "Dupont",
            "marie.dupont@demo.cartable.local",
            "fr",
            [k.id for k in kids],
            now,
            password_hash=hashes[1],
        )
    log.info("demo school created", extra={"school_id": school_id})
    return DemoSeed(
        school_id=school_id,
        created=True,
        staff={"username": staff.username, "password": staff_password, "account_id": staff.id},
        parent={"username": parent.username, "password": parent_password, "account_id": parent.id},
        students=[_student(k) for k in sorted(kids, key=lambda k: (k.first_name, k.last_name, k.id))],
    )


def _describe(s: Session, school_id: str) -> DemoSeed:
    staff = directory.first_account_of(s, school_id, "staff")
    parent = directory.first_account_of(s, school_id, "parent")
    kids = [_student(c) for c in directory.children_of(s, parent)] if parent is not None else []
    return DemoSeed(
        school_id=school_id,
        created=False,
        staff={"username": staff.username, "password": None, "account_id": staff.id} if staff else {},
        parent={"username": parent.username, "password": None, "account_id": parent.id} if parent else {},
        students=kids,
    )


def _student(k) -> dict[str, str]:
    """A student (row or message) as the command prints it."""
    return {
        "id": k.id,
        "first_name": k.first_name,
        "last_name": k.last_name,
        "class_name": k.class_name,
        "level": k.level,
    }
