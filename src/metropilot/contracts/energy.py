"""Lighting energy of the performance contract, modelled from the astronomical clock. Pure.

A lamp burns every night from dusk to dawn at its location, at the level its dimming program sets
by local time, except while it is failed. Its energy over a period is its power times the
integral of the level over the burning time clipped to the period; its baseline is what the lamps
it replaced would have drawn over the same nights.

Assumptions (the contract does not say otherwise):

- **Night.** By default a night runs from sunset to the next sunrise (the sun's upper limb on the
  horizon with standard refraction, 0.833°), which is what astronomical clocks without an offset
  switch on. ``NightDefinition.CIVIL_TWILIGHT`` (sun 6° below the horizon) is the other choice;
  the two differ by about 35 minutes a night at the latitude of Burgundy.
- **Baseline.** The lamps before LED conversion were neither dimmed nor switched off: the baseline
  is the baseline power at 100% over the whole night, minus the time the lamp was failed (the same
  lamp in the same state of repair), so a lights-off program counts as a saving.
- **Local times.** Dimming steps are local wall-clock times. On the spring change a step at a time
  that does not exist (02:30) takes effect at the instant the clock jumps to (03:30 CEST); on the
  autumn change an ambiguous time takes its first occurrence. So 23:00 → 05:00 lasts 5 h of real
  time on the spring night and 7 h on the autumn one.
- **Target trajectory.** The saving target grows linearly from 0% in the contract's first year to
  the final target in its last year, and holds after it.

Many lamps are summed fast: a night is computed once per location cell (``grid_deg``, 0.01° by
default, about one kilometre and at most ~2.4 s of sunset time) and day, and a program's level
curve once per cell and night, as running integrals; a lamp's figures are then two look-ups per
period bound and per failure.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from astral import Observer
from astral import sun as astral_sun

from metropilot.shared.errors import InvalidInput, Problem

__all__ = [
    "DAWN",
    "DEFAULT_TIMEZONE",
    "DUSK",
    "DimmingProgram",
    "DimmingStep",
    "EnergyFigures",
    "EnergyModel",
    "Lamp",
    "MoneyAndCarbon",
    "NightDefinition",
    "Outcome",
    "Plan",
    "Tariff",
    "WhatIf",
    "burning_intervals",
    "energy",
    "level_at",
    "money_and_carbon",
    "saving_pct",
    "target_trajectory",
    "what_if",
]

DEFAULT_TIMEZONE = "Europe/Paris"
DUSK = "dusk"
DAWN = "dawn"
SECONDS_PER_HOUR = 3600.0
NOON = 12 * 60  # minutes; a night's clock times are ordered from noon to the next noon
MINUTES_PER_DAY = 24 * 60
CIVIL_DEPRESSION_DEG = 6.0


class NightDefinition(StrEnum):
    SUNSET_SUNRISE = "sunset_sunrise"
    CIVIL_TWILIGHT = "civil_twilight"


# --------------------------------------------------------------------------- dimming programs

Anchor = str | time  # DUSK, DAWN or a local clock time


@dataclass(frozen=True, slots=True)
class DimmingStep:
    """The level (0–100 %) from ``start`` to ``end``; each is ``DUSK``, ``DAWN`` or a clock time."""

    start: Anchor
    end: Anchor
    level: float


def _night_minute(at: time) -> int:
    """Minutes since the noon that opens the night, so that 23:00 comes before 05:00."""
    return (at.hour * 60 + at.minute - NOON) % MINUTES_PER_DAY


def _parse_anchor(value: Any, loc: str, problems: list[Problem]) -> Anchor | None:
    if value in (DUSK, DAWN):
        return str(value)
    if isinstance(value, str):
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and len(value) == 5 and value[2] == ":":
            return parsed
    problems.append(Problem(loc, f"must be 'dusk', 'dawn' or a local time HH:MM, not {value!r}"))
    return None


def _anchor_text(anchor: Anchor) -> str:
    return anchor if isinstance(anchor, str) else anchor.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class DimmingProgram:
    """Contiguous steps covering the night from dusk to dawn, in local time.

    Steps in between are bounded by clock times in night order (evening before morning). A step
    whose clock window falls outside a given night (dusk after 23:00, say) is simply empty.
    """

    name: str
    steps: tuple[DimmingStep, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DimmingProgram:
        """``{"name": …, "steps": [{"from": "dusk", "to": "23:00", "level": 100}, …]}``."""
        problems: list[Problem] = []
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem("name", "must be a non-empty string"))
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            problems.append(Problem("steps", "must be a non-empty list of steps"))
            raise InvalidInput("invalid dimming program", details=problems)
        steps: list[DimmingStep] = []
        for index, raw in enumerate(raw_steps):
            loc = f"steps[{index}]"
            if not isinstance(raw, Mapping):
                problems.append(Problem(loc, "must be an object with 'from', 'to' and 'level'"))
                continue
            start = _parse_anchor(raw.get("from"), f"{loc}.from", problems)
            end = _parse_anchor(raw.get("to"), f"{loc}.to", problems)
            level = raw.get("level")
            if (
                isinstance(level, bool)
                or not isinstance(level, int | float)
                or not math.isfinite(level)
                or not 0 <= level <= 100
            ):
                problems.append(Problem(f"{loc}.level", f"must be a number 0–100, not {level!r}"))
                continue
            if start is not None and end is not None:
                steps.append(DimmingStep(start, end, float(level)))
        if problems:
            raise InvalidInput("invalid dimming program", details=problems)
        assert isinstance(name, str)
        return cls(name.strip(), _validated_steps(steps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "steps": [
                {"from": _anchor_text(s.start), "to": _anchor_text(s.end), "level": s.level}
                for s in self.steps
            ],
        }

    def clock_changes(self) -> tuple[float, tuple[tuple[time, float], ...]]:
        """The level at dusk and the (clock time, new level) changes through the night."""
        changes = tuple((s.start, s.level) for s in self.steps[1:] if isinstance(s.start, time))
        return self.steps[0].level, changes


def _validated_steps(steps: Sequence[DimmingStep]) -> tuple[DimmingStep, ...]:
    problems: list[Problem] = []
    last = len(steps) - 1
    if steps[0].start != DUSK:
        problems.append(Problem("steps[0].from", "the first step must start at 'dusk'"))
    if steps[last].end != DAWN:
        problems.append(Problem(f"steps[{last}].to", "the last step must end at 'dawn'"))
    for index, step in enumerate(steps):
        if index > 0 and step.start in (DUSK, DAWN):
            problems.append(Problem(f"steps[{index}].from", "only the first step starts at dusk"))
        if index < last and step.end in (DUSK, DAWN):
            problems.append(Problem(f"steps[{index}].to", "only the last step ends at dawn"))
    for index in range(last):
        if steps[index].end != steps[index + 1].start:
            problems.append(
                Problem(
                    f"steps[{index + 1}].from",
                    f"must be {_anchor_text(steps[index].end)!r}, where the step before ends",
                )
            )
    boundaries = [s.start for s in steps[1:] if isinstance(s.start, time)]
    for earlier, later in itertools.pairwise(boundaries):
        if _night_minute(later) <= _night_minute(earlier):
            problems.append(
                Problem(
                    "steps",
                    f"{_anchor_text(later)} must come after {_anchor_text(earlier)} in the night "
                    "(evening times before morning times, noon to noon)",
                )
            )
    if problems:
        raise InvalidInput("invalid dimming program", details=problems)
    return tuple(steps)


# --------------------------------------------------------------------------- lamps


Interval = tuple[datetime, datetime]


def _require_aware(value: datetime, loc: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{loc} must carry a time zone", details=[Problem(loc, "naive time")])


def _check_interval(start: datetime, end: datetime, loc: str) -> None:
    _require_aware(start, f"{loc}.start")
    _require_aware(end, f"{loc}.end")
    if end <= start:
        raise InvalidInput(
            f"{loc} must end after it starts",
            details=[Problem(loc, f"ends at {end.isoformat()}, not after {start.isoformat()}")],
        )


@dataclass(frozen=True, slots=True)
class Lamp:
    """The facts the energy calculation needs about one lamp.

    ``power_w`` is the nominal power now; ``baseline_power_w`` that of the lamp it replaced before
    LED conversion (equal to ``power_w`` if it was never converted). A lamp burns nothing during
    its ``failures``.
    """

    ref: str
    lon: float
    lat: float
    power_w: float
    baseline_power_w: float
    program: DimmingProgram
    technology: str = "led"
    commune: str = ""
    failures: tuple[Interval, ...] = field(default=())

    def __post_init__(self) -> None:
        for loc, power in (("power_w", self.power_w), ("baseline_power_w", self.baseline_power_w)):
            if not math.isfinite(power) or power < 0:
                raise InvalidInput(
                    f"lamp {self.ref}: {loc} must be a finite number ≥ 0",
                    details=[Problem(loc, f"{power!r} is not a power in watts")],
                )
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise InvalidInput(
                f"lamp {self.ref}: location out of range",
                details=[Problem("lon/lat", f"({self.lon}, {self.lat}) is not a WGS84 point")],
            )
        for index, (start, end) in enumerate(self.failures):
            _check_interval(start, end, f"failures[{index}]")


@dataclass(frozen=True, slots=True)
class EnergyFigures:
    current_kwh: float
    baseline_kwh: float
    burning_hours: float  # hours actually lit (level > 0, not failed)
    scheduled_hours: float = 0.0  # hours the program meant it lit (level > 0), failed or not

    def __add__(self, other: EnergyFigures) -> EnergyFigures:
        return EnergyFigures(
            self.current_kwh + other.current_kwh,
            self.baseline_kwh + other.baseline_kwh,
            self.burning_hours + other.burning_hours,
            self.scheduled_hours + other.scheduled_hours,
        )


ZERO = EnergyFigures(0.0, 0.0, 0.0, 0.0)


# --------------------------------------------------------------------------- nights


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", details=[Problem("tz", str(exc))]) from exc


@lru_cache(maxsize=1 << 20)
def _sun_event(
    lon: float, lat: float, day: date, tz: str, definition: NightDefinition, evening: bool
) -> float:
    """Sunset/dusk (``evening``) or sunrise/dawn on the local ``day``, in UTC epoch seconds."""
    observer = Observer(latitude=lat, longitude=lon)
    zone = ZoneInfo(tz)
    try:
        if definition is NightDefinition.CIVIL_TWILIGHT:
            when = (astral_sun.dusk if evening else astral_sun.dawn)(
                observer, day, CIVIL_DEPRESSION_DEG, tzinfo=zone
            )
        else:
            when = (astral_sun.sunset if evening else astral_sun.sunrise)(
                observer, day, tzinfo=zone
            )
    except ValueError as exc:  # polar day or night: the sun never crosses the threshold
        raise InvalidInput(
            f"no {'dusk' if evening else 'dawn'} at ({lon}, {lat}) on {day}",
            details=[Problem("lon/lat", "the astronomical clock needs a daily dusk and dawn")],
        ) from exc
    return when.timestamp()


def _night_seconds(
    lon: float, lat: float, day: date, tz: str, definition: NightDefinition
) -> tuple[float, float]:
    """The night that begins on the local ``day``: dusk that day, dawn the next."""
    return (
        _sun_event(lon, lat, day, tz, definition, True),
        _sun_event(lon, lat, day + timedelta(days=1), tz, definition, False),
    )


def burning_intervals(
    lon: float,
    lat: float,
    first_day: date,
    last_day: date,
    tz: str = DEFAULT_TIMEZONE,
    definition: NightDefinition = NightDefinition.SUNSET_SUNRISE,
) -> list[Interval]:
    """The nights beginning on each local day from ``first_day`` to ``last_day`` included.

    Each is (dusk, next dawn) as aware datetimes in ``tz``, computed at the exact location.
    """
    zone = _zone(tz)
    if last_day < first_day:
        raise InvalidInput(
            "last_day must not be before first_day",
            details=[Problem("last_day", f"{last_day} is before {first_day}")],
        )
    nights: list[Interval] = []
    day = first_day
    while day <= last_day:
        dusk, dawn = _night_seconds(lon, lat, day, tz, definition)
        nights.append((datetime.fromtimestamp(dusk, zone), datetime.fromtimestamp(dawn, zone)))
        day += timedelta(days=1)
    return nights


def level_at(
    program: DimmingProgram,
    lon: float,
    lat: float,
    at: datetime,
    tz: str = DEFAULT_TIMEZONE,
    definition: NightDefinition = NightDefinition.SUNSET_SUNRISE,
) -> float | None:
    """The level (0–100) the program asks for at an instant at a place, or None in daytime
    (lamps are off between dawn and dusk whatever the program)."""
    _require_aware(at, "at")
    zone = _zone(tz)
    local = at.astimezone(zone)
    for dusk, dawn in burning_intervals(
        lon, lat, local.date() - timedelta(days=1), local.date(), tz, definition
    ):
        if dusk <= at < dawn:
            break
    else:
        return None
    minute = _night_minute(local.time())
    level = program.steps[0].level
    for step in program.steps[1:]:
        if isinstance(step.start, time) and minute >= _night_minute(step.start):
            level = step.level
    return level


# --------------------------------------------------------------------------- level curves


@dataclass(frozen=True, slots=True)
class _Curve:
    """Running integrals of a step function over time (UTC epoch seconds).

    On ``[bounds[k], bounds[k + 1])`` the lamp is in the night ``dark[k]`` at level ``levels[k]``
    (a fraction); ``night_h``, ``level_h`` and ``lit_h`` hold the integrals up to ``bounds[k]``.
    """

    bounds: list[float]
    levels: list[float]
    dark: list[bool]
    night_h: list[float]
    level_h: list[float]
    lit_h: list[float]

    def at(self, t: float) -> tuple[float, float, float]:
        """(night hours, level-weighted hours, lit hours) from the curve's origin up to ``t``."""
        bounds = self.bounds
        if t <= bounds[0]:
            return 0.0, 0.0, 0.0
        if t >= bounds[-1]:
            return self.night_h[-1], self.level_h[-1], self.lit_h[-1]
        k = bisect.bisect_right(bounds, t) - 1
        hours = (t - bounds[k]) / SECONDS_PER_HOUR
        level = self.levels[k]
        return (
            self.night_h[k] + (hours if self.dark[k] else 0.0),
            self.level_h[k] + level * hours,
            self.lit_h[k] + (hours if level > 0 else 0.0),
        )

    def between(self, start: float, end: float) -> tuple[float, float, float]:
        a, b = self.at(start), self.at(end)
        return b[0] - a[0], b[1] - a[1], b[2] - a[2]


