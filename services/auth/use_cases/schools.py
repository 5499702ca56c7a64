"""Setting up a school and its staff: what ``python -m services.auth create-school | create-staff``
run (commands.py), and a manager adding a colleague (CreateStaff). A school starts from the command
line: no RPC creates one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from cartable.auth.v1 import auth_pb2 as pb
from kit import audit
from kit.errors import Conflict, InvalidRequest
from kit.identity import Identity
from services.auth import events
from services.auth.db import directory
from services.auth.domain.passwords import WeakPassword, check_password_policy
from services.auth.domain.usernames import normalize_username
from services.auth.use_cases.common import (
    Deps,
    email_field,
    language_field,
    log,
    name_field,
    require_school,
    text_field,
    weak_password_error,
)
from services.auth.use_cases.tokens import issue_token

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class CreatedStaff:
    """What ``create-staff`` prints (no RPC answers with it)."""

    account_id: str
    school_id: str
    username: str
    connection_token: str | None = None  # when no password was given: to hand over, mailed too
    token_expires_at: datetime | None = None


def operator(school_id: str) -> Identity:
    """Who the audit log says acted when an operator ran a command (no account: role system)."""
    return Identity(account_id="", role="system", school_id=school_id)


def create_staff_member(
    deps: Deps, who: Identity, first_name: str, last_name: str, email: str, language: str = "fr"
) -> pb.CreateStaffResponse:
    """Staff: a manager adds a colleague to the school's staff (API.md POST /api/v1/admin/staff);
    the new account receives a connection token (mailed) to set its password."""
    who.require_staff()
    created = create_staff(deps, who.school_id, first_name, last_name, email, language=language, who=who)
    return pb.CreateStaffResponse(id=created.account_id, username=created.username)


def create_school(deps: Deps, name: str) -> str:
    """A new school; returns its id."""
    errors: dict[str, str] = {}
    name = text_field(name, "name", errors, max_len=200)
    if errors:
        raise InvalidRequest("the school is not valid", fields=errors)
    school_id = str(uuid.uuid4())
    with deps.db.unit_of_work() as s:
        directory.insert_school(s, school_id, name, deps.clock())
    log.info("school created", extra={"school_id": school_id})
    return school_id


def create_staff(
    deps: Deps,
    school_id: str,
    first_name: str,
    last_name: str,
    email: str,
    username: str = "",
    password: str | None = None,
    language: str = "fr",
    who: Identity | None = None,
) -> CreatedStaff:
    """A school's manager. With a password (checked like a parent's), ready to sign in; without,
    a connection token is issued (mailed, and returned for the one who runs the command). ``who``:
    the manager who creates a colleague (CreateStaff); none for the operator's command. Announced
    (auth.staff.updated.v1) and audited."""
    errors: dict[str, str] = {}
    first = name_field(first_name, "first_name", errors)
    last = name_field(last_name, "last_name", errors)
    address = email_field(email, errors)
    lang = language_field(language, errors)
    wanted = normalize_username(username or "") or None
    if wanted is not None and not _USERNAME.match(wanted):
        errors["username"] = "2 to 64 of a-z, 0-9, dot, dash, underscore"
    if errors:
        raise InvalidRequest("the staff account is not valid", fields=errors)
    password_hash = None
    if password is not None:
        try:
            check_password_policy(password, password, username=wanted or "", email=address)
        except WeakPassword as err:
            raise weak_password_error(err, "password", "password") from None
        password_hash = deps.hasher.hash(password)
    now = deps.clock()
    with deps.db.unit_of_work() as s:
        require_school(s, school_id)
        if wanted and directory.username_taken(s, wanted):
            raise Conflict("this username is taken", code="username_taken")
        acc = directory.insert_account(
            s,
            school_id=school_id,
            role="staff",
            first=first,
            last=last,
            email=address,
            language=lang,
            now=now,
            username=wanted,
            password_hash=password_hash,
        )
        deps.emit(s, events.staff_updated(acc))  # notifications' contact book of the managers
        token = expires = None
        if password_hash is None:
            token, expires = issue_token(deps, s, acc, "created", now)
        audit.record(
            deps, s, who or operator(school_id), "auth.staff.created", "account", acc.id, f"{first} {last}"
        )
    log.info("staff account created", extra={"account_id": acc.id, "school_id": school_id})
    return CreatedStaff(acc.id, school_id, acc.username, token, expires)
