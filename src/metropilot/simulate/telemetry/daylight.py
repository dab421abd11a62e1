"""When the street lights burn: dusk and dawn by an astronomical clock, the dimming profile."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral import sun as astral_sun

from metropilot.simulate.telemetry.city import City
from metropilot.simulate.telemetry.clock import HOUR_MS, ms
from metropilot.simulate.telemetry.config import SimConfig


class LightingCalendar:
    """When the lights of one commune burn, and at which level, as a step function of time.

    Nights run from dusk to the next dawn (the sun ``depression`` degrees below the horizon at
    the commune's centre); within a night the dimming profile sets the level by local time. The
    running integrals of the level (%·h) and of the burning time (h) let a lamp's energy and
    hours between two instants be two look-ups. The calendar extends itself night by night.
    """

    def __init__(
        self,
        lon: float,
        lat: float,
        tz: ZoneInfo,
        depression: float,
        dimming: Sequence[tuple[time, float]],
        origin_ms: int,
    ) -> None:
        self._observer = Observer(latitude=lat, longitude=lon)
        self._tz = tz
        self._depression = depression
        self._steps = sorted(dimming)
        first_day = datetime.fromtimestamp(origin_ms / 1000, tz).date() - timedelta(days=1)
        self._next_day = first_day
        noon = self._local_ms(first_day, time(12, 0))
        self._bounds: list[int] = [noon]
        self._levels: list[float] = []  # level on [bounds[k], bounds[k + 1])
        self._level_h: list[float] = [0.0]  # ∫ level dt up to bounds[k], in %·h
        self._on_h: list[float] = [0.0]  # ∫ burning dt up to bounds[k], in h

    def _local_ms(self, day: date, at: time) -> int:
        return ms(datetime.combine(day, at, tzinfo=self._tz))

    def _level_at(self, at: time) -> float:
        level = self._steps[-1][1]
        for start, step_level in self._steps:
            if start <= at:
                level = step_level
        return level

    def _night(self, day: date) -> tuple[int, int]:
        """Dusk on ``day`` and dawn on the next, in UTC milliseconds."""
        following = day + timedelta(days=1)
        try:
            dusk = astral_sun.dusk(self._observer, day, self._depression, tzinfo=self._tz)
            dawn = astral_sun.dawn(self._observer, following, self._depression, tzinfo=self._tz)
            return ms(dusk), ms(dawn)
        except ValueError:  # polar day or night: the sun never crosses the threshold
            midnight = datetime.combine(following, time(0), tzinfo=self._tz)
            dark = astral_sun.elevation(self._observer, midnight) < -self._depression
            noon, next_noon = self._local_ms(day, time(12)), self._local_ms(following, time(12))
            return (noon, next_noon) if dark else (next_noon, next_noon)

    def _append(self, until: int, level: float) -> None:
        start = self._bounds[-1]
        if until <= start:
            return
        hours = (until - start) / HOUR_MS
        self._levels.append(level)
        self._level_h.append(self._level_h[-1] + level * hours)
        self._on_h.append(self._on_h[-1] + (hours if level > 0 else 0.0))
        self._bounds.append(until)

    def _add_night(self) -> None:
        day = self._next_day
        dusk, dawn = self._night(day)
        dusk = max(dusk, self._bounds[-1])
        self._append(dusk, 0.0)
        if dawn > dusk:
            changes: list[tuple[int, float]] = []
            for on_day in (day, day + timedelta(days=1)):
                for start, level in self._steps:
                    instant = self._local_ms(on_day, start)
                    if dusk < instant < dawn:
                        changes.append((instant, level))
            changes.sort()
            dusk_time = datetime.fromtimestamp(dusk / 1000, self._tz).time()
            level = self._level_at(dusk_time)
            for instant, next_level in changes:
                self._append(instant, level)
                level = next_level
            self._append(dawn, level)
        self._next_day = day + timedelta(days=1)

    def state(self, t: int) -> tuple[float, float, float]:
        """(level %, ∫ level in %·h, ∫ burning in h) at ``t`` (UTC milliseconds)."""
        bounds = self._bounds
        while t >= bounds[-1]:
            self._add_night()
        if t < bounds[0]:
            raise ValueError("the lighting calendar starts the day before the simulation")
        k = bisect.bisect_right(bounds, t) - 1
        level = self._levels[k]
        hours = (t - bounds[k]) / HOUR_MS
        return (
            level,
            self._level_h[k] + level * hours,
            self._on_h[k] + (hours if level > 0 else 0.0),
        )

    def level(self, t: int) -> float:
        return self.state(t)[0]


def commune_calendars(
    city: City, tz: ZoneInfo, config: SimConfig, start_ms: int
) -> dict[str, LightingCalendar]:
    """A lighting calendar per commune, at its centre (or the mean of its assets if unknown)."""
    centres = dict(city.centres)
    for asset in city.assets:  # communes without a known centre: the mean of their assets
        if asset.commune not in centres:
            mine = [a for a in city.assets if a.commune == asset.commune]
            centres[asset.commune] = (
                sum(a.lon for a in mine) / len(mine),
                sum(a.lat for a in mine) / len(mine),
            )
    return {
        insee: LightingCalendar(lon, lat, tz, config.sun_depression_deg, config.dimming, start_ms)
        for insee, (lon, lat) in sorted(centres.items())
    }
