"""Reporting periods: Brussels calendar days as half-open UTC intervals."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.finance.domain.periods import MAX_CUSTOM_DAYS, Period, resolve_period

BRUSSELS = ZoneInfo("Europe/Brussels")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(*args, **kwargs):
    return datetime(*args, tzinfo=BRUSSELS, **kwargs)


# --- one day, around local midnight --------------------------------------------------------------


def test_today_in_winter_starts_at_brussels_midnight_which_is_23h_utc():
    assert resolve_period("today", utc(2026, 1, 15, 12)) == (utc(2026, 1, 14, 23), utc(2026, 1, 15, 23))


def test_today_in_summer_starts_at_brussels_midnight_which_is_22h_utc():
    assert resolve_period("today", utc(2026, 7, 15, 12)) == (utc(2026, 7, 14, 22), utc(2026, 7, 15, 22))


def test_just_before_brussels_midnight_is_still_the_same_day():
    now = local(2026, 1, 15, 23, 59, 59, 999999)  # 22:59:59.999999 UTC
    assert resolve_period("today", now) == (utc(2026, 1, 14, 23), utc(2026, 1, 15, 23))


def test_just_after_brussels_midnight_is_the_next_day_although_utc_is_still_the_day_before():
    now = utc(2026, 1, 15, 23, 0, 0, 1)  # 00:00:00.000001 on the 16th in Brussels
    assert resolve_period("today", now) == (utc(2026, 1, 15, 23), utc(2026, 1, 16, 23))
    assert resolve_period("yesterday", now) == (utc(2026, 1, 14, 23), utc(2026, 1, 15, 23))


def test_exactly_brussels_midnight_belongs_to_the_new_day():
    now = local(2026, 1, 16, 0, 0)
    start, end = resolve_period("today", now)
    assert start == now and start <= now < end


def test_now_in_another_offset_is_read_as_the_brussels_day():
    # 01:30 on the 16th in New York is 07:30 in Brussels on the 16th.
    now = datetime(2026, 1, 16, 1, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert resolve_period("today", now) == (utc(2026, 1, 15, 23), utc(2026, 1, 16, 23))


def test_yesterday_is_the_calendar_day_before_today():
    assert resolve_period("yesterday", utc(2026, 1, 15, 12)) == (utc(2026, 1, 13, 23), utc(2026, 1, 14, 23))


# --- DST changes -------------------------------------------------------------------------------


def test_the_spring_dst_day_lasts_23_hours():
    start, end = resolve_period("today", local(2026, 3, 29, 12))
    assert (start, end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert end - start == timedelta(hours=23)


def test_the_autumn_dst_day_lasts_25_hours():
    start, end = resolve_period("today", local(2026, 10, 25, 12))
    assert (start, end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    assert end - start == timedelta(hours=25)


def test_the_day_after_the_spring_change_is_read_correctly_from_the_first_summer_hour():
    # 03:00 CEST on 29 March is 01:00 UTC: still the 29th.
    assert resolve_period("today", utc(2026, 3, 29, 1)) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))


def test_both_repeated_hours_of_the_autumn_change_belong_to_the_same_day():
    first = local(2026, 10, 25, 2, 30, fold=0)  # 00:30 UTC, CEST
    second = local(2026, 10, 25, 2, 30, fold=1)  # 01:30 UTC, CET
    assert first.astimezone(UTC) != second.astimezone(UTC)
    assert resolve_period("today", first) == resolve_period("today", second)


def test_yesterday_seen_the_day_after_the_spring_change_is_23_hours():
    assert resolve_period("yesterday", utc(2026, 3, 30, 8)) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))


def test_last_7_days_across_the_autumn_change_is_7_calendar_days_and_169_hours():
    start, end = resolve_period("last_7_days", local(2026, 10, 28, 9))
    assert (start, end) == (utc(2026, 10, 21, 22), utc(2026, 10, 28, 23))
    assert end - start == timedelta(hours=7 * 24 + 1)


def test_this_month_in_march_2026_lasts_one_hour_less_than_31_days():
    start, end = resolve_period("this_month", local(2026, 3, 10))
    assert (start, end) == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert end - start == timedelta(days=31, hours=-1)


# --- multi-day presets and month ends ------------------------------------------------------------


def test_last_7_days_is_today_and_the_six_days_before():
    assert resolve_period("last_7_days", utc(2026, 1, 15, 12)) == (utc(2026, 1, 8, 23), utc(2026, 1, 15, 23))


def test_last_30_days_is_today_and_the_29_days_before():
    assert resolve_period("last_30_days", utc(2026, 1, 30, 12)) == (
        utc(2025, 12, 31, 23),
        utc(2026, 1, 30, 23),
    )


def test_today_on_the_31st_ends_at_the_1st():
    assert resolve_period("today", local(2026, 1, 31, 18)) == (utc(2026, 1, 30, 23), utc(2026, 1, 31, 23))


def test_yesterday_on_the_1st_is_the_last_day_of_the_previous_month():
    assert resolve_period("yesterday", local(2026, 5, 1, 8)) == (utc(2026, 4, 29, 22), utc(2026, 4, 30, 22))


def test_this_month_on_the_31st_covers_the_whole_month():
    assert resolve_period("this_month", local(2026, 1, 31, 23, 30)) == (
        utc(2025, 12, 31, 23),
        utc(2026, 1, 31, 23),
    )


def test_this_month_on_the_1st_just_after_midnight_is_the_new_month():
    assert resolve_period("this_month", local(2026, 2, 1, 0, 0, 1)) == (
        utc(2026, 1, 31, 23),
        utc(2026, 2, 28, 23),
    )


def test_february_of_the_leap_year_2028_has_29_days():
    start, end = resolve_period("this_month", local(2028, 2, 29, 12))
    assert (start, end) == (utc(2028, 1, 31, 23), utc(2028, 2, 29, 23))
    assert end - start == timedelta(days=29)


def test_last_month_seen_in_march_2028_is_the_leap_february():
    assert resolve_period("last_month", local(2028, 3, 1, 0, 30)) == (
        utc(2028, 1, 31, 23),
        utc(2028, 2, 29, 23),
    )


def test_last_month_in_january_is_december_of_the_year_before():
    assert resolve_period("last_month", local(2026, 1, 1, 0, 0)) == (
        utc(2025, 11, 30, 23),
        utc(2025, 12, 31, 23),
    )


def test_this_month_in_december_ends_on_the_1st_of_january():
    assert resolve_period("this_month", local(2026, 12, 31, 23, 59)) == (
        utc(2026, 11, 30, 23),
        utc(2026, 12, 31, 23),
    )


def test_last_30_days_across_the_leap_day():
    assert resolve_period("last_30_days", local(2028, 3, 15, 12)) == (
        utc(2028, 2, 14, 23),
        utc(2028, 3, 15, 23),
    )


def test_period_names_and_enum_members_are_interchangeable():
    now = utc(2026, 1, 15, 12)
    for period in Period:
        if period is not Period.CUSTOM:
            assert resolve_period(period, now) == resolve_period(period.value, now)


# --- custom ------------------------------------------------------------------------------------


def test_custom_includes_the_to_date():
    got = resolve_period("custom", utc(2026, 6, 1), date(2026, 1, 10), date(2026, 1, 12))
    assert got == (utc(2026, 1, 9, 23), utc(2026, 1, 12, 23))


def test_custom_of_a_single_day_is_that_day():
    got = resolve_period("custom", utc(2026, 6, 1), date(2026, 10, 25), date(2026, 10, 25))
    assert got == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))


def test_custom_spanning_the_spring_change_starts_in_winter_time_and_ends_in_summer_time():
    got = resolve_period("custom", utc(2026, 6, 1), date(2026, 3, 1), date(2026, 3, 31))
    assert got == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))


def test_custom_may_span_366_days():
    start, end = resolve_period("custom", utc(2029, 1, 1), date(2028, 1, 1), date(2028, 12, 31))
    assert (start, end) == (utc(2027, 12, 31, 23), utc(2028, 12, 31, 23))


def test_custom_refuses_367_days():
    with pytest.raises(ValueError, match=f"at most {MAX_CUSTOM_DAYS} days"):
        resolve_period("custom", utc(2029, 1, 1), date(2028, 1, 1), date(2029, 1, 1))


def test_custom_refuses_from_after_to():
    with pytest.raises(ValueError, match="after the to date"):
        resolve_period("custom", utc(2026, 6, 1), date(2026, 1, 12), date(2026, 1, 10))


@pytest.mark.parametrize(
    ("first", "last"), [(None, date(2026, 1, 1)), (date(2026, 1, 1), None), (None, None)]
)
def test_custom_needs_both_dates(first, last):
    with pytest.raises(ValueError, match="needs both"):
        resolve_period("custom", utc(2026, 6, 1), first, last)


def test_custom_refuses_datetimes_for_dates():
    with pytest.raises(ValueError, match="must be a date"):
        resolve_period("custom", utc(2026, 6, 1), utc(2026, 1, 1), date(2026, 1, 2))


def test_presets_ignore_stale_custom_dates():
    now = utc(2026, 1, 15, 12)
    assert resolve_period("today", now, date(2020, 1, 1), date(2020, 1, 2)) == resolve_period("today", now)


# --- refusals ----------------------------------------------------------------------------------


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_period("today", datetime(2026, 1, 15, 12))  # noqa: DTZ001 - the naive instant under test


@pytest.mark.parametrize("name", ["tomorrow", "", "TODAY", None])
def test_an_unknown_period_is_refused_with_the_valid_names(name):
    with pytest.raises(ValueError, match=r"unknown period.*last_7_days"):
        resolve_period(name, utc(2026, 1, 15))


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        resolve_period("today", utc(2026, 1, 15), tz="Europe/Atlantis")


# --- properties --------------------------------------------------------------------------------

instants = st.datetimes(
    # hypothesis wants naive bounds and adds the zone itself
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(instants, st.sampled_from([p for p in Period if p is not Period.CUSTOM]))
def test_every_preset_is_a_utc_interval_bounded_by_brussels_midnights(now, period):
    start, end = resolve_period(period, now)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert start < end
    for bound in (start, end):
        assert bound.astimezone(BRUSSELS).time().isoformat() == "00:00:00"
    if period is not Period.YESTERDAY and period is not Period.LAST_MONTH:
        assert start <= now < end
    else:
        assert end <= now


@given(instants)
def test_a_day_lasts_23_24_or_25_hours(now):
    start, end = resolve_period("today", now)
    assert end - start in {timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)}
    assert resolve_period("yesterday", now)[1] == start
    assert resolve_period("last_month", now)[1] == resolve_period("this_month", now)[0]
