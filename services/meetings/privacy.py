"""Meetings' part of the record of processing (GDPR art. 30, issue #21): what personal data each of its
tables holds, why, on what basis and for how long (``kit.privacy``; ``docs/privacy.md`` is generated from
it). Retention says what the code does today: an erased family's bookings are deleted
(``family_data.erase``); nothing deletes an evening yet (a cancelled booking stays, marked, until then).

Not personal: ``slots`` (an evening's time slots per teacher) and ``inbox`` (only the ids and names of
the events handled)."""

from __future__ import annotations

from kit.privacy import Processing, Record

_STAFF_DATA = (
    "Kept with the evening: teachers' names are the school's staff data, not a family's, and stay when "
    "a family is erased; a staff account id goes with the account."
)
# When auth erases a family: on a manager's request, or by its retention run once the children left.
_ON_ERASURE = (
    "When auth erases the family (auth.family.erased.v1, on request or by auth's retention after leaving)"
)

RECORD = Record(
    service="meetings",
    processing=(
        Processing(
            data=(
                "Parent-teacher bookings: the parent's account id and name, the child's student id, name "
                "and class, the teacher and slot booked, when it was booked, cancelled (and by which "
                "account) and reminded."
            ),
            tables=("bookings",),
            purpose=(
                "Let parents book a slot with their child's teachers at a parent-teacher evening, cancel "
                "it, and give the school and the teachers the schedule."
            ),
            legal_basis="Public task (art. 6.1.e): the school's meetings with families about their child.",
            retention=(
                "Kept, a cancelled booking too (marked cancelled), until the family is erased. "
                f"{_ON_ERASURE}, every booking its parents made or made for its erased children is "
                "deleted, cancelled ones too (a standing one frees its slot); a child still enrolled keeps "
                "the bookings of a guardian not erased."
            ),
            recipients=(
                "The school's staff and the teachers met; the family itself; notifications, which mails "
                "the confirmation, cancellation and reminder (with the parent's and child's names)."
            ),
        ),
        Processing(
            data=(
                "Parent-teacher evenings and their teachers: each teacher's name, room, staff account id "
                "when known and the classes they see; the staff account id of whoever created the "
                "evening."
            ),
            tables=("evenings", "evening_teachers", "teacher_classes"),
            purpose="Organise the school's parent-teacher evenings and show parents whom they can meet, where.",
            legal_basis="Public task (art. 6.1.e): the school's meetings with families.",
            retention=_STAFF_DATA,
        ),
        Processing(
            data=(
                "Event payloads waiting to be published or recently published (a booking confirmed, "
                "cancelled or due for its reminder: the parent's and child's names, class, teacher, "
                "time); stored answers to booking requests sent with an idempotency key."
            ),
            tables=("outbox", "idempotency_keys"),
            purpose="Publish meetings' events to the other services reliably, and book a repeated request once.",
            legal_basis="Those of the processing the event or the request belongs to (above).",
            retention=(
                "Published events are deleted 7 days after publication (kit.bus.OUTBOX_RETENTION; pending "
                "ones stay until published), idempotency keys 7 days after creation "
                "(kit.idempotency.KEY_TTL), both by the daily purge job (kit.service.purge). "
                f"{_ON_ERASURE}, the published events are deleted at once and so are the erased parents' "
                "stored answers."
            ),
            recipients="The services subscribed to meetings' events (notifications).",
        ),
    ),
    not_personal=("slots", "inbox"),
)
