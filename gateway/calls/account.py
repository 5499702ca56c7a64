"""Accounts (auth): signing in, connection tokens, sessions, passwords, and the school's people."""

from __future__ import annotations

from flask import g

from cartable.auth.v1 import auth_pb2
from gateway.clients import rpc
from gateway.web import adopt, client_address, session_token_from_request
from kit.errors import InvalidRequest, NotFound, Unauthenticated

PARENT_STATUSES = ("invited", "active", "disabled")


def _previous_session_token() -> str:
    """The session this client held before signing in again: auth ends it when the new one opens."""
    token, _how = session_token_from_request()
    return token


def sign_in(username: str, password: str, otp: str = ""):
    """A session for the username and password, and the second factor's code when the account has
    one (auth answers 401 ``second_factor_required`` without it, ``invalid_otp`` when wrong, 403
    ``account_disabled`` for the right password of an account the school disabled)."""
    sess = rpc(
        "auth",
        "SignIn",
        auth_pb2.SignInRequest(
            username=username,
            password=password,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
            otp=otp,
        ),
        identity=False,
    ).session
    adopt(sess)
    return sess


def check_connection_token(token: str):
    """Whether a connection token is usable, without using it up: ``{username, display_name,
    second_factor_required}`` (Activate then needs ``otp``); raises like Activate for an unknown
    (400 invalid_token), used or expired (409) token."""
    return rpc(
        "auth", "CheckConnectionToken", auth_pb2.CheckConnectionTokenRequest(token=token), identity=False
    )


def activate(token: str, password: str, password_confirm: str, otp: str = ""):
    sess = rpc(
        "auth",
        "Activate",
        auth_pb2.ActivateRequest(
            token=token,
            password=password,
            password_confirm=password_confirm,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
            otp=otp,
        ),
        identity=False,
    ).session
    adopt(sess)
    return sess


def request_password_reset(email: str) -> None:
    rpc(
        "auth",
        "RequestPasswordReset",
        auth_pb2.RequestPasswordResetRequest(email=email, client_address=client_address()),
        identity=False,
    )


def sign_out(token: str) -> None:
    if token:
        rpc("auth", "SignOut", auth_pb2.SignOutRequest(session_token=token), identity=False)


def change_password(current: str, new: str, confirm: str) -> None:
    """A wrong current password is a 400 on ``current_password`` (a 401 would read as "signed out")."""
    try:
        rpc(
            "auth",
            "ChangePassword",
            auth_pb2.ChangePasswordRequest(
                session_token=g.session_token,
                current_password=current,
                new_password=new,
                new_password_confirm=confirm,
            ),
        )
    except Unauthenticated as err:
        if err.code != "invalid_credentials":
            raise
        raise InvalidRequest(
            "the current password is wrong", fields={"current_password": "wrong password"}
        ) from None


def select_child(sess, child_id: str):
    """Make ``child_id`` the session's active child; another parent's child (or none) is not found."""
    if not child_id or child_id not in {c.id for c in sess.children}:
        raise NotFound("no such child")
    new = rpc(
        "auth", "SelectChild", auth_pb2.SelectChildRequest(session_token=g.session_token, child_id=child_id)
    ).session
    adopt(new)
    return new


# -- the second factor (one's own: with the session token, so a session still to set it up can) -----


def begin_second_factor_setup():
    """A fresh secret for the authenticator app: ``{secret, provisioning_uri}``; 409
    ``second_factor_enabled`` when the account has one already."""
    return rpc(
        "auth",
        "BeginSecondFactorSetup",
        auth_pb2.BeginSecondFactorSetupRequest(session_token=g.session_token),
        identity=False,
    )


def confirm_second_factor_setup(code: str) -> list[str]:
    """The first code from the app turns the factor on: the 10 recovery codes (shown once); the
    session goes on refreshed (no longer limited to the set-up). 400 ``invalid_otp`` (fields.code),
    409 ``no_setup_pending``."""
    done = rpc(
        "auth",
        "ConfirmSecondFactorSetup",
        auth_pb2.ConfirmSecondFactorSetupRequest(session_token=g.session_token, code=code),
        identity=False,
    )
    adopt(done.session)
    return list(done.recovery_codes)


