"""Simulated time: UTC milliseconds, the local wall clock, random durations."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("simulated times must be timezone-aware")
    return int(when.timestamp() * 1000)


def loguniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def hours_ms(rng: random.Random, bounds: tuple[float, float]) -> int:
    return max(1000, int(loguniform(rng, bounds) * HOUR_MS))


class LocalTime:
    """UTC milliseconds → local wall-clock facts, the UTC offset cached per hour."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, int] = {}
        self._days: dict[int, tuple[int, int]] = {}

    def offset_ms(self, t: int) -> int:
        hour = t // HOUR_MS
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.tz)
            delta = moment.utcoffset()
            offset = int(delta.total_seconds() * 1000) if delta is not None else 0
            self._offsets[hour] = offset
        return offset

    def local_ms(self, t: int) -> int:
        return t + self.offset_ms(t)

    def hour(self, t: int) -> float:
        """Local time of day in hours, 0 ≤ h < 24."""
        return (self.local_ms(t) % DAY_MS) / HOUR_MS

    def day(self, t: int) -> int:
        """Local day number (days since 1970-01-01)."""
        return self.local_ms(t) // DAY_MS

    def day_facts(self, day: int) -> tuple[int, int]:
        """(weekday with Monday = 0, day of year 1-366) of a local day number."""
        facts = self._days.get(day)
        if facts is None:
            d = date.fromordinal(EPOCH_ORDINAL + day)
            facts = (d.weekday(), d.timetuple().tm_yday)
            self._days[day] = facts
        return facts

    def utc_ms(self, day: int, hours: float) -> int:
        """The UTC instant of a local day number and time of day."""
        local = day * DAY_MS + int(hours * HOUR_MS)
        return local - self.offset_ms(local - self.offset_ms(local))