def _build_curve(
    lon: float,
    lat: float,
    program: DimmingProgram,
    first_day: date,
    last_day: date,
    tz: str,
    definition: NightDefinition,
) -> _Curve:
    zone = ZoneInfo(tz)
    dusk_level, changes = program.clock_changes()
    bounds: list[float] = []
    levels: list[float] = []
    dark: list[bool] = []

    def append(start: float, end: float, level: float, is_dark: bool) -> None:
        if end > start:
            bounds.append(start)
            levels.append(level / 100.0)
            dark.append(is_dark)

    cursor: float | None = None
    day = first_day
    while day <= last_day:
        dusk, dawn = _night_seconds(lon, lat, day, tz, definition)
        if cursor is not None:
            append(cursor, dusk, 0.0, False)
        following = day + timedelta(days=1)
        level = dusk_level
        segment_start = dusk
        for at, next_level in changes:
            on_day = day if _night_minute(at) < NOON else following
            instant = datetime.combine(on_day, at, tzinfo=zone).timestamp()
            if instant <= dusk:
                level = next_level  # the step began before dusk: it holds at dusk
            elif instant < dawn:
                append(segment_start, instant, level, True)
                segment_start, level = instant, next_level
        append(segment_start, dawn, level, True)
        cursor = dawn
        day = following
    assert cursor is not None
    bounds.append(cursor)

    night_h, level_h, lit_h = [0.0], [0.0], [0.0]
    for k, level in enumerate(levels):
        hours = (bounds[k + 1] - bounds[k]) / SECONDS_PER_HOUR
        night_h.append(night_h[-1] + (hours if dark[k] else 0.0))
        level_h.append(level_h[-1] + level * hours)
        lit_h.append(lit_h[-1] + (hours if level > 0 else 0.0))
    return _Curve(bounds, levels, dark, night_h, level_h, lit_h)


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# --------------------------------------------------------------------------- the model


