"""Numbers, percentages and dates as each language writes them (Babel, the locale's rules)."""

from __future__ import annotations

from datetime import UTC, datetime

from metropilot.web.formatting import format_date, format_number, format_percent


def test_numbers_group_thousands_as_each_language_does() -> None:
    assert format_number(156920, "en") == "156,920"
    assert format_number(156920, "fr") == "156\u202f920"
    assert format_number(1234.56, "en") == "1,234.6"
    assert format_number(1234.56, "fr") == "1\u202f234,6"


def test_percentages_keep_one_decimal_and_the_french_space() -> None:
    assert format_percent(100, "en") == "100.0%"
    assert format_percent(100, "fr") == "100,0\u00a0%"
    assert format_percent(55.55, "fr") == "55,6\u00a0%"  # rounded as written, half to even
    assert format_percent(0, "fr") == "0,0\u00a0%"


def test_dates_are_in_paris_time_and_the_page_language() -> None:
    summer = datetime(2026, 7, 14, 22, 30, tzinfo=UTC)  # 00:30 the next day in Paris
    assert format_date(summer, "en") == "15 Jul 2026, 00:30"
    assert format_date(summer, "fr") == "15 juil. 2026, 00:30"
    winter = datetime(2026, 2, 3, 8, 5, tzinfo=UTC)
    assert format_date(winter, "fr") == "3 févr. 2026, 09:05"
    assert format_date(winter, "en", with_time=False) == "3 Feb 2026"
    assert format_date(None, "fr") == ""
