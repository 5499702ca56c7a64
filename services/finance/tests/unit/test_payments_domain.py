"""Payment rules: provider statuses, the methods a school allows, where a reversal takes money back."""

from hypothesis import given
from hypothesis import strategies as st

from services.finance.domain.invoices import CANCELLED, PAID, PARTIALLY_PAID
from services.finance.domain.payments import (
    TERMINAL,
    ReversalSplit,
    invoice_purpose,
    online_enabled,
    our_status,
    reopenable_cents,
    split_invoice_reversal,
    split_top_up_reversal,
)

cents = st.integers(min_value=0, max_value=10**9)


def test_only_terminal_provider_statuses_become_ours():
    for status in ("paid", "failed", "canceled", "expired"):
        assert status in TERMINAL and our_status(status) == status
    for status in ("open", "pending", "authorized", "refused", ""):
        assert our_status(status) is None


def test_an_order_invoice_is_paid_as_an_order():
    assert invoice_purpose("order") == "order"
    assert invoice_purpose("staff") == "invoice"
    assert invoice_purpose("reversal") == "invoice"


def test_online_payment_needs_online_top_ups_or_orders_online_for_an_order():
    assert online_enabled(["online", "transfer"], False)
    assert not online_enabled(["transfer"], True)
    assert online_enabled(["transfer"], True, order=True)
    assert not online_enabled([], False, order=True)


def test_a_top_up_is_taken_back_from_its_wallet_and_the_spent_rest_invoiced():
    assert split_top_up_reversal(1000, 300) == ReversalSplit(1000, wallet_cents=300, invoiced_cents=700)
    assert split_top_up_reversal(1000, 5000) == ReversalSplit(1000, wallet_cents=1000)


def test_an_invoice_payment_is_taken_back_from_its_excess_first_then_off_the_invoice():
    split = split_invoice_reversal(3000, [1000, 500], reopenable=4000)
    assert split == ReversalSplit(3000, unallocated_takes=(1000, 500), invoice_cents=1500)
    assert split.unallocated_cents == 1500
    assert split_invoice_reversal(800, [1000, 500], reopenable=4000).unallocated_takes == (800,)
    assert split_invoice_reversal(800, [], reopenable=300) == ReversalSplit(
        800, invoice_cents=300, invoiced_cents=500
    )


def test_a_cancelled_invoice_is_not_reopened():
    assert reopenable_cents(3000, 0, 3000, CANCELLED) == 0
    assert reopenable_cents(3000, 1000, 3000, PAID) == 2000
    assert reopenable_cents(3000, 0, 1200, PARTIALLY_PAID) == 1200  # partly taken back another way
    assert reopenable_cents(0, 0, 1200, PARTIALLY_PAID) == 0  # the payment put nothing on it


@given(amount=cents, excess=st.lists(st.integers(min_value=1, max_value=10**6), max_size=5), reopenable=cents)
def test_an_invoice_reversal_split_adds_up_to_its_amount(amount, excess, reopenable):
    split = split_invoice_reversal(amount, excess, reopenable)
    assert split.unallocated_cents + split.invoice_cents + split.invoiced_cents == amount
    assert all(0 < take <= ex for take, ex in zip(split.unallocated_takes, excess, strict=False))
    assert 0 <= split.invoice_cents <= reopenable
    assert split.wallet_cents == 0


@given(amount=cents, balance=cents)
def test_a_top_up_reversal_never_overdraws_the_wallet(amount, balance):
    split = split_top_up_reversal(amount, balance)
    assert split.wallet_cents + split.invoiced_cents == amount
    assert 0 <= split.wallet_cents <= balance