class EnergyModel:
    """Energy of lamps over periods, with nights and level curves cached across calls."""

    def __init__(
        self,
        tz: str = DEFAULT_TIMEZONE,
        definition: NightDefinition = NightDefinition.SUNSET_SUNRISE,
        grid_deg: float = 0.01,
    ) -> None:
        self._zone = _zone(tz)
        self._tz = tz
        self._definition = definition
        if not grid_deg > 0:
            raise InvalidInput("grid_deg must be > 0", details=[Problem("grid_deg", "≤ 0")])
        self._grid_deg = grid_deg
        self._curves: dict[tuple[float, float, DimmingProgram, date, date], _Curve] = {}

    def _cell(self, lon: float, lat: float) -> tuple[float, float]:
        grid = self._grid_deg
        return round(round(lon / grid) * grid, 6), round(round(lat / grid) * grid, 6)

    def _days(self, start: datetime, end: datetime) -> tuple[date, date]:
        # The night that began the evening before the period's first local day may run into it.
        first = start.astimezone(self._zone).date() - timedelta(days=1)
        return first, end.astimezone(self._zone).date()

    def _curve(self, lamp: Lamp, program: DimmingProgram, days: tuple[date, date]) -> _Curve:
        return self._curve_at(lamp.lon, lamp.lat, program, days)

    def _curve_at(
        self, lon: float, lat: float, program: DimmingProgram, days: tuple[date, date]
    ) -> _Curve:
        lon, lat = self._cell(lon, lat)
        key = (lon, lat, program, days[0], days[1])
        curve = self._curves.get(key)
        if curve is None:
            curve = _build_curve(lon, lat, program, *days, self._tz, self._definition)
            self._curves[key] = curve
        return curve

    def cell(self, lon: float, lat: float) -> tuple[float, float]:
        """The grid cell a location's nights are computed at: lamps sharing a cell and a
        program burn the same hours."""
        return self._cell(lon, lat)

    def hours(
        self,
        lon: float,
        lat: float,
        program: DimmingProgram,
        period_start: datetime,
        period_end: datetime,
    ) -> tuple[float, float, float]:
        """Over ``[period_start, period_end)`` at a location, with no failure: the night hours,
        the level-weighted hours (× power = energy) and the hours lit (level > 0)."""
        _check_interval(period_start, period_end, "period")
        curve = self._curve_at(lon, lat, program, self._days(period_start, period_end))
        return curve.between(period_start.timestamp(), period_end.timestamp())

    def energy(
        self,
        lamp: Lamp,
        period_start: datetime,
        period_end: datetime,
        *,
        program: DimmingProgram | None = None,
        power_w: float | None = None,
    ) -> EnergyFigures:
        """One lamp's figures over ``[period_start, period_end)``; ``program``/``power_w`` override
        the lamp's own (for what-ifs)."""
        _check_interval(period_start, period_end, "period")
        return self._energy(lamp, period_start, period_end, program, power_w)

    def _energy(
        self,
        lamp: Lamp,
        period_start: datetime,
        period_end: datetime,
        program: DimmingProgram | None,
        power_w: float | None,
    ) -> EnergyFigures:
        days = self._days(period_start, period_end)
        curve = self._curve(lamp, program or lamp.program, days)
        start, end = period_start.timestamp(), period_end.timestamp()
        night_h, level_h, lit_h = curve.between(start, end)
        scheduled_h = lit_h
        failures = _merged(
            (max(a.timestamp(), start), min(b.timestamp(), end)) for a, b in lamp.failures
        )
        for failed_from, failed_to in failures:
            if failed_to > failed_from:
                lost = curve.between(failed_from, failed_to)
                night_h, level_h, lit_h = night_h - lost[0], level_h - lost[1], lit_h - lost[2]
        power = lamp.power_w if power_w is None else power_w
        return EnergyFigures(
            current_kwh=power * level_h / 1000.0,
            baseline_kwh=lamp.baseline_power_w * night_h / 1000.0,
            burning_hours=lit_h,
            scheduled_hours=scheduled_h,
        )

    def total(
        self, lamps: Iterable[Lamp], period_start: datetime, period_end: datetime
    ) -> EnergyFigures:
        """The sum of the lamps' figures over the period."""
        _check_interval(period_start, period_end, "period")
        total = ZERO
        for lamp in lamps:
            total = total + self._energy(lamp, period_start, period_end, None, None)
        return total


