"""The double-entry ledger's values and movement factories."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.finance.domain.ledger import (
    KIND_CREDIT_NOTE,
    KIND_INVOICE_ISSUED,
    KIND_INVOICE_PAYMENT,
    KIND_REFUND,
    KIND_SALE,
    KIND_TOP_UP,
    InsufficientBalance,
    InvalidTransaction,
    Posting,
    Transaction,
    bank_clearing_account,
    cash_account,
    check_can_debit,
    clearing_account,
    credit_note,
    credit_note_account,
    invoice_receivable_account,
    issue_invoice,
    pay_invoice_external,
    pay_invoice_from_wallet,
    psp_clearing_account,
    refund,
    sale,
    school_revenue_account,
    top_up,
    wallet_account,
)

WALLET, SCHOOL, INVOICE = "w-1", 7, "inv-42"


def balances(*transactions):
    totals = Counter()
    for tx in transactions:
        for posting in tx.postings:
            totals[posting.account] += posting.amount_cents
    return totals


# --- Posting and Transaction ---------------------------------------------------------------------


def test_a_balanced_transaction_keeps_its_postings_as_a_tuple():
    tx = Transaction("top_up", [Posting("a", 500), Posting("b", -300), Posting("c", -200)])
    assert tx.postings == (Posting("a", 500), Posting("b", -300), Posting("c", -200))
    assert tx.amount_for("a") == 500 and tx.amount_for("zzz") == 0
    assert tx.accounts == {"a", "b", "c"}


def test_an_unbalanced_transaction_is_refused():
    with pytest.raises(InvalidTransaction, match="sum to 1 cents"):
        Transaction("sale", (Posting("a", 501), Posting("b", -500)))


def test_a_transaction_without_postings_is_refused():
    with pytest.raises(InvalidTransaction, match="needs postings"):
        Transaction("sale", ())


def test_a_zero_posting_is_refused():
    with pytest.raises(InvalidTransaction, match="0 cents"):
        Posting("a", 0)


@pytest.mark.parametrize("amount", [True, False, 1.0, "100", None])
def test_a_posting_amount_must_be_int_cents_and_not_bool(amount):
    with pytest.raises(TypeError):
        Posting("a", amount)


def test_a_posting_needs_an_account():
    with pytest.raises(InvalidTransaction, match="account"):
        Posting("  ", 5)


def test_postings_must_be_posting_values():
    with pytest.raises(TypeError):
        Transaction("sale", (("a", 5), ("b", -5)))


def test_an_unknown_kind_or_method_is_refused():
    postings = (Posting("a", 5), Posting("b", -5))
    with pytest.raises(InvalidTransaction, match="kind"):
        Transaction("gift", postings)
    with pytest.raises(InvalidTransaction, match="method"):
        Transaction("top_up", postings, method="cheque")


def test_transactions_are_immutable():
    tx = top_up(WALLET, SCHOOL, 100, "online")
    with pytest.raises(AttributeError):
        tx.kind = "sale"


# --- account names -------------------------------------------------------------------------------


def test_account_names_are_distinct_per_purpose_and_owner():
    names = [
        wallet_account(1),
        invoice_receivable_account(1),
        school_revenue_account(1),
        bank_clearing_account(1),
        psp_clearing_account(1),
        cash_account(1),
        credit_note_account(1),
        school_revenue_account(2),
    ]
    assert len(set(names)) == len(names)
    assert wallet_account("abc") == "wallet:abc"
    assert school_revenue_account(3) == "school:3:revenue"


@pytest.mark.parametrize("ident", ["", "a:b", "a b", None, True])
def test_an_id_that_cannot_name_an_account_is_refused(ident):
    with pytest.raises(ValueError, match=r"cannot name an account|is missing"):
        wallet_account(ident)


def test_each_method_has_its_clearing_account():
    assert clearing_account(SCHOOL, "online") == psp_clearing_account(SCHOOL)
    assert clearing_account(SCHOOL, "transfer") == bank_clearing_account(SCHOOL)
    assert clearing_account(SCHOOL, "cash") == cash_account(SCHOOL)
    with pytest.raises(ValueError, match="unknown payment method"):
        clearing_account(SCHOOL, "wallet")


# --- movements -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "clearing"),
    [("online", psp_clearing_account), ("transfer", bank_clearing_account), ("cash", cash_account)],
)
def test_a_top_up_credits_the_wallet_from_the_methods_clearing_account(method, clearing):
    tx = top_up(WALLET, SCHOOL, 2500, method)
    assert tx.kind == KIND_TOP_UP and tx.method == method
    assert tx.amount_for(wallet_account(WALLET)) == 2500
    assert tx.amount_for(clearing(SCHOOL)) == -2500


def test_a_top_up_with_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown payment method"):
        top_up(WALLET, SCHOOL, 100, "cheque")


def test_a_sale_moves_wallet_money_to_the_schools_revenue():
    tx = sale(WALLET, SCHOOL, 350)
    assert tx.kind == KIND_SALE and tx.method == "wallet"
    assert tx.amount_for(wallet_account(WALLET)) == -350
    assert tx.amount_for(school_revenue_account(SCHOOL)) == 350


def test_issuing_an_invoice_makes_the_parent_owe_its_total():
    tx = issue_invoice(INVOICE, SCHOOL, 4200)
    assert tx.kind == KIND_INVOICE_ISSUED
    assert tx.amount_for(invoice_receivable_account(INVOICE)) == -4200
    assert tx.amount_for(school_revenue_account(SCHOOL)) == 4200


def test_paying_an_invoice_from_the_wallet_settles_it_with_wallet_money():
    tx = pay_invoice_from_wallet(INVOICE, WALLET, 4200)
    assert tx.kind == KIND_INVOICE_PAYMENT and tx.method == "wallet"
    assert tx.amount_for(invoice_receivable_account(INVOICE)) == 4200
    assert tx.amount_for(wallet_account(WALLET)) == -4200


def test_paying_an_invoice_by_transfer_settles_it_with_bank_money():
    tx = pay_invoice_external(INVOICE, SCHOOL, 1000, "transfer")
    assert tx.kind == KIND_INVOICE_PAYMENT and tx.method == "transfer"
    assert tx.amount_for(invoice_receivable_account(INVOICE)) == 1000
    assert tx.amount_for(bank_clearing_account(SCHOOL)) == -1000


def test_a_credit_note_clears_what_remains_due_and_nothing_already_paid():
    issued = issue_invoice(INVOICE, SCHOOL, 5000)
    paid = pay_invoice_external(INVOICE, SCHOOL, 1500, "online")
    cancelled = credit_note(INVOICE, SCHOOL, 3500)
    assert cancelled.kind == KIND_CREDIT_NOTE
    totals = balances(issued, paid, cancelled)
    assert totals[invoice_receivable_account(INVOICE)] == 0
    assert totals[credit_note_account(SCHOOL)] == -3500
    assert totals[psp_clearing_account(SCHOOL)] == -1500
    assert totals[school_revenue_account(SCHOOL)] == 5000


def test_a_refund_takes_money_out_of_the_wallet_back_through_the_bank():
    tx = refund(WALLET, SCHOOL, 800)
    assert tx.kind == KIND_REFUND and tx.method == "transfer"
    assert tx.amount_for(wallet_account(WALLET)) == -800
    assert tx.amount_for(bank_clearing_account(SCHOOL)) == 800


def test_a_cash_refund_goes_through_the_cash_account():
    assert refund(WALLET, SCHOOL, 800, method="cash").amount_for(cash_account(SCHOOL)) == 800


def test_a_wallets_balance_is_the_sum_of_its_postings_positive_when_the_parent_has_money():
    story = [
        top_up(WALLET, SCHOOL, 5000, "online"),
        sale(WALLET, SCHOOL, 1200),
        pay_invoice_from_wallet(INVOICE, WALLET, 2000),
        refund(WALLET, SCHOOL, 300),
    ]
    assert balances(*story)[wallet_account(WALLET)] == 1500


@pytest.mark.parametrize("amount", [0, -100])
@pytest.mark.parametrize(
    "make",
    [
        lambda a: top_up(WALLET, SCHOOL, a, "cash"),
        lambda a: sale(WALLET, SCHOOL, a),
        lambda a: issue_invoice(INVOICE, SCHOOL, a),
        lambda a: pay_invoice_from_wallet(INVOICE, WALLET, a),
        lambda a: pay_invoice_external(INVOICE, SCHOOL, a, "online"),
        lambda a: credit_note(INVOICE, SCHOOL, a),
        lambda a: refund(WALLET, SCHOOL, a),
    ],
)
def test_every_movement_refuses_a_zero_or_negative_amount(make, amount):
    with pytest.raises(ValueError, match="must be positive"):
        make(amount)


@pytest.mark.parametrize("amount", [True, 10.0, "10"])
def test_every_movement_refuses_non_int_amounts(amount):
    with pytest.raises(TypeError):
        sale(WALLET, SCHOOL, amount)


# --- balance check -------------------------------------------------------------------------------


def test_check_can_debit_returns_the_balance_left():
    assert check_can_debit(1000, 400) == 600
    assert check_can_debit(1000, 1000) == 0


def test_check_can_debit_refuses_to_overdraw_a_wallet():
    with pytest.raises(InsufficientBalance) as info:
        check_can_debit(999, 1000)
    assert (info.value.balance_cents, info.value.amount_cents) == (999, 1000)


def test_check_can_debit_refuses_any_debit_from_a_negative_balance():
    with pytest.raises(InsufficientBalance):
        check_can_debit(-5, 1)


def test_check_can_debit_refuses_a_non_positive_debit():
    with pytest.raises(ValueError, match="must be positive"):
        check_can_debit(100, 0)


# --- properties --------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**12)
ids = st.one_of(st.integers(min_value=1, max_value=10**9), st.uuids().map(str))
methods = st.sampled_from(["online", "transfer", "cash"])

movements = st.one_of(
    st.builds(top_up, ids, ids, amounts, methods),
    st.builds(sale, ids, ids, amounts),
    st.builds(issue_invoice, ids, ids, amounts),
    st.builds(pay_invoice_from_wallet, ids, ids, amounts),
    st.builds(pay_invoice_external, ids, ids, amounts, methods),
    st.builds(credit_note, ids, ids, amounts),
    st.builds(lambda w, s, a, m: refund(w, s, a, method=m), ids, ids, amounts, methods),
)


@given(st.lists(movements, min_size=1, max_size=20))
def test_every_factory_produces_balanced_transactions_so_the_whole_ledger_sums_to_zero(transactions):
    for tx in transactions:
        assert sum(p.amount_cents for p in tx.postings) == 0
        assert all(p.amount_cents != 0 for p in tx.postings)
    assert sum(balances(*transactions).values()) == 0


@given(ids, ids, amounts, methods)
def test_a_top_up_then_a_refund_of_the_same_amount_leaves_the_wallet_and_the_clearing_account_at_zero(
    wallet, school, amount, method
):
    totals = balances(top_up(wallet, school, amount, method), refund(wallet, school, amount, method=method))
    assert totals[wallet_account(wallet)] == 0
    assert totals[clearing_account(school, method)] == 0


@given(st.integers(min_value=-(10**12), max_value=10**12), amounts)
def test_check_can_debit_never_leaves_a_negative_balance(balance, amount):
    try:
        left = check_can_debit(balance, amount)
    except InsufficientBalance:
        assert amount > balance
    else:
        assert left == balance - amount >= 0
