"""The direct-debit mails' rules: a bank's return reason in a category, and who may turn which off."""

from __future__ import annotations

import pytest

from services.notifications.domain import sepa
from services.notifications.domain.mail import (
    AUTO_TOP_UP,
    DIRECT_DEBIT_RETURNED,
    DIRECT_DEBIT_SCHEDULED,
    MANDATE_SIGNED,
    REFUND_CREATED,
    Preferences,
)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("AM04", sepa.INSUFFICIENT_FUNDS),
        ("MD01", sepa.NO_MANDATE),
        ("AC04", sepa.ACCOUNT_CLOSED),
        ("AC06", sepa.ACCOUNT_BLOCKED),
        ("MS02", sepa.REFUSED),
        ("MS03", sepa.REFUSED),
        ("MD06", sepa.REFUND_REQUESTED),
        (" am04 ", sepa.INSUFFICIENT_FUNDS),
        ("SL01", sepa.OTHER),
        ("", sepa.OTHER),
    ],
)
def test_a_return_reason_code_reads_as_its_category(code, category):
    assert sepa.return_reason(code) == category


def test_the_code_is_shown_as_the_bank_writes_it():
    assert sepa.normalized_code(" md01 ") == "MD01"
    assert sepa.normalized_code("") == ""


def test_mandate_top_up_and_return_mails_cannot_be_turned_off_but_a_refund_follows_payments():
    nothing = Preferences(documents=False, invoices=False, payments=False, orders=False, meetings=False)
    assert (
        nothing.wants(MANDATE_SIGNED) and nothing.wants(AUTO_TOP_UP) and nothing.wants(DIRECT_DEBIT_RETURNED)
    )
    assert nothing.wants(DIRECT_DEBIT_SCHEDULED)  # SEPA's pre-notification of each collection
    assert not nothing.wants(REFUND_CREATED)
    assert Preferences().wants(REFUND_CREATED)