def disable_second_factor(otp: str, password: str):
    """Turn one's factor off with a code (or a recovery code) or the password; the session as it is
    now (a staff member of a school that requires one is back to setting one up)."""
    sess = rpc(
        "auth",
        "DisableSecondFactor",
        auth_pb2.DisableSecondFactorRequest(session_token=g.session_token, otp=otp, password=password),
        identity=False,
    ).session
    adopt(sess)
    return sess


def get_security_settings():
    """The school's ``require_second_factor`` and how many staff accounts have no factor yet."""
    return rpc("auth", "GetSecuritySettings", auth_pb2.GetSecuritySettingsRequest())


def update_security_settings(require_second_factor: bool):
    return rpc(
        "auth",
        "UpdateSecuritySettings",
        auth_pb2.UpdateSecuritySettingsRequest(require_second_factor=require_second_factor),
    )


# -- the school's people (staff) --------------------------------------------------------------------


def list_students(student_ids: list[str] | None = None, class_names: list[str] | None = None) -> list:
    """The school's students, all of them or those named by id or by class."""
    req = auth_pb2.ListStudentsRequest(student_ids=student_ids or [], class_names=class_names or [])
    return list(rpc("auth", "ListStudents", req).students)


def search_students(q: str, limit: int = 20) -> list:
    """The school's active students whose first or last name holds ``q`` (auth searches: accents
    and case ignored), by class and name; at most ``limit``."""
    req = auth_pb2.ListStudentsRequest(q=q, status="active", limit=limit)
    return list(rpc("auth", "ListStudents", req).students)


def create_student(first_name: str, last_name: str, class_name: str, level: str):
    return rpc(
        "auth",
        "CreateStudent",
        auth_pb2.CreateStudentRequest(
            first_name=first_name, last_name=last_name, class_name=class_name, level=level
        ),
    ).student


def create_parent(first_name: str, last_name: str, email: str, student_ids: list[str], language: str):
    """A parent account for students of the school; auth mails the connection token."""
    return rpc(
        "auth",
        "CreateParent",
        auth_pb2.CreateParentRequest(
            first_name=first_name,
            last_name=last_name,
            email=email,
            student_ids=student_ids,
            language=language,
        ),
    )


def link_children(parent_id: str, student_ids: list[str]) -> list[str]:
    """Make an existing parent responsible for more students; answers all the parent's children."""
    made = rpc(
        "auth", "LinkChildren", auth_pb2.LinkChildrenRequest(parent_id=parent_id, student_ids=student_ids)
    )
    return list(made.student_ids)


# The import answers once done (auth writes it in one transaction: 1,500 students in a few seconds,
# its largest file in well under this), within gunicorn's 30 s worker timeout.
IMPORT_TIMEOUT = 25.0


def import_people(csv: bytes, dry_run: bool, filename: str):
    """The People CSV into the school (API.md), or with ``dry_run`` only checked and counted: auth's
    ``ImportPeopleResponse``, whose ``problems`` (every bad row) mean nothing was written. 413
    ``too_large`` beyond auth's limits (10 MB, 20,000 rows)."""
    req = auth_pb2.ImportPeopleRequest(csv=csv, dry_run=dry_run, filename=filename[:200])
    return rpc("auth", "ImportPeople", req, timeout=IMPORT_TIMEOUT)


def issue_connection_token(parent_id: str) -> None:
    rpc("auth", "IssueConnectionToken", auth_pb2.IssueConnectionTokenRequest(parent_id=parent_id))


def list_parents(status: str = "", student_ids: list[str] | None = None) -> list:
    """The school's parents (``ParentContact``), by name; all, or those with a status or of students
    (one unpaged answer: auth pages only a search or a request with a limit)."""
    req = auth_pb2.ListParentsRequest(status=status, student_ids=student_ids or [])
    return list(rpc("auth", "ListParents", req).parents)


