"""The performance contract: parties, lots, SLA tables, KPI definitions, penalty and bonus rules.

Pure: no database, no framework. Everything that a contract amendment may change is kept as a
`Versioned` value — a list of versions, each in force from its ``effective_from`` date until the
next one — so an amendment adds a version and never rewrites the past: `value_as_of(day)` gives
the version in force that day.

A period (`Period`: a month ``2026-03``, a quarter ``2026-Q2`` or a year ``2026``) is judged by
the versions in force on its first day (`Period.first_day`): an amendment effective on
2026-07-01 applies to July onwards, June keeps the old target. Period boundaries are local
midnights in Europe/Paris; `Period.start` and `Period.end` are those instants in aware UTC.

Contracts are parsed from plain dicts (`parse_contract`); every complaint is an `InvalidInput`
whose message names the location (``lots[0].kpis[1].versions[0].target``) and whose details
are `Problem`s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import pairwise
from typing import Any, Generic, NoReturn, TypeVar
from zoneinfo import ZoneInfo

from metropilot.cases.sla import ClockKind
from metropilot.shared.errors import Conflict, InvalidInput, Problem

__all__ = [
    "CONTRACT_ZONE",
    "PRIORITIES",
    "BonusRule",
    "ClockKind",
    "Contract",
    "Direction",
    "KpiDefinition",
    "Lot",
    "LotCode",
    "PenaltyKind",
    "PenaltyRule",
    "PenaltySchedule",
    "Period",
    "PeriodKind",
    "SlaStage",
    "SlaTable",
    "SlaTarget",
    "Versioned",
    "parse_contract",
    "parse_period",
    "parse_periods",
]

CONTRACT_ZONE = ZoneInfo("Europe/Paris")
"""Where the contract's periods begin and end (local midnight)."""

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")

T = TypeVar("T")


def _invalid(loc: str, message: str) -> NoReturn:
    raise InvalidInput(f"{loc}: {message}", details=[Problem(loc, message)])


# --- enumerations ---------------------------------------------------------------------------


class LotCode(StrEnum):
    LIGHTING = "lighting"
    TRAFFIC_SIGNALS = "traffic-signals"
    VIDEO = "video"
    BUILDINGS = "buildings"
    IT = "it"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher-is-better"
    LOWER_IS_BETTER = "lower-is-better"


class SlaStage(StrEnum):
    """Which deadline of a work order a delay is measured against."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


class PenaltyKind(StrEnum):
    DELAY = "delay"
    """An amount per hour of delay beyond the SLA deadline, per work order."""
    SHORTFALL = "shortfall"
    """An amount per point by which a KPI misses its target, per period."""


# --- periods --------------------------------------------------------------------------------

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month, quarter or year of the contract, in Europe/Paris local time.

    ``index`` is the month (1–12), the quarter (1–4) or 1 for a year."""

    kind: PeriodKind
    year: int
    index: int = 1

    def __post_init__(self) -> None:
        top = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}[self.kind]
        if not 1 <= self.index <= top or not 1900 <= self.year <= 9998:
            _invalid("period", f"no {self.kind} {self.year}/{self.index}")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(PeriodKind.MONTH, year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls(PeriodKind.QUARTER, year, quarter)

    @classmethod
    def whole_year(cls, year: int) -> Period:
        return cls(PeriodKind.YEAR, year, 1)

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.label

    @property
    def first_day(self) -> date:
        if self.kind is PeriodKind.MONTH:
            return date(self.year, self.index, 1)
        if self.kind is PeriodKind.QUARTER:
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, 1, 1)

    @property
    def end_day(self) -> date:
        """The first day after the period (exclusive end)."""
        return self.next().first_day

    @property
    def last_day(self) -> date:
        return self.end_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """Local midnight of the first day, in aware UTC."""
        return _local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """Local midnight after the last day, in aware UTC (exclusive)."""
        return _local_midnight(self.end_day)

    @property
    def duration(self) -> timedelta:
        """Real elapsed time: a March in Paris is one hour shorter than 31 days."""
        return self.end - self.start

    def next(self) -> Period:
        step = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}[self.kind]
        if self.index == step:
            return Period(self.kind, self.year + 1, 1)
        return Period(self.kind, self.year, self.index + 1)

    def months(self) -> tuple[Period, ...]:
        first = self.first_day.month
        count = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[self.kind]
        return tuple(Period.month(self.year, first + i) for i in range(count))

    def contains(self, instant: datetime) -> bool:
        return self.start <= _aware_utc(instant, "instant") < self.end


