"""Numbers, percentages and dates as each language writes them, by the locale's rules (Babel).

English: ``34,000``, ``87.4%``, ``7 Dec 2026, 14:05``. French: ``34 000`` (narrow no-break
space), ``87,4 %`` (no-break space before the sign), ``7 déc. 2026, 14:05``. Times are shown
in the metropolis's time zone, whatever the server's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import NumberPattern, format_decimal, parse_pattern

__all__ = ["METROPOLIS_TIME", "format_date", "format_number", "format_percent"]

METROPOLIS_TIME: Final = ZoneInfo("Europe/Paris")
DATE_TIME_PATTERN: Final = "d MMM y, HH:mm"
DATE_PATTERN: Final = "d MMM y"


@cache
def _percent_pattern(lang: str) -> NumberPattern:
    """The locale's percent pattern (``#,##0%``, ``#,##0 %``) with exactly one decimal."""
    pattern = parse_pattern(Locale.parse(lang).percent_formats[None].pattern)
    pattern.frac_prec = (1, 1)
    return pattern


def format_number(value: float, lang: str) -> str:
    """A count or an amount: whole numbers as they are, others with one decimal."""
    decimals = "#,##0" if float(value).is_integer() else "#,##0.0"
    return format_decimal(value, format=decimals, locale=lang)


def format_percent(value: float, lang: str) -> str:
    """A share given in percent (87.42 → ``87.4%``, ``87,4 %``), always with one decimal."""
    # Decimal: 55.55 is rounded as written, not as its nearest binary fraction.
    return str(_percent_pattern(lang).apply(Decimal(str(value)) / 100, Locale.parse(lang)))


def format_date(value: datetime | None, lang: str, *, with_time: bool = True) -> str:
    """An instant in the metropolis's time: ``7 Dec 2026, 14:05`` (or the day alone)."""
    if value is None:
        return ""
    pattern = DATE_TIME_PATTERN if with_time else DATE_PATTERN
    return format_datetime(value, pattern, tzinfo=METROPOLIS_TIME, locale=lang)