def find_parents(q: str = "", status: str = "", limit: int = 50, cursor: str = "") -> tuple[list, str]:
    """A page of ``limit`` of the school's parents with ``status`` (all when empty) whose names (first
    then last, or last then first) or e-mail hold ``q`` (auth searches: accents, case, hyphens and
    apostrophes ignored), by name, from ``cursor``: ``(parents, next_cursor)``, next_cursor "" on
    the last page. A cursor auth did not give is a 400 on ``cursor``."""
    req = auth_pb2.ListParentsRequest(q=q, status=status, limit=limit, cursor=cursor)
    found = rpc("auth", "ListParents", req)
    return list(found.parents), found.next_cursor


def create_staff(first_name: str, last_name: str, email: str, language: str):
    """A colleague on the school's staff (``{id, username}``); auth mails them a connection token."""
    return rpc(
        "auth",
        "CreateStaff",
        auth_pb2.CreateStaffRequest(
            first_name=first_name, last_name=last_name, email=email, language=language
        ),
    )


def list_staff() -> list:
    """The school's staff accounts (``StaffMember``), by name."""
    return list(rpc("auth", "ListStaff", auth_pb2.ListStaffRequest()).staff)


def get_parent(parent_id: str):
    """One parent of the school (``ParentContact``, the national number in full) and their children
    (``Student``, active and left); NotFound for another school's, a staff account or none."""
    if not parent_id or len(parent_id) > 64:
        raise NotFound("no such parent")
    found = rpc("auth", "GetParent", auth_pb2.GetParentRequest(parent_id=parent_id))
    return found.parent, list(found.children)


PARENT_FIELDS = ("first_name", "last_name", "email", "national_number")


def update_parent(parent_id: str, **changes: str):
    """Change the parent's fields named in ``changes`` (any of PARENT_FIELDS; others stay); the
    parent as it is now. 409 ``email_taken``, 400 with fields for a bad value, 404."""
    unknown = set(changes) - set(PARENT_FIELDS)
    if unknown:
        raise ValueError(f"not a parent's field: {sorted(unknown)}")
    req = auth_pb2.UpdateParentRequest(parent_id=parent_id, **changes)
    return rpc("auth", "UpdateParent", req).parent


def check_role(account_id: str, role: str) -> None:
    """NotFound unless ``account_id`` is a ``role`` account ("parent" or "staff") of the school as
    far as the staff list tells: auth's DisableAccount, EnableAccount and EndSessions take any
    account of the school, and a parent's route must never act on a colleague (nor the reverse).
    A parent id that is not the school's at all is refused by auth itself (NotFound)."""
    is_staff = any(m.id == account_id for m in list_staff())
    if is_staff != (role == "staff"):
        raise NotFound("no such parent" if role == "parent" else "no such staff member")


def disable_account(account_id: str):
    """Disable an account of the school: its sessions end at once; the parent or staff member as it
    is now. 403 ``cannot_disable_self``."""
    made = rpc("auth", "DisableAccount", auth_pb2.DisableAccountRequest(account_id=account_id))
    return getattr(made, made.WhichOneof("account") or "parent")


def enable_account(account_id: str):
    made = rpc("auth", "EnableAccount", auth_pb2.EnableAccountRequest(account_id=account_id))
    return getattr(made, made.WhichOneof("account") or "parent")


def end_sessions(account_id: str) -> int:
    """End every session of an account of the school; how many were open."""
    return rpc("auth", "EndSessions", auth_pb2.EndSessionsRequest(account_id=account_id)).ended


def reset_second_factor(account_id: str) -> None:
    """Remove a colleague's second factor (phone and recovery codes lost); their sessions end.
    403 ``cannot_reset_self``."""
    rpc("auth", "ResetSecondFactor", auth_pb2.ResetSecondFactorRequest(account_id=account_id))