def energy(
    lamp: Lamp,
    period_start: datetime,
    period_end: datetime,
    tz: str = DEFAULT_TIMEZONE,
    definition: NightDefinition = NightDefinition.SUNSET_SUNRISE,
) -> EnergyFigures:
    """One lamp's figures over ``[period_start, period_end)``; :class:`EnergyModel` for many."""
    return EnergyModel(tz, definition).energy(lamp, period_start, period_end)


# --------------------------------------------------------------------------- money, targets


@dataclass(frozen=True, slots=True)
class MoneyAndCarbon:
    eur: float
    co2_kg: float


def money_and_carbon(kwh: float, eur_per_kwh: float, kg_co2_per_kwh: float) -> MoneyAndCarbon:
    """The cost at a flat tariff and the emissions at a flat factor of ``kwh``."""
    for loc, value in (("eur_per_kwh", eur_per_kwh), ("kg_co2_per_kwh", kg_co2_per_kwh)):
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(f"{loc} must be ≥ 0", details=[Problem(loc, f"{value!r}")])
    return MoneyAndCarbon(eur=kwh * eur_per_kwh, co2_kg=kwh * kg_co2_per_kwh)


def saving_pct(baseline_kwh: float, current_kwh: float) -> float:
    """How much less than the baseline the current consumption is, in % of the baseline."""
    if not baseline_kwh > 0:
        raise InvalidInput(
            "the saving needs a positive baseline",
            details=[Problem("baseline_kwh", f"{baseline_kwh!r} kWh")],
        )
    return (baseline_kwh - current_kwh) / baseline_kwh * 100.0


