"""Notifications' part of a family's data (issue #21).

- :func:`exporter`: ``ExportFamilyData``'s answer for one parent and their children, every query scoped
  to the caller's school: ``notifications/contact.json`` (the e-mail address, name and language the
  contact book has), ``children.json`` (the children under that parent in the book), ``preferences.json``
  (their mail choices), ``mails.json`` (every mail to them: subject, dates, status, and the bodies kept;
  a sign-in mail's bodies never), ``invoices.json`` (the children's invoices in the reminders' book and
  the reminders sent) and ``student_levels.json``.
- :func:`erase`: on ``auth.family.erased.v1``, what the service held on the family goes (nothing here
  must stay for accounting: finance keeps the ledger), then the published outbox rows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cartable.auth.v1 import events_pb2 as auth_events
from cartable.privacy.v1 import privacy_pb2 as pb
from kit.family_data import Export, json_file, purge_published
from kit.identity import Identity
from kit.service import Runtime
from services.notifications import db, db_family


def exporter(rt: Runtime) -> Export:
    """The export function ``kit.family_data.registration`` serves (the caller already checked)."""

    def export(ident: Identity, parent_id: str, student_ids: list[str]) -> list[pb.ExportFile]:
        school = ident.school_id
        with rt.db.unit_of_work() as s:
            students = db_family.students_of_school(s, school, student_ids)
            parts = {
                "contact": db_family.contact(s, school, parent_id),
                "children": db_family.children(s, school, parent_id),
                "preferences": db_family.preferences(s, school, parent_id),
                "mails": db_family.mails(s, school, parent_id),
                "invoices": db_family.invoices(s, school, students),
                "student_levels": db_family.levels(s, students),
            }
        return [json_file(f"notifications/{what}.json", data) for what, data in parts.items()]

    return export


def erase(session: Session, event: auth_events.FamilyErased) -> None:
    """Erase the family auth names (in the consumer's transaction; a second run changes nothing)."""
    db_family.erase_family(session, event.school_id, list(event.parent_ids), list(event.student_ids))
    purge_published(session, db.outbox)
