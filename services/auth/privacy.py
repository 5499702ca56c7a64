"""What the auth service holds on people, for the record of processing (``kit.privacy``, issue #21)."""

from __future__ import annotations

from kit.privacy import Processing, Record

# What happens at the end (use_cases/erasure.py, issue #21).
ERASURE = (
    "kept while the family is at the school; erased on a manager's request (EraseFamily) or by the daily "
    "retention job once every child of the family left more than the school's personal_years (default 1, "
    "1 to 10) school years ago (a school year ends on 31 August): the parent's account and each child who "
    "left with no other guardian not erased stay as tombstones, names replaced by a pseudonym, e-mail and "
    "username by placeholders, no password, national number, birth date, school reference nor disability "
    "flag; a child still enrolled or with another guardian is kept as they are"
)

RECORD = Record(
    service="auth",
    processing=(
        Processing(
            data=(
                "Parents' and staff's accounts: first and last names, e-mail address, username, language, "
                "national register number (encrypted, Fernet), the Argon2id hash of the password, when it "
                "changed, and whether and by whom the account was disabled."
            ),
            tables=("accounts",),
            purpose="Let each family and the school's staff sign in and reach the children they may act for.",
            legal_basis="public task (art. 6.1.e): the school's relationship with the families",
            retention=ERASURE,
        ),
        Processing(
            data=(
                "Pupils: first and last names, class, level, birth date, the school's own reference, national "
                "register number (encrypted), whether they left and when, a severe disability flag; which "
                "parent is the guardian of which child."
            ),
            tables=("students", "guardianships"),
            purpose="Know which children are at the school, in which class, and who acts for them.",
            legal_basis="public task (art. 6.1.e); the national number: legal obligation (art. 6.1.c), tax certificates",
            retention=(
                "a child who leaves stays, marked left, readable by the family, until erased: "
                + ERASURE
                + "; "
                "guardianships (ids only) stay between tombstones"
            ),
        ),
        Processing(
            data=(
                "Sign-in secrets: sessions (account, active child, times), connection and reset tokens (as "
                "SHA-256 hashes), second-factor secrets (encrypted) and recovery codes (hashed)."
            ),
            tables=("sessions", "connection_tokens", "second_factors", "recovery_codes"),
            purpose="Keep accounts secure: sessions, first connection, password reset, two-step sign-in.",
            legal_basis="legitimate interest (art. 6.1.f) and security of processing (art. 32)",
            retention=(
                "a session ends after 12 hours idle or 7 days; its row is deleted once expired for 30 days, "
                "at the account's next sign-in only; tokens expire (14 days, 1 hour for a reset) and are kept "
                "used or expired; an erased account's sessions, tokens, second factor, recovery codes and the "
                "failed sign-ins of its username are deleted at its erasure"
            ),
            recipients="no one: only hashes or encrypted values are stored",
        ),
        Processing(
            data=(
                "Security logs: failed sign-ins and reset requests keyed by account or client address; the "
                "school's audit log (who did what to which record, the actor's name, a detail)."
            ),
            tables=("sign_in_failures", "audit_entries"),
            purpose="Throttle password guessing; let the school see who changed money, people and settings.",
            legal_basis="legitimate interest (art. 6.1.f) and security of processing (art. 32)",
            retention=(
                "failures older than the longest throttling window (15 minutes) are deleted when the next one "
                "is recorded; the audit log is append-only (a trigger refuses any change) but for the one an "
                "erasure makes (redacted_at set): an entry about or by the family keeps who did what to which id "
                "and when, without its detail, the parent as actor named by their pseudonym; in other entries "
                "their whole names, e-mail and username are replaced by their pseudonyms; an entry about them "
                "still on its way at the erasure is kept without its detail"
            ),
            recipients="the school's managers (the audit log)",
        ),
        Processing(
            data=(
                "Events waiting to be published and those published: names and e-mail addresses, and the "
                "connection token itself in clear in auth.token.issued.v1 (for the mail notifications sends)."
            ),
            tables=("outbox",),
            purpose="Tell the other services of new and changed people.",
            legal_basis="those of the processing the event belongs to",
            retention=(
                "published events are deleted after 7 days (the daily purge, kit.bus.OUTBOX_RETENTION), and at "
                "once at a family's erasure (kit.family_data.purge_published)"
            ),
            recipients="the other Cartable services, through the school's RabbitMQ",
        ),
    ),
    # erasures: who was erased, ids and dates only (what makes a row a tombstone)
    not_personal=("schools", "inbox", "retention_policies", "erasures"),
)
