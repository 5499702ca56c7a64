from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from kit.dates import format_date, format_instant, format_time, format_weekday_date


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fr", "1 août 2026"), ("nl", "1 augustus 2026"), ("en", "1 August 2026"), ("fr-BE", "1 août 2026")],
)
def test_a_date_reads_as_each_language_writes_it(lang, expected):
    assert format_date(date(2026, 8, 1), lang) == expected


def test_a_weekday_date_names_the_day():
    d = date(2026, 10, 15)
    assert format_weekday_date(d, "fr") == "jeudi 15 octobre 2026"
    assert format_weekday_date(d, "nl") == "donderdag 15 oktober 2026"
    assert format_weekday_date(d, "en") == "Thursday 15 October 2026"


def test_an_instant_is_read_in_the_schools_time_across_daylight_saving():
    winter = datetime(2026, 12, 12, 13, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert format_instant(winter, "fr") == "12 décembre 2026 à 14:30"
    assert format_instant(summer, "nl") == "1 juli 2026 om 15:30"
    assert format_instant(winter, "en", ZoneInfo("Europe/London")) == "12 December 2026 at 13:30"
    assert format_time(winter.astimezone(ZoneInfo("Europe/Brussels")), "en") == "14:30"


def test_a_naive_instant_is_refused_rather_than_read_an_hour_off():
    with pytest.raises(ValueError, match="offset"):
        format_instant(datetime(2026, 12, 12, 13, 30), "fr")  # noqa: DTZ001


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unsupported locale"):
        format_date(date(2026, 1, 1), "de")