def _local_midnight(day: date) -> datetime:
    # Midnight always exists in Europe/Paris (the clocks change at 02:00 and 03:00).
    return datetime(day.year, day.month, day.day, tzinfo=CONTRACT_ZONE).astimezone(UTC)


def _aware_utc(instant: datetime, loc: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        _invalid(loc, f"must carry its time zone (got the naive {instant.isoformat()})")
    return instant.astimezone(UTC)


def parse_period(text: str) -> Period:
    """``2026`` (a year), ``2026-03`` (a month) or ``2026-Q2`` (a quarter)."""
    raw = text.strip() if isinstance(text, str) else ""
    if m := _YEAR.match(raw):
        return Period.whole_year(int(m[1]))
    if m := _MONTH.match(raw):
        if not 1 <= int(m[2]) <= 12:
            _invalid("period", f"month {m[2]} of {text!r} is not 01–12")
        return Period.month(int(m[1]), int(m[2]))
    if m := _QUARTER.match(raw):
        return Period.quarter(int(m[1]), int(m[2]))
    _invalid("period", f"{text!r} is not a year (2026), a month (2026-03) or a quarter (2026-Q2)")


def parse_periods(text: str) -> tuple[Period, ...]:
    """One period, or a range ``2026-01..2026-03`` (also ``2026-01/2026-03``) of the same kind,
    both ends included, in order."""
    raw = text.strip() if isinstance(text, str) else ""
    parts = re.split(r"\.\.|/", raw)
    if len(parts) == 1:
        return (parse_period(raw),)
    if len(parts) != 2:
        _invalid("period", f"{text!r} is not a period or a range FIRST..LAST")
    first, last = parse_period(parts[0]), parse_period(parts[1])
    if first.kind is not last.kind:
        _invalid("period", f"the ends of {text!r} are a {first.kind} and a {last.kind}")
    if last < first:
        _invalid("period", f"the range {text!r} ends before it starts")
    periods = [first]
    while periods[-1] != last:
        periods.append(periods[-1].next())
    return tuple(periods)


# --- versioned values -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Versioned(Generic[T]):
    """Versions of one value, each in force from its date until the next one's."""

    versions: tuple[tuple[date, T], ...]

    def __post_init__(self) -> None:
        if not self.versions:
            _invalid("versions", "at least one version is needed")
        days = [day for day, _ in self.versions]
        if any(b <= a for a, b in pairwise(days)):
            _invalid("versions", "effective dates must be strictly increasing")

    @classmethod
    def single(cls, effective_from: date, value: T) -> Versioned[T]:
        return cls(((effective_from, value),))

    @property
    def first_effective(self) -> date:
        return self.versions[0][0]

    @property
    def current(self) -> T:
        return self.versions[-1][1]

    def value_as_of(self, day: date) -> T:
        found: T | None = None
        seen = False
        for effective, value in self.versions:
            if effective > day:
                break
            found, seen = value, True
        if not seen:
            _invalid("as_of", f"nothing was in force on {day.isoformat()}")
        return found  # type: ignore[return-value]  # seen guarantees a value (T may be None)

    def for_period(self, period: Period) -> T:
        """The version in force on the period's first day."""
        return self.value_as_of(period.first_day)

    def amended(self, effective_from: date, value: T) -> Versioned[T]:
        """A new version from ``effective_from``; the past stays as it was, so an amendment
        must take effect after every existing version (`Conflict` otherwise)."""
        latest = self.versions[-1][0]
        if effective_from <= latest:
            raise Conflict(
                f"an amendment effective {effective_from.isoformat()} would rewrite the version "
                f"in force since {latest.isoformat()}; it must take effect later",
                details=[Problem("effective_from", "not after the latest version")],
            )
        return Versioned((*self.versions, (effective_from, value)))


# --- the contract's terms -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaTarget:
    priority: str
    response: timedelta
    resolution: timedelta
    clock: ClockKind = ClockKind.CALENDAR


@dataclass(frozen=True, slots=True)
class SlaTable:
    """A lot's targets per priority."""

    targets: Mapping[str, SlaTarget]

    def for_priority(self, priority: str) -> SlaTarget:
        try:
            return self.targets[priority]
        except KeyError:
            _invalid("priority", f"the SLA table has no target for {priority!r}")


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    code: str
    name: str
    target: float
    unit: str
    period: PeriodKind
    direction: Direction

    def shortfall(self, measured: float) -> float:
        """Points by which ``measured`` misses the target (0 when it meets it)."""
        gap = self.target - measured if self.higher_is_better else measured - self.target
        return max(0.0, gap)

    def excess(self, measured: float) -> float:
        """Points by which ``measured`` beats the target (0 when it does not)."""
        gap = measured - self.target if self.higher_is_better else self.target - measured
        return max(0.0, gap)

    @property
    def higher_is_better(self) -> bool:
        return self.direction is Direction.HIGHER_IS_BETTER


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    """``DELAY``: ``eur_per_unit`` per hour late on the ``stage`` deadline of orders of the
    listed ``priorities`` (all when empty). ``SHORTFALL``: ``eur_per_unit`` per point the KPI
    ``kpi`` misses its target. ``cap_eur``: at most this much per period from this rule."""

    code: str
    kind: PenaltyKind
    eur_per_unit: Decimal
    stage: SlaStage = SlaStage.RESOLUTION
    priorities: frozenset[str] = frozenset()
    kpi: str | None = None
    cap_eur: Decimal | None = None

    def applies_to(self, priority: str) -> bool:
        return not self.priorities or priority in self.priorities


@dataclass(frozen=True, slots=True)
class BonusRule:
    """``eur_per_point`` per point the KPI ``kpi`` beats its target, at most ``cap_eur``."""

    code: str
    kpi: str
    eur_per_point: Decimal
    cap_eur: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PenaltySchedule:
    """A lot's penalty and bonus rules and its overall penalty cap per period."""

    rules: tuple[PenaltyRule, ...] = ()
    cap_eur: Decimal | None = None
    bonuses: tuple[BonusRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Lot:
    code: LotCode
    contractor: str
    """The organisation code of the contractor holding the lot."""
    sla: Versioned[SlaTable]
    kpis: Mapping[str, Versioned[KpiDefinition]]
    penalties: Versioned[PenaltySchedule]

    def kpis_for(self, period: Period) -> dict[str, KpiDefinition]:
        return {code: kpi.for_period(period) for code, kpi in self.kpis.items()}


@dataclass(frozen=True, slots=True)
class Contract:
    code: str
    parties: tuple[str, ...]
    start: date
    term_years: int = 12
    lots: Mapping[LotCode, Lot] = field(default_factory=dict)

    @property
    def end(self) -> date:
        """The first day after the term."""
        try:
            return self.start.replace(year=self.start.year + self.term_years)
        except ValueError:  # 29 February
            return date(self.start.year + self.term_years, 3, 1)

    def lot(self, code: str) -> Lot:
        try:
            return self.lots[LotCode(code)]
        except (ValueError, KeyError):
            _invalid("lot", f"the contract has no lot {code!r}")

    def covers(self, period: Period) -> bool:
        return self.start <= period.first_day and period.last_day < self.end


# --- parsing plain dicts --------------------------------------------------------------------


def _get(data: Mapping[str, Any], key: str, loc: str) -> Any:
    if key not in data or data[key] is None:
        _invalid(f"{loc}.{key}" if loc else key, "is required")
    return data[key]


def _mapping(value: Any, loc: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _invalid(loc, f"must be an object (got {type(value).__name__})")
    return value


def _list(value: Any, loc: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        _invalid(loc, f"must be a list (got {type(value).__name__})")
    return value


def _text(value: Any, loc: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _invalid(loc, "must be a non-empty text")
    return value.strip()


def _date(value: Any, loc: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    _invalid(loc, f"must be a date YYYY-MM-DD (got {value!r})")


def _number(value: Any, loc: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _invalid(loc, f"must be a number (got {value!r})")
    if value != value or value in (float("inf"), float("-inf")):
        _invalid(loc, "must be a finite number")
    if value < 0 or (positive and value == 0):
        _invalid(loc, f"must be {'positive' if positive else 'zero or more'} (got {value})")
    return float(value)


def _money(value: Any, loc: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        _invalid(loc, f"must be an amount in euros (got {value!r})")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        _invalid(loc, f"must be an amount in euros (got {value!r})")
    if not amount.is_finite() or amount < 0:
        _invalid(loc, f"must be a finite amount, zero or more (got {value!r})")
    return amount


def _optional_money(data: Mapping[str, Any], key: str, loc: str) -> Decimal | None:
    return None if data.get(key) is None else _money(data[key], f"{loc}.{key}")


def _choice(value: Any, enum: type[Any], loc: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        _invalid(loc, f"{value!r} is not one of {allowed}")


def _priority(value: Any, loc: str) -> str:
    if value not in PRIORITIES:
        _invalid(loc, f"{value!r} is not a priority ({', '.join(PRIORITIES)})")
    return str(value)


def _versions(
    items: Any, loc: str, start: date, parse: Callable[[Mapping[str, Any], str], T]
) -> Iterator[tuple[date, T]]:
    """Yield ``(effective_from, parse(item, item_loc))``; the first defaults to ``start``."""
    entries = _list(items, loc)
    if not entries:
        _invalid(loc, "at least one version is needed")
    previous: date | None = None
    for i, raw in enumerate(entries):
        item_loc = f"{loc}[{i}]"
        item = _mapping(raw, item_loc)
        if "effective_from" in item:
            effective = _date(item["effective_from"], f"{item_loc}.effective_from")
        elif i == 0:
            effective = start
        else:
            _invalid(f"{item_loc}.effective_from", "is required on an amendment")
        if i == 0 and effective > start:
            _invalid(
                f"{item_loc}.effective_from",
                f"the first version must be in force at the contract start {start.isoformat()}",
            )
        if previous is not None and effective <= previous:
            _invalid(
                f"{item_loc}.effective_from",
                f"{effective.isoformat()} is not after the previous version's "
                f"{previous.isoformat()}",
            )
        previous = effective
        yield effective, parse(item, item_loc)


def _sla_table(item: Mapping[str, Any], loc: str) -> SlaTable:
    raw = _mapping(_get(item, "targets", loc), f"{loc}.targets")
    targets: dict[str, SlaTarget] = {}
    for priority, spec in raw.items():
        p_loc = f"{loc}.targets.{priority}"
        _priority(priority, p_loc)
        spec = _mapping(spec, p_loc)
        response = _number(
            _get(spec, "response_hours", p_loc), f"{p_loc}.response_hours", positive=True
        )
        resolution = _number(
            _get(spec, "resolution_hours", p_loc), f"{p_loc}.resolution_hours", positive=True
        )
        if resolution < response:
            _invalid(f"{p_loc}.resolution_hours", "must not be shorter than response_hours")
        clock = _choice(spec.get("clock", "calendar"), ClockKind, f"{p_loc}.clock")
        targets[priority] = SlaTarget(
            priority, timedelta(hours=response), timedelta(hours=resolution), clock
        )
    return SlaTable(targets)


def _kpi(raw: Any, loc: str, start: date) -> tuple[str, Versioned[KpiDefinition]]:
    item = _mapping(raw, loc)
    code = _text(_get(item, "code", loc), f"{loc}.code")
    name = _text(item.get("name", code), f"{loc}.name")
    unit = _text(_get(item, "unit", loc), f"{loc}.unit")
    period = _choice(_get(item, "period", loc), PeriodKind, f"{loc}.period")
    direction = _choice(_get(item, "direction", loc), Direction, f"{loc}.direction")

    def version(v: Mapping[str, Any], v_loc: str) -> KpiDefinition:
        target = v.get("target")
        if target is None:
            _invalid(f"{v_loc}.target", "is required")
        if isinstance(target, bool) or not isinstance(target, int | float):
            _invalid(f"{v_loc}.target", f"must be a number (got {target!r})")
        return KpiDefinition(code, name, float(target), unit, period, direction)

    if "versions" in item:
        versions = tuple(_versions(item["versions"], f"{loc}.versions", start, version))
    else:
        versions = ((start, version(item, loc)),)
    return code, Versioned(versions)


def _penalty_rule(raw: Any, loc: str, kpis: Mapping[str, Any]) -> PenaltyRule:
    item = _mapping(raw, loc)
    code = _text(_get(item, "code", loc), f"{loc}.code")
    kind = _choice(_get(item, "kind", loc), PenaltyKind, f"{loc}.kind")
    cap = _optional_money(item, "cap_eur", loc)
    if kind is PenaltyKind.DELAY:
        rate = _money(_get(item, "eur_per_hour", loc), f"{loc}.eur_per_hour")
        stage = _choice(item.get("stage", "resolution"), SlaStage, f"{loc}.stage")
        priorities = frozenset(
            _priority(p, f"{loc}.priorities[{i}]")
            for i, p in enumerate(_list(item.get("priorities", []), f"{loc}.priorities"))
        )
        return PenaltyRule(code, kind, rate, stage=stage, priorities=priorities, cap_eur=cap)
    rate = _money(_get(item, "eur_per_point", loc), f"{loc}.eur_per_point")
    kpi = _text(_get(item, "kpi", loc), f"{loc}.kpi")
    if kpi not in kpis:
        _invalid(f"{loc}.kpi", f"the lot defines no KPI {kpi!r}")
    return PenaltyRule(code, kind, rate, kpi=kpi, cap_eur=cap)


def _bonus_rule(raw: Any, loc: str, kpis: Mapping[str, Any]) -> BonusRule:
    item = _mapping(raw, loc)
    code = _text(_get(item, "code", loc), f"{loc}.code")
    kpi = _text(_get(item, "kpi", loc), f"{loc}.kpi")
    if kpi not in kpis:
        _invalid(f"{loc}.kpi", f"the lot defines no KPI {kpi!r}")
    rate = _money(_get(item, "eur_per_point", loc), f"{loc}.eur_per_point")
    return BonusRule(code, kpi, rate, _optional_money(item, "cap_eur", loc))


def _unique(codes: Sequence[str], loc: str) -> None:
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            _invalid(f"{loc}[{i}].code", f"{code!r} appears twice")
        seen.add(code)


def _lot(raw: Any, loc: str, start: date) -> Lot:
    item = _mapping(raw, loc)
    code = _choice(_get(item, "code", loc), LotCode, f"{loc}.code")
    contractor = _text(_get(item, "contractor", loc), f"{loc}.contractor")
    sla = Versioned(tuple(_versions(_get(item, "sla", loc), f"{loc}.sla", start, _sla_table)))
    raw_kpis = _list(item.get("kpis", []), f"{loc}.kpis")
    parsed_kpis = [_kpi(k, f"{loc}.kpis[{i}]", start) for i, k in enumerate(raw_kpis)]
    _unique([c for c, _ in parsed_kpis], f"{loc}.kpis")
    kpis = dict(parsed_kpis)

    def schedule(s: Mapping[str, Any], s_loc: str) -> PenaltySchedule:
        rules = tuple(
            _penalty_rule(r, f"{s_loc}.rules[{i}]", kpis)
            for i, r in enumerate(_list(s.get("rules", []), f"{s_loc}.rules"))
        )
        _unique([r.code for r in rules], f"{s_loc}.rules")
        bonuses = tuple(
            _bonus_rule(b, f"{s_loc}.bonuses[{i}]", kpis)
            for i, b in enumerate(_list(s.get("bonuses", []), f"{s_loc}.bonuses"))
        )
        _unique([b.code for b in bonuses], f"{s_loc}.bonuses")
        return PenaltySchedule(rules, _optional_money(s, "cap_eur", s_loc), bonuses)

    raw_penalties = item.get("penalties", [{}])
    penalties = Versioned(tuple(_versions(raw_penalties, f"{loc}.penalties", start, schedule)))
    return Lot(code, contractor, sla, kpis, penalties)


def parse_contract(data: Mapping[str, Any]) -> Contract:
    """A contract from a plain dict (see ``tests/unit/test_contract_model.py`` for the shape)."""
    data = _mapping(data, "contract")
    code = _text(_get(data, "code", ""), "code")
    parties_raw = _list(_get(data, "parties", ""), "parties")
    parties = tuple(_text(p, f"parties[{i}]") for i, p in enumerate(parties_raw))
    if len(parties) < 2:
        _invalid("parties", "a contract needs at least two parties")
    start = _date(_get(data, "start", ""), "start")
    term = data.get("term_years", 12)
    if isinstance(term, bool) or not isinstance(term, int) or term <= 0:
        _invalid("term_years", f"must be a positive whole number of years (got {term!r})")
    lots: dict[LotCode, Lot] = {}
    for i, raw in enumerate(_list(data.get("lots", []), "lots")):
        lot = _lot(raw, f"lots[{i}]", start)
        if lot.code in lots:
            _invalid(f"lots[{i}].code", f"the lot {lot.code.value!r} appears twice")
        lots[lot.code] = lot
    return Contract(code, parties, start, term, lots)
