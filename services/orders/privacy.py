"""Orders' part of the record of processing (GDPR art. 30, issue #21): what personal data each of its
tables holds, why, on what basis and for how long (``kit.privacy``; ``docs/privacy.md`` is generated from
it). Retention says what the code does today: an erased family's orders and credits are kept with their
amounts and dates (finance invoiced them) and lose what may name someone (``family_data.erase``).

Not personal: ``order_periods`` (a period's title, notes, dates and classes), ``catalog_items`` (what is
on sale, with an optional reference such as ``photo:<id>`` to a documents' album photo) and ``inbox``
(only the ids and names of the events handled)."""

from __future__ import annotations

from kit.privacy import Processing, Record

# When auth erases a family: on a manager's request, or by its retention run once the children left.
_ON_ERASURE = (
    "When auth erases the family (auth.family.erased.v1, on request or by auth's retention after leaving)"
)

RECORD = Record(
    service="orders",
    processing=(
        Processing(
            data=(
                "Textbook orders: the student id, the ordering parent's account id, the period, the items "
                "ordered (subject, title, purchase or loan, price), the amounts (subtotal, credit used, "
                "total), the status, the finance invoice id and the online payment checkout URL."
            ),
            tables=("orders", "order_lines"),
            purpose=(
                "Take the family's textbook order for a student during an ordering period, have finance "
                "invoice it, and show the school the orders and totals per item."
            ),
            legal_basis="Contract (art. 6.1.b): the order the family places.",
            retention=(
                f"{_ON_ERASURE}, its orders stay with their lines, amounts, dates and ids, as finance "
                "invoiced them (orders hold no names; finance pseudonymises its side); only the online "
                "payment checkout URL is removed."
            ),
            recipients=(
                "The school's staff; the family itself; finance, which invoices the order (student id, "
                "lines and amounts); notifications, which mails the confirmation (orders.order.placed.v1)."
            ),
        ),
        Processing(
            data=(
                "Each student's book-return credit per school: the balance, and every movement (student "
                "id, amount, the staff member's free-text note for a return, the order that used it, "
                "date)."
            ),
            tables=("credit_accounts", "credit_entries"),
            purpose=(
                "Credit returned books to the student and deduct that credit from the family's next order."
            ),
            legal_basis="Contract (art. 6.1.b): the book return and the orders it is deducted from.",
            retention=(
                f"{_ON_ERASURE}, the erased students' credit stays with its amounts and dates (the orders "
                "it was deducted from stay too) and the staff member's note on each book return, free text "
                "that may name someone, is replaced by the student's pseudonym (kit.privacy.pseudonym)."
            ),
        ),
        Processing(
            data=(
                "Event payloads waiting to be published or recently published (an order placed: student "
                "id, items, amounts, invoice id); stored answers to order requests sent with an "
                "idempotency key (the order's id, amounts and checkout URL)."
            ),
            tables=("outbox", "idempotency_keys"),
            purpose="Publish orders' events to the other services reliably, and place a repeated order once.",
            legal_basis="Those of the processing the event or the request belongs to (above).",
            retention=(
                "Published events are deleted 7 days after publication (kit.bus.OUTBOX_RETENTION; pending "
                "ones stay until published), idempotency keys 7 days after creation "
                "(kit.idempotency.KEY_TTL), both by the daily purge job (kit.service.purge). "
                f"{_ON_ERASURE}, the published events are deleted at once and so are the erased parents' "
                "stored answers."
            ),
            recipients="The services subscribed to orders' events (notifications).",
        ),
    ),
    not_personal=("order_periods", "catalog_items", "inbox"),
)
