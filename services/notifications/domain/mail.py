"""Pure rules of outgoing mail: kinds, who wants what, the low-balance crossing, retry timing."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

LANGUAGES = ("fr", "nl", "en")
DEFAULT_LANGUAGE = "fr"

TOKEN = "token"
DOCUMENT_DEPOSITED = "document_deposited"
INVOICE_ISSUED = "invoice_issued"
PAYMENT_RECEIVED = "payment_received"
ORDER_PLACED = "order_placed"
LOW_BALANCE = "low_balance"
MEETING_BOOKED = "meeting_booked"
MEETING_CANCELLED = "meeting_cancelled"
MEETING_REMINDER = "meeting_reminder"
MEETING_KINDS = (MEETING_BOOKED, MEETING_CANCELLED, MEETING_REMINDER)
INVOICE_REMINDER = "invoice_reminder"  # an overdue invoice (scheduled or sent by a manager)
IBAN_CHANGED = "iban_changed"  # to every manager of the school: its bank account changed
# SEPA direct debit (issue #18): to the signing parent, and to a student's parents
MANDATE_SIGNED = "mandate_signed"
AUTO_TOP_UP = "auto_top_up"
DIRECT_DEBIT_RETURNED = "direct_debit_returned"
REFUND_CREATED = "refund_created"
DIRECT_DEBIT_SCHEDULED = "direct_debit_scheduled"  # SEPA's pre-notification of a collection
SEPA_KINDS = (MANDATE_SIGNED, AUTO_TOP_UP, DIRECT_DEBIT_RETURNED, REFUND_CREATED, DIRECT_DEBIT_SCHEDULED)
PERIODIC_STATEMENT = "periodic_statement"  # FWB's décompte périodique filed in the documents (issue #19)
DATA_EXPORT_READY = "data_export_ready"  # a family's data export built (issue #21): where to download it
KINDS = (
    TOKEN,
    DOCUMENT_DEPOSITED,
    INVOICE_ISSUED,
    INVOICE_REMINDER,
    PAYMENT_RECEIVED,
    ORDER_PLACED,
    LOW_BALANCE,
    *MEETING_KINDS,
    IBAN_CHANGED,
    *SEPA_KINDS,
    PERIODIC_STATEMENT,
    DATA_EXPORT_READY,
)

# Mails that carry a secret: their bodies are wiped once sent or given up, and they are never re-sent
# from the failed list (the manager issues a new token instead).
SENSITIVE_KINDS = frozenset({TOKEN})

# Mails nobody can turn off: the way into an account, and the security notices to the managers (an IBAN
# changed by someone who stole a manager's password must reach the others). No "choose your mails" footer.
# The direct-debit mails too: the confirmation of a mandate signed in the parent's name, the notice
# before an automatic top-up is collected from their account (the mandate confirmation promises it) and a
# debit the bank returned (something is owed again, or the mandate was cancelled), and the
# pre-notification of each collection (its amount and date: SEPA's rules require it). And the answer to a
# family's request for their data (GDPR art. 15): asked for, so never turned off.
MANDATORY_KINDS = frozenset(
    {
        TOKEN,
        IBAN_CHANGED,
        MANDATE_SIGNED,
        AUTO_TOP_UP,
        DIRECT_DEBIT_RETURNED,
        DIRECT_DEBIT_SCHEDULED,
        DATA_EXPORT_READY,
    }
)


def language_or_default(*candidates: str | None) -> str:
    """The first supported language among the candidates (``nl-BE`` counts as ``nl``), else French."""
    for c in candidates:
        code = (c or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Preferences:
    """What one parent chose. A parent who never chose anything gets every mail, no balance alert."""

    language: str | None = None
    documents: bool = True
    invoices: bool = True
    payments: bool = True
    orders: bool = True
    meetings: bool = True  # parent–teacher meetings: booked, cancelled, reminder the day before
    low_balance_threshold_cents: int = 0  # 0: no alert

    def wants(self, kind: str) -> bool:
        if kind in MANDATORY_KINDS:
            return True  # never optional
        if kind == LOW_BALANCE:
            return self.low_balance_threshold_cents > 0
        if kind in MEETING_KINDS:
            return self.meetings
        return {
            DOCUMENT_DEPOSITED: self.documents,
            PERIODIC_STATEMENT: self.documents,  # a document of the child's, with its own mail
            INVOICE_ISSUED: self.invoices,
            INVOICE_REMINDER: self.invoices,  # the parent's choice of invoice mails covers reminders
            PAYMENT_RECEIVED: self.payments,
            REFUND_CREATED: self.payments,  # money back, told as money received is
            ORDER_PLACED: self.orders,
        }[kind]

    def balance_fell_below_threshold(self, before_cents: int, after_cents: int) -> bool:
        """True only when this debit takes the wallet from at or above the threshold to below it:
        one alert per crossing, not one per purchase while the balance stays low."""
        t = self.low_balance_threshold_cents
        return t > 0 and after_cents < t <= before_cents


# Every field of a parent's choice: the columns of mail_preferences and the fields of the
# MailPreferences message carry these names, so each translation is written once for all of them.
PREFERENCE_FIELDS = tuple(f.name for f in fields(Preferences))


def validate_preferences(p: Preferences) -> dict[str, str]:
    """Field errors of a parent's choice (empty when valid)."""
    errors = {}
    if p.language is not None and p.language not in LANGUAGES:
        errors["language"] = "one of fr, nl, en"
    if p.low_balance_threshold_cents < 0 or p.low_balance_threshold_cents > 1_000_000:
        errors["low_balance_threshold_cents"] = "between 0 and 1000000 cents"
    return errors


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts, then give up."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=60)
    cap: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: base, 2×base, 4×base ... at most cap."""
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.base * factor, self.cap)

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
