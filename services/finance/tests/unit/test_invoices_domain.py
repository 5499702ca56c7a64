"""An invoice's status, open amount and settlement: what a payment covers, what is left and why."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.finance.domain.invoices import (
    CANCELLED,
    INVOICE_CANCELLED,
    INVOICE_SETTLED,
    OVERPAYMENT,
    PAID,
    PARTIALLY_PAID,
    UNPAID,
    Settlement,
    invoice_status,
    open_amount,
    settle,
)

cents = st.integers(min_value=0, max_value=10**12)


def test_status_follows_what_was_paid():
    assert invoice_status(1000, 0, False) == UNPAID
    assert invoice_status(1000, 1, False) == PARTIALLY_PAID
    assert invoice_status(1000, 1000, False) == PAID
    assert invoice_status(0, 0, False) == PAID  # a credit that covers the whole invoice
    assert invoice_status(1000, 200, True) == CANCELLED


def test_open_amount_is_nothing_once_cancelled_and_never_negative():
    assert open_amount(1000, 300, PARTIALLY_PAID) == 700
    assert open_amount(1000, 300, CANCELLED) == 0
    assert open_amount(1000, 1000, PAID) == 0
    assert open_amount(1000, 1200, PAID) == 0


def test_a_payment_of_the_open_amount_settles_it_whole():
    assert settle(700, 700) == Settlement(applied_cents=700, left_over_cents=0, reason="")


def test_a_smaller_payment_is_applied_whole():
    assert settle(700, 300) == Settlement(300, 0, "")


def test_a_larger_payment_leaves_an_overpayment():
    assert settle(700, 1000) == Settlement(700, 300, OVERPAYMENT)


def test_a_payment_of_a_settled_invoice_is_left_over_whole():
    assert settle(0, 500) == Settlement(0, 500, INVOICE_SETTLED)


def test_a_cancelled_invoice_takes_nothing():
    assert settle(0, 500, cancelled=True) == Settlement(0, 500, INVOICE_CANCELLED)
    assert settle(700, 500, cancelled=True) == Settlement(0, 500, INVOICE_CANCELLED)


def test_nothing_to_apply_leaves_nothing():
    assert settle(700, 0) == Settlement(0, 0, "")


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"])
def test_amounts_are_non_negative_int_cents(bad):
    with pytest.raises((TypeError, ValueError)):
        settle(bad, 100)
    with pytest.raises((TypeError, ValueError)):
        settle(100, bad)


@given(open_cents=cents, amount=cents, cancelled=st.booleans())
def test_settlement_splits_the_amount_and_never_exceeds_what_is_open(open_cents, amount, cancelled):
    s = settle(open_cents, amount, cancelled=cancelled)
    assert s.applied_cents + s.left_over_cents == amount
    assert 0 <= s.applied_cents <= open_cents
    assert s.applied_cents <= amount
    assert s.left_over_cents >= 0
    assert (s.reason == "") == (s.left_over_cents == 0)
    if cancelled:
        assert s.applied_cents == 0
    else:
        # as much as possible goes onto the invoice: either it is settled or the money is used up
        assert s.applied_cents == open_cents or s.left_over_cents == 0


@given(total=cents, paid=cents, amount=cents)
def test_a_settlement_never_pays_an_invoice_beyond_its_total(total, paid, amount):
    paid = min(paid, total)
    s = settle(open_amount(total, paid, invoice_status(total, paid, False)), amount)
    after = paid + s.applied_cents
    assert after <= total
    if s.left_over_cents:  # money is left over only once the invoice is paid in full
        assert invoice_status(total, after, False) == PAID
