"""Accounts (auth): signing in, connection tokens, sessions, passwords, and the school's people."""

from __future__ import annotations

from flask import g

from cartable.auth.v1 import auth_pb2
from gateway.clients import rpc
from gateway.web import adopt, client_address, session_token_from_request
from kit.errors import InvalidRequest, NotFound, Unauthenticated


def _previous_session_token() -> str:
    """The session this client held before signing in again: auth ends it when the new one opens."""
    token, _how = session_token_from_request()
    return token


def sign_in(username: str, password: str):
    sess = rpc(
        "auth",
        "SignIn",
        auth_pb2.SignInRequest(
            username=username,
            password=password,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
        ),
        identity=False,
    ).session
    adopt(sess)
    return sess


def check_connection_token(token: str):
    """Whether a connection token is usable, without using it up: ``{username, display_name}``;
    raises like Activate for an unknown (400 invalid_token), used or expired (409) token."""
    return rpc(
        "auth", "CheckConnectionToken", auth_pb2.CheckConnectionTokenRequest(token=token), identity=False
    )


def activate(token: str, password: str, password_confirm: str):
    sess = rpc(
        "auth",
        "Activate",
        auth_pb2.ActivateRequest(
            token=token,
            password=password,
            password_confirm=password_confirm,
            client_address=client_address(),
            previous_session_token=_previous_session_token(),
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


# -- the school's people (staff) --------------------------------------------------------------------


def list_students(student_ids: list[str] | None = None, class_names: list[str] | None = None) -> list:
    """The school's students, all of them or those named by id or by class."""
    req = auth_pb2.ListStudentsRequest(student_ids=student_ids or [], class_names=class_names or [])
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


def issue_connection_token(parent_id: str) -> None:
    rpc("auth", "IssueConnectionToken", auth_pb2.IssueConnectionTokenRequest(parent_id=parent_id))
