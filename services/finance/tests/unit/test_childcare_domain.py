"""The 281.86 rules: age on the day of care, the year the money was received, only paid care, the
payer, the daily maximum and at most four periods."""

from __future__ import annotations

from datetime import date

import pytest

from services.finance.domain.childcare import (
    Bill,
    CareLine,
    Child,
    Payment,
    UnknownYear,
    certificates,
    daily_cap_cents,
    is_eligible,
)

MUM, DAD = "parent-a", "parent-b"


def child(birth: date | None = date(2015, 5, 10), parents=(MUM,), disability=False) -> Child:
    return Child("kid", birth, parents, disability)


def paid_bill(lines, payments, total=None) -> Bill:
    return Bill(total if total is not None else sum(ln.amount_cents for ln in lines), lines, payments)


def test_care_before_the_14th_birthday_counts_and_from_it_does_not():
    kid = child(date(2009, 6, 15), parents=(MUM,))
    before = CareLine(date(2023, 6, 14), 10, 5000)
    on_birthday = CareLine(date(2023, 6, 15), 4, 2000)
    bill = paid_bill([before, on_birthday], [Payment(date(2023, 7, 1), 7000, MUM)])
    [cert] = certificates(2023, kid, [bill])
    assert (cert.days, cert.amount_cents) == (10, 5000)
    assert is_eligible(date(2009, 6, 15), date(2023, 6, 15), severe_disability=True)
    assert not is_eligible(None, date(2023, 1, 1))


def test_a_severe_disability_raises_the_age_limit_to_21():
    kid = child(date(2005, 3, 1), disability=True)
    bill = paid_bill([CareLine(date(2023, 3, 1), 2, 1000)], [Payment(date(2023, 3, 2), 1000, MUM)])
    assert certificates(2023, kid, [bill])[0].amount_cents == 1000
    assert certificates(2023, child(date(2005, 3, 1)), [bill]) == []


def test_money_counts_in_the_year_it_was_received():
    line = CareLine(date(2023, 12, 10), 10, 10000)
    bill = paid_bill([line], [Payment(date(2023, 12, 20), 4000, MUM), Payment(date(2024, 1, 5), 6000, MUM)])
    [c23] = certificates(2023, child(), [bill])
    [c24] = certificates(2024, child(), [bill])
    assert (c23.days, c23.amount_cents) == (4, 4000)
    assert (c24.days, c24.amount_cents) == (6, 6000)
    # care of December 2023 paid in 2024 keeps its own dates on the 2024 certificate
    assert c24.periods[0].start == date(2023, 12, 10)


def test_a_half_paid_invoice_counts_half_its_childcare_days_and_amount():
    care = CareLine(date(2023, 2, 1), 10, 6000)
    other_fee = 4000  # the invoice also has a non-childcare line
    bill = paid_bill([care], [Payment(date(2023, 2, 10), 5000, MUM)], total=6000 + other_fee)
    [cert] = certificates(2023, child(), [bill])
    assert (cert.days, cert.amount_cents) == (5, 3000)
    unpaid = paid_bill([care], [], total=10000)
    assert certificates(2023, child(), [unpaid]) == []


def test_an_invoice_paid_twice_certifies_its_care_once():
    care = CareLine(date(2023, 2, 1), 10, 6000)
    twice = [Payment(date(2023, 2, 10), 6000, MUM), Payment(date(2023, 2, 11), 6000, DAD)]
    [cert] = certificates(2023, child(parents=(MUM, DAD)), [paid_bill([care], twice)])
    assert (cert.parent_id, cert.days, cert.amount_cents) == (MUM, 10, 6000)
    # paid once in December, again in January: the January payment covers nothing more
    across = [Payment(date(2023, 12, 20), 6000, MUM), Payment(date(2024, 1, 5), 6000, MUM)]
    bill = paid_bill([CareLine(date(2023, 12, 1), 10, 6000)], across)
    assert [c.amount_cents for c in certificates(2023, child(), [bill])] == [6000]
    assert certificates(2024, child(), [bill]) == []


def test_two_paying_parents_each_get_their_own_certificate():
    kid = child(parents=(MUM, DAD))
    bill = paid_bill(
        [CareLine(date(2023, 9, 1), 20, 10000)],
        [Payment(date(2023, 9, 5), 2500, MUM), Payment(date(2023, 9, 6), 7500, DAD)],
    )
    by_parent = {c.parent_id: c for c in certificates(2023, kid, [bill])}
    assert (by_parent[MUM].days, by_parent[MUM].amount_cents) == (5, 2500)
    assert (by_parent[DAD].days, by_parent[DAD].amount_cents) == (15, 7500)


def test_a_payment_naming_no_parent_is_split_between_the_parents():
    kid = child(parents=(MUM, DAD))
    bill = paid_bill([CareLine(date(2023, 9, 1), 10, 5001)], [Payment(date(2023, 9, 5), 5001, None)])
    certs = certificates(2023, kid, [bill])
    assert [(c.parent_id, c.days, c.amount_cents) for c in certs] == [(MUM, 5, 2500), (DAD, 5, 2500)]
    assert certificates(2023, child(parents=()), [bill]) == []


def test_the_capped_amount_limits_each_day_to_the_years_maximum():
    assert daily_cap_cents(2023) == 1570
    expensive = CareLine(date(2023, 4, 1), 10, 20000)  # 20.00 a day: capped at 15.70
    cheap = CareLine(date(2023, 4, 2), 10, 5000)  # 5.00 a day: under the cap
    bill = paid_bill([expensive, cheap], [Payment(date(2023, 4, 3), 25000, MUM)])
    [cert] = certificates(2023, child(), [bill])
    assert cert.amount_cents == 25000  # what was received, as the model asks
    assert cert.capped_amount_cents == 10 * 1570 + 5000
    assert cert.periods[0].daily_rate_cents == 1250


def test_a_year_without_a_known_maximum_is_an_error_not_a_guess():
    with pytest.raises(UnknownYear):
        daily_cap_cents(2031)
    with pytest.raises(UnknownYear):
        certificates(2031, child(), [])


def test_at_most_four_periods_the_earliest_merged():
    lines = [
        CareLine(date(y, m, 1), 1, 1000) for y, m in ((2022, 11), (2023, 1), (2023, 4), (2023, 7), (2023, 10))
    ]
    bill = paid_bill(lines, [Payment(date(2023, 12, 31), 5000, MUM)])
    [cert] = certificates(2023, child(), [bill])
    assert len(cert.periods) == 4
    assert (cert.periods[0].start, cert.periods[0].end, cert.periods[0].days) == (
        date(2022, 11, 1),
        date(2023, 1, 1),
        2,
    )
    assert cert.days == 5
