"""JSON shapes: Accounts and mail preferences: sessions, children, parents, staff."""

from __future__ import annotations

from typing import Any

from cartable.notifications.v1 import notifications_pb2

# -- accounts ---------------------------------------------------------------------------------------


def child_json(c) -> dict[str, str | None]:
    """API.md's child, with its ``status`` (active | left: a child who left the school is shown
    read-only, its new top-ups, orders and bookings answer 409 ``student_left``) and ``left_on``."""
    return {
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "class_name": c.class_name,
        "school_name": c.school_name,
        "status": c.status or "active",
        "left_on": c.left_on or None,
    }


def session_json(sess) -> dict[str, Any]:
    """The session object of API.md."""
    return {
        "session_token": sess.session_token,
        "csrf_token": sess.csrf_token,
        "account": {
            "id": sess.account.id,
            "display_name": sess.account.display_name,
            "role": sess.account.role,
        },
        "children": [child_json(c) for c in sess.children],
        "active_child_id": sess.active_child_id or None,
    }


def parent_json(p) -> dict[str, Any]:
    """API.md's parent (auth's ParentContact); status invited | active | disabled."""
    names = ("id", "first_name", "last_name", "email", "username", "status")
    return {**{n: getattr(p, n) for n in names}, "student_ids": list(p.student_ids)}


def staff_json(m) -> dict[str, Any]:
    """An item of GET /api/v1/admin/staff (auth's StaffMember)."""
    return {n: getattr(m, n) for n in ("id", "first_name", "last_name", "email", "username", "status")}


def security_settings_json(st) -> dict[str, Any]:
    """The school's sign-in security (GET/PUT /api/v1/admin/security-settings)."""
    return {
        "require_second_factor": st.require_second_factor,
        "staff_without_second_factor": st.staff_without_second_factor,
    }


# -- notifications ----------------------------------------------------------------------------------


def mail_switches() -> list[str]:
    """The on/off mail kinds the notifications service knows (every bool field of MailPreferences)."""
    return [f.name for f in notifications_pb2.MailPreferences.DESCRIPTOR.fields if f.type == f.TYPE_BOOL]


def prefs_json(p) -> dict[str, Any]:
    out = {
        "language": p.language,
        "email": p.email,
        "low_balance_threshold_cents": p.low_balance_threshold_cents,
    }
    out.update({name: getattr(p, name) for name in mail_switches()})
    return out


def failed_mail_json(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "recipient": m.recipient,
        "subject": m.subject,
        "attempts": m.attempts,
        "last_error": m.last_error,
        "created_at": m.created_at,
        "failed_at": m.failed_at,
    }
