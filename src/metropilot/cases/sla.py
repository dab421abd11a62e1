"""Service-level clocks: when a response or a resolution is due, and how much of the time is used.

Pure: no database, no framework. Two kinds of clock:

* a **calendar** clock counts real elapsed time, 24/7. Four hours across a daylight-saving change
  are four real hours, so the wall clock may show three or five hours later;
* a **business** clock counts only the time inside the working windows of a `BusinessCalendar`
  (local wall-clock hours per weekday, in Europe/Paris by default, minus public holidays and
  extra closed dates).

A clock can be paused while the case waits on a third party; a `Pause` is a half-open interval
``[started_at, ended_at)`` with its reason, ``ended_at`` being ``None`` while it lasts. Paused
time does not count, so a pause pushes the deadline later by exactly the counted time it covers
(nothing, for a business clock paused outside working hours).

Every input instant must be timezone-aware; every output instant is aware UTC. Deadlines are
found by walking whole working windows, a day at a time, so a deadline weeks away costs a few
dozen steps, not one per minute.

How local window boundaries become instants, where the wall clock is irregular:

* a boundary that does not exist (inside the hour skipped when clocks go forward) falls at the
  moment of the jump: a window "until 02:30" on 2026-03-29 in Paris ends at 03:00 CEST, when the
  clock has passed 02:30;
* a boundary that exists twice (inside the hour repeated when clocks go back) is its first
  occurrence;
* "24:00" is midnight at the end of the day, so a window may run to the end of the day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from metropilot.shared.errors import Conflict, InvalidInput, Problem

__all__ = [
    "DEFAULT_WARNING_FRACTION",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarSpec",
    "ClockKind",
    "Pause",
    "SlaState",
    "SlaTimer",
    "Weekday",
    "add_duration",
    "deadline_with_pauses",
    "elapsed",
    "parse_calendar_spec",
    "paused_time",
]

DEFAULT_WARNING_FRACTION = 0.8
"""The share of the target after which a warning is due (the issue's "80% of the time")."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MINUTES_PER_DAY = 24 * 60
ZERO = timedelta(0)
# Where a calendar clock's single counting interval "ends": far enough never to be reached by a
# real deadline, near enough that adding a target to an instant before it cannot overflow.
END_OF_TIME = datetime(9000, 1, 1, tzinfo=UTC)
# Day windows are cached per calendar; beyond this many days the cache starts afresh, so a
# long-lived calendar's memory stays bounded.
WINDOW_CACHE_DAYS = 4096

_WINDOW_TEXT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ClockKind(StrEnum):
    CALENDAR = "calendar"
    BUSINESS = "business"


# --- the working calendar -------------------------------------------------------------------


def _window_minutes(text: str) -> tuple[int, int]:
    """``"08:00-12:30"`` → minutes after local midnight, ``(480, 750)``; the end may be 24:00."""
    match = _WINDOW_TEXT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a window; write it like '08:00-18:00'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59:
        raise ValueError(f"{text!r} starts at a time that does not exist")
    if end_h > 24 or end_m > 59 or (end_h == 24 and end_m != 0):
        raise ValueError(f"{text!r} ends at a time that does not exist (24:00 is the latest)")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:
        raise ValueError(
            f"{text!r} ends before it starts; split a window across midnight into "
            "'…-24:00' on one day and '00:00-…' on the next"
        )
    return start, end


def _normalise_window(text: str) -> str:
    start, end = _window_minutes(text)
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


WindowText = Annotated[str, AfterValidator(_normalise_window)]


def _default_hours() -> dict[Weekday, tuple[str, ...]]:
    return dict.fromkeys(WEEKDAYS[:5], ("08:00-18:00",))


class CalendarSpec(BaseModel):
    """A business calendar as it is stored and exchanged: plain, serialisable, validated.

    ``hours`` gives each weekday its working windows in local wall-clock time (a day left out,
    or given no windows, is closed). Public holidays come from the ``holidays`` package for
    ``holidays_country`` (metropolitan France by default; a subdivision such as ``"57"`` adds
    Moselle's own days; ``None`` ignores public holidays); ``closed_dates`` adds local dates on
    which nobody works.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Paris"
    hours: dict[Weekday, tuple[WindowText, ...]] = Field(default_factory=_default_hours)
    holidays_country: str | None = "FR"
    holidays_subdivision: str | None = None
    closed_dates: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("hours")
    @classmethod
    def _windows_apart(
        cls, value: dict[Weekday, tuple[str, ...]]
    ) -> dict[Weekday, tuple[str, ...]]:
        for day, windows in value.items():
            ordered = sorted(windows, key=_window_minutes)
            for earlier, later in pairwise(ordered):
                if _window_minutes(later)[0] < _window_minutes(earlier)[1]:
                    raise ValueError(f"on {day}, windows {earlier} and {later} overlap")
        if not any(value.values()):
            raise ValueError("the week has no working window, so no deadline could ever fall")
        return {day: tuple(sorted(value[day], key=_window_minutes)) for day in value}

    @model_validator(mode="after")
    def _known_holidays(self) -> CalendarSpec:
        if self.holidays_country is None:
            if self.holidays_subdivision is not None:
                raise ValueError("holidays_subdivision needs a holidays_country")
            return self
        try:
            holidays.country_holidays(self.holidays_country, subdiv=self.holidays_subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"public holidays unknown: {exc}") from None
        return self


def _raise_problems(problems: list[Problem], what: str, code: str) -> NoReturn:
    summary = "; ".join(f"{p['loc']}: {p['message']}" for p in problems[:5])
    raise InvalidInput(f"invalid {what}: {summary}", details=problems, code=code)


def parse_calendar_spec(data: Mapping[str, Any]) -> CalendarSpec:
    """Validate a stored or submitted calendar; every problem names its field."""
    try:
        return CalendarSpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                ".".join(str(part) for part in err["loc"]) or "calendar",
                str(err["msg"]).removeprefix("Value error, "),
            )
            for err in exc.errors(include_url=False)
        ]
        _raise_problems(problems, "business calendar", "invalid_calendar")


def _local_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    """The UTC instant at which the local wall clock of ``day`` reads ``minute`` (0–1440).

    A wall time skipped by a clock change maps to the moment of the jump; a repeated one to its
    first occurrence (see the module docstring)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the earlier reading
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # ``naive`` lies in a gap. With fold=0 it is read with the offset in force before the jump,
    # which lands after the jump; with fold=1, with the offset after, which lands before it.
    # Tz transitions fall on whole seconds: bisect on them.
    before = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    after = math.ceil(first.timestamp())
    offset_after = first.astimezone(zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """A year's public holidays, named in the country's own language (French for France)."""
    language = holidays.country_holidays(country, subdiv=subdivision).default_language
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return MappingProxyType(dict(found.items()))


class BusinessCalendar:
    """Working time: the windows of each local day, closed on public holidays and extra dates."""

    __slots__ = ("_closed", "_hours", "_window_cache", "spec", "zone")

    def __init__(self, spec: CalendarSpec | None = None) -> None:
        self.spec = spec if spec is not None else CalendarSpec()
        self.zone = ZoneInfo(self.spec.timezone)
        self._hours: tuple[tuple[tuple[int, int], ...], ...] = tuple(
            tuple(_window_minutes(text) for text in self.spec.hours.get(day, ()))
            for day in WEEKDAYS
        )
        self._closed = frozenset(self.spec.closed_dates)
        self._window_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    @classmethod
    def from_spec(cls, data: CalendarSpec | Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from its spec, validating plain data first (`InvalidInput` if wrong)."""
        return cls(data if isinstance(data, CalendarSpec) else parse_calendar_spec(data))

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.spec!r})"

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on this local date, named in the country's language, if any."""
        if self.spec.holidays_country is None:
            return None
        return _public_holidays(
            self.spec.holidays_country, self.spec.holidays_subdivision, day.year
        ).get(day)

    def is_closed(self, day: date) -> bool:
        """Whether nobody works on this local date whatever its weekday (holiday or closure)."""
        return day in self._closed or self.holiday_name(day) is not None

    def windows_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working windows of a local date as ``[start, end)`` UTC instants, in order."""
        cached = self._window_cache.get(day)
        if cached is not None:
            return cached
        windows: tuple[tuple[datetime, datetime], ...] = ()
        weekday_hours = self._hours[day.weekday()]
        if weekday_hours and not self.is_closed(day):
            instants = (
                (_local_instant(day, start, self.zone), _local_instant(day, end, self.zone))
                for start, end in weekday_hours
            )
            # A window wholly inside a skipped hour lasts no time at all.
            windows = tuple((start, end) for start, end in instants if start < end)
        if len(self._window_cache) >= WINDOW_CACHE_DAYS:
            self._window_cache.clear()
        self._window_cache[day] = windows
        return windows

    def windows_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working time from ``start`` on, window by window (the first one clipped), forever."""
        start = _utc(start, "start")
        day = start.astimezone(self.zone).date()
        # Windows of earlier local days end by that day's local midnight, so none is missed.
        while True:
            for window_start, window_end in self.windows_on(day):
                if window_end > start:
                    yield max(window_start, start), window_end
            day += timedelta(days=1)


# --- pauses ---------------------------------------------------------------------------------


def _utc(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(
            f"{name} must carry its time zone (got the naive {instant.isoformat()})",
            details=[Problem(name, "naive datetime")],
        )
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch ``[started_at, ended_at)`` during which the clock stood still, and why.

    ``ended_at`` is ``None`` while the pause lasts. Instants are stored in UTC."""

    started_at: datetime
    ended_at: datetime | None
    reason: str

    def __post_init__(self) -> None:
        started = _utc(self.started_at, "pause.started_at")
        ended = None if self.ended_at is None else _utc(self.ended_at, "pause.ended_at")
        if ended is not None and ended < started:
            raise InvalidInput(
                f"a pause cannot end ({ended.isoformat()}) before it starts "
                f"({started.isoformat()})",
                details=[Problem("pause.ended_at", "before started_at")],
            )
        if not self.reason.strip():
            raise InvalidInput(
                "a pause needs its reason (what the case is waiting on)",
                details=[Problem("pause.reason", "empty")],
            )
        object.__setattr__(self, "started_at", started)
        object.__setattr__(self, "ended_at", ended)

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None


def _merged(pauses: Iterable[Pause]) -> list[tuple[datetime, datetime | None]]:
    """Pauses as disjoint ``[from, to)`` intervals in order; overlapping or touching ones merge."""
    merged: list[tuple[datetime, datetime | None]] = []
    for pause in sorted(pauses, key=lambda p: p.started_at):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break  # an ongoing pause already covers everything after it
            if pause.started_at <= last_end:
                end = None if pause.ended_at is None else max(last_end, pause.ended_at)
                merged[-1] = (last_start, end)
                continue
        if pause.ended_at is None or pause.ended_at > pause.started_at:
            merged.append((pause.started_at, pause.ended_at))
    return merged


def _without_pauses(
    intervals: Iterable[tuple[datetime, datetime]], pauses: Sequence[Pause]
) -> Iterator[tuple[datetime, datetime]]:
    """The counting intervals with the paused stretches cut out; stops at an ongoing pause."""
    merged = _merged(pauses)
    index = 0
    for start, end in intervals:
        while start < end:
            while index < len(merged):
                pause_end = merged[index][1]
                if pause_end is None or pause_end > start:
                    break
                index += 1
            if index == len(merged) or merged[index][0] >= end:
                yield start, end
                break
            pause_start, pause_end = merged[index]
            if pause_start > start:
                yield start, pause_start
            if pause_end is None:
                return
            start = pause_end


def _counting_intervals(
    start: datetime, calendar: BusinessCalendar | None, pauses: Sequence[Pause]
) -> Iterator[tuple[datetime, datetime]]:
    """The stretches of time a clock counts from ``start`` on, in order and disjoint."""
    open_time: Iterable[tuple[datetime, datetime]] = (
        [(start, END_OF_TIME)] if calendar is None else calendar.windows_from(start)
    )
    return _without_pauses(open_time, pauses)


# --- deadlines and elapsed time -------------------------------------------------------------


def _non_negative(duration: timedelta, name: str) -> timedelta:
    if duration < ZERO:
        raise InvalidInput(
            f"{name} cannot be negative (got {duration})",
            details=[Problem(name, "negative duration")],
        )
    return duration


def deadline_with_pauses(
    start: datetime,
    duration: timedelta,
    calendar: BusinessCalendar | None = None,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    """The earliest instant by which the clock has counted ``duration`` from ``start``.

    ``calendar`` is ``None`` for a calendar (24/7) clock. A deadline reached exactly as a working
    window closes is that closing instant, not the opening of the next window. ``None`` when an
    ongoing pause stops the clock before the duration is counted: there is no deadline until it
    resumes."""
    start = _utc(start, "start")
    remaining = _non_negative(duration, "duration")
    if remaining == ZERO:
        return start
    for interval_start, interval_end in _counting_intervals(start, calendar, pauses):
        length = interval_end - interval_start
        if length >= remaining:
            return interval_start + remaining
        remaining -= length
    return None


def add_duration(
    start: datetime, duration: timedelta, calendar: BusinessCalendar | None = None
) -> datetime:
    """The deadline ``duration`` after ``start``: real time, or working time of ``calendar``."""
    deadline = deadline_with_pauses(start, duration, calendar)
    assert deadline is not None, "without pauses the clock never stops for good"
    return deadline


def elapsed(
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar | None = None,
    pauses: Sequence[Pause] = (),
) -> timedelta:
    """The time the clock counted between ``start`` and ``end``, paused stretches left out.

    An ongoing pause counts as lasting until ``end``."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end < start:
        raise InvalidInput(
            f"end ({end.isoformat()}) is before start ({start.isoformat()})",
            details=[Problem("end", "before start")],
        )
    total = ZERO
    for interval_start, interval_end in _counting_intervals(start, calendar, pauses):
        if interval_start >= end:
            break
        total += min(interval_end, end) - interval_start
    return total


def paused_time(
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar | None = None,
    pauses: Sequence[Pause] = (),
) -> timedelta:
    """How much counted time the pauses took away between ``start`` and ``end``."""
    return elapsed(start, end, calendar) - elapsed(start, end, calendar, pauses)


# --- one running clock ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaState:
    """Where one SLA clock stands at ``now``.

    While the clock is paused, ``deadline`` and ``warning_at`` are those it would have if it
    resumed at ``now`` (they move on as the pause lasts). The warning is due once ``now``
    reaches ``warning_at``; the SLA is breached once ``now`` is past ``deadline`` (an answer at
    the deadline itself is on time).
    """

    clock: ClockKind
    started_at: datetime
    target: timedelta
    now: datetime
    elapsed: timedelta
    deadline: datetime
    warning_at: datetime
    paused: bool
    paused_time: timedelta

    @property
    def remaining(self) -> timedelta:
        """Counted time left before the deadline (never negative)."""
        return max(self.target - self.elapsed, ZERO)

    @property
    def overrun(self) -> timedelta:
        """Counted time beyond the target (zero until breached)."""
        return max(self.elapsed - self.target, ZERO)

    @property
    def fraction(self) -> float:
        """The share of the target used: 0 at the start, 1 at the deadline, above 1 beyond."""
        return self.elapsed / self.target

    @property
    def warned(self) -> bool:
        return self.now >= self.warning_at

    @property
    def breached(self) -> bool:
        return self.now > self.deadline

    @property
    def next_alert_at(self) -> datetime | None:
        """When the next warning or breach falls due, for a scheduler to wake up; ``None`` when
        both are behind or the clock is paused (nothing can fall due before it resumes)."""
        if self.paused:
            return None
        if not self.warned:
            return self.warning_at
        if not self.breached:
            return self.deadline + timedelta(microseconds=1)
        return None


@dataclass(frozen=True, slots=True)
class SlaTimer:
    """One SLA clock: started at dispatch with a target, on a calendar or business clock.

    ``calendar`` is ``None`` for a calendar (24/7) clock. Pauses are recorded on the timer with
    `pause` and `resume`, which return a new timer."""

    started_at: datetime
    target: timedelta
    calendar: BusinessCalendar | None = None
    pauses: tuple[Pause, ...] = ()
    warning_fraction: float = DEFAULT_WARNING_FRACTION

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _utc(self.started_at, "started_at"))
        if self.target <= ZERO:
            raise InvalidInput(
                f"an SLA target must be positive (got {self.target})",
                details=[Problem("target", "not positive")],
            )
        if not 0 < self.warning_fraction < 1:
            raise InvalidInput(
                f"the warning point must lie strictly between 0 and 1 of the target "
                f"(got {self.warning_fraction})",
                details=[Problem("warning_fraction", "outside (0, 1)")],
            )
        object.__setattr__(self, "pauses", tuple(self.pauses))

    @property
    def clock(self) -> ClockKind:
        return ClockKind.CALENDAR if self.calendar is None else ClockKind.BUSINESS

    @property
    def paused(self) -> bool:
        return any(pause.ongoing for pause in self.pauses)

    def pause(self, at: datetime, reason: str) -> SlaTimer:
        """The timer with a pause starting at ``at`` (e.g. waiting on a third party)."""
        at = _utc(at, "at")
        if self.paused:
            raise Conflict("the SLA clock is already paused", code="sla_paused")
        latest = max(
            (p.ended_at for p in self.pauses if p.ended_at is not None), default=self.started_at
        )
        if at < latest:
            raise InvalidInput(
                f"a pause must start after the clock started and after the last pause "
                f"({latest.isoformat()})",
                details=[Problem("at", "before the clock's last event")],
            )
        return replace(self, pauses=(*self.pauses, Pause(at, None, reason)))

    def resume(self, at: datetime) -> SlaTimer:
        """The timer with its ongoing pause ended at ``at``."""
        at = _utc(at, "at")
        ongoing = [p for p in self.pauses if p.ongoing]
        if not ongoing:
            raise Conflict("the SLA clock is not paused", code="sla_not_paused")
        pause = ongoing[0]
        if at < pause.started_at:
            raise InvalidInput(
                f"the clock cannot resume before its pause started ({pause.started_at})",
                details=[Problem("at", "before the pause started")],
            )
        ended = Pause(pause.started_at, at, pause.reason)
        return replace(self, pauses=tuple(ended if p is pause else p for p in self.pauses))

    def deadline(self) -> datetime | None:
        """The deadline with the pauses so far; ``None`` while paused before reaching it."""
        return deadline_with_pauses(self.started_at, self.target, self.calendar, self.pauses)

    def state(self, now: datetime) -> SlaState:
        """Where the clock stands at ``now`` (an instant before the start reads as the start)."""
        now = max(_utc(now, "now"), self.started_at)
        # Only what happened up to now is known: an ongoing pause is taken to end now, and a
        # pause recorded for later has not begun.
        known = [
            Pause(p.started_at, now if p.ended_at is None else min(p.ended_at, now), p.reason)
            for p in self.pauses
            if p.started_at <= now
        ]
        paused = any(
            p.started_at <= now and (p.ended_at is None or p.ended_at > now) for p in self.pauses
        )
        deadline = deadline_with_pauses(self.started_at, self.target, self.calendar, known)
        warning_at = deadline_with_pauses(
            self.started_at, self.target * self.warning_fraction, self.calendar, known
        )
        assert deadline is not None, "the known pauses all end"
        assert warning_at is not None, "the known pauses all end"
        return SlaState(
            clock=self.clock,
            started_at=self.started_at,
            target=self.target,
            now=now,
            elapsed=elapsed(self.started_at, now, self.calendar, known),
            deadline=deadline,
            warning_at=warning_at,
            paused=paused,
            paused_time=paused_time(self.started_at, now, self.calendar, known),
        )