def target_trajectory(start_year: int, end_year: int, final_target_pct: float, year: int) -> float:
    """The saving target for ``year``: 0% in ``start_year``, rising linearly to
    ``final_target_pct`` in ``end_year`` (the contract's last year), 0 before and flat after."""
    if end_year <= start_year:
        raise InvalidInput(
            "the contract must end after the year it starts",
            details=[Problem("end_year", f"{end_year} is not after {start_year}")],
        )
    if not 0 <= final_target_pct <= 100:
        raise InvalidInput(
            "the final target must be 0–100%",
            details=[Problem("final_target_pct", f"{final_target_pct!r}")],
        )
    share = min(max((year - start_year) / (end_year - start_year), 0.0), 1.0)
    return final_target_pct * share


# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True, slots=True)
class Tariff:
    eur_per_kwh: float
    kg_co2_per_kwh: float


@dataclass(frozen=True, slots=True)
class Plan:
    """A candidate change: programs per lamp (which win) or per commune, and new powers per lamp
    (a conversion plan). Lamps it does not name keep what they have."""

    programs_by_lamp: Mapping[str, DimmingProgram] = field(default_factory=dict)
    programs_by_commune: Mapping[str, DimmingProgram] = field(default_factory=dict)
    power_w_by_lamp: Mapping[str, float] = field(default_factory=dict)

    def program_for(self, lamp: Lamp) -> DimmingProgram:
        return self.programs_by_lamp.get(
            lamp.ref, self.programs_by_commune.get(lamp.commune, lamp.program)
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    kwh: float
    eur: float
    co2_kg: float


@dataclass(frozen=True, slots=True)
class WhatIf:
    current: Outcome
    candidate: Outcome
    baseline_kwh: float

    @property
    def kwh_saved(self) -> float:
        return self.current.kwh - self.candidate.kwh

    @property
    def eur_saved(self) -> float:
        return self.current.eur - self.candidate.eur

    @property
    def co2_kg_saved(self) -> float:
        return self.current.co2_kg - self.candidate.co2_kg


def what_if(
    lamps: Iterable[Lamp],
    plan: Plan,
    period_start: datetime,
    period_end: datetime,
    tariff: Tariff,
    model: EnergyModel | None = None,
) -> WhatIf:
    """The lamps' kWh, € and CO₂ over the period now and under ``plan`` (pass a year for annual
    figures). Failures are kept as recorded, in both."""
    _check_interval(period_start, period_end, "period")
    model = model or EnergyModel()
    for ref, power in plan.power_w_by_lamp.items():
        if not math.isfinite(power) or power < 0:
            raise InvalidInput(
                "planned powers must be ≥ 0", details=[Problem(f"power_w_by_lamp.{ref}", "< 0")]
            )
    current = candidate = baseline = 0.0
    for lamp in lamps:
        now = model.energy(lamp, period_start, period_end)
        then = model.energy(
            lamp,
            period_start,
            period_end,
            program=plan.program_for(lamp),
            power_w=plan.power_w_by_lamp.get(lamp.ref),
        )
        current += now.current_kwh
        candidate += then.current_kwh
        baseline += now.baseline_kwh

    def outcome(kwh: float) -> Outcome:
        money = money_and_carbon(kwh, tariff.eur_per_kwh, tariff.kg_co2_per_kwh)
        return Outcome(kwh, money.eur, money.co2_kg)

    return WhatIf(outcome(current), outcome(candidate), baseline)
