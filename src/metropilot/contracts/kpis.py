"""KPIs and penalties computed only from recorded facts. Pure: no database, no framework.

The facts are plain records the storage layer fills in (`WorkOrderFact`, `LampWindow`,
`LampFault`, `UptimeInterval`); every instant must be timezone-aware and is compared in UTC.

Attribution and counting rules:

* a work order counts, for a stage (response or resolution), in the period that contains its
  deadline for that stage. It is **on time** when the step (accepted, done) happened at or
  before the deadline, **late** when it happened after or has not happened by ``as_of`` while
  the deadline has passed, **pending** otherwise (not counted in rates). A step recorded after
  ``as_of`` is treated as not yet happened, so a figure only depends on what was known then;
* hours late are real (calendar) hours between the deadline and the step, or ``as_of`` while
  the step has not happened;
* mean time to repair is the mean of done − dispatched over orders done inside the period;
* lighting availability is lit ÷ scheduled lamp-hours, every interval clipped to the period,
  so a failure crossing a period boundary counts in each period for its part;
* IT availability is up-time ÷ (components × period duration) from merged uptime intervals;
* money is in `Decimal` euros, each amount rounded half-up to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from metropilot.contracts.model import (
    CONTRACT_ZONE,
    KpiDefinition,
    Lot,
    PenaltyKind,
    PenaltyRule,
    PenaltySchedule,
    Period,
    SlaStage,
)
from metropilot.shared.errors import Conflict, InvalidInput, Problem

__all__ = [
    "AvailabilityResult",
    "BonusItem",
    "FrozenPeriod",
    "GroupKey",
    "LampFault",
    "LampWindow",
    "PenaltyItem",
    "PenaltyStatement",
    "RateResult",
    "RuleTotal",
    "UptimeInterval",
    "WorkOrderFact",
    "compute_statement",
    "freeze",
    "it_availability",
    "lighting_availability",
    "mean_time_to_repair",
    "nightly_windows",
    "on_time_rates",
    "penalties",
    "statement_for",
]

GroupKey = Literal["lot", "priority", "commune"]
CENT = Decimal("0.01")
HOUR = timedelta(hours=1)


def _utc(instant: datetime, loc: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(
            f"{loc} must carry its time zone (got the naive {instant.isoformat()})",
            details=[Problem(loc, "naive datetime")],
        )
    return instant.astimezone(UTC)


def _optional_utc(instant: datetime | None, loc: str) -> datetime | None:
    return None if instant is None else _utc(instant, loc)


def _euros(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _hours(duration: timedelta) -> Decimal:
    """Exact hours of a duration (microsecond precision)."""
    micros = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Decimal(micros) / Decimal(3_600_000_000)


# --- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkOrderFact:
    """One work order as recorded: its deadlines (stored at dispatch) and its steps."""

    order_id: str
    case_id: str
    lot: str
    priority: str
    commune: str
    dispatched_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    accepted_at: datetime | None = None
    done_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("dispatched_at", "response_due_at", "resolution_due_at"):
            object.__setattr__(self, name, _utc(getattr(self, name), f"{self.order_id}.{name}"))
        for name in ("accepted_at", "done_at"):
            value = _optional_utc(getattr(self, name), f"{self.order_id}.{name}")
            object.__setattr__(self, name, value)

    def due(self, stage: SlaStage) -> datetime:
        return self.response_due_at if stage is SlaStage.RESPONSE else self.resolution_due_at

    def step(self, stage: SlaStage, as_of: datetime) -> datetime | None:
        """When the stage's step happened, if it had by ``as_of``."""
        at = self.accepted_at if stage is SlaStage.RESPONSE else self.done_at
        return at if at is not None and at <= as_of else None

    def delay(self, stage: SlaStage, as_of: datetime) -> timedelta | None:
        """How late the step is (zero when on time), or None while pending."""
        due = self.due(stage)
        at = self.step(stage, as_of)
        if at is not None:
            return max(timedelta(0), at - due)
        if due < as_of:
            return as_of - due
        return None

    def group(self, key: GroupKey) -> str:
        return {"lot": self.lot, "priority": self.priority, "commune": self.commune}[key]


@dataclass(frozen=True, slots=True)
class LampWindow:
    """A stretch ``[start, end)`` during which a lamp was scheduled to burn."""

    lamp_id: str
    commune: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _interval(self, f"lamp {self.lamp_id} window")


@dataclass(frozen=True, slots=True)
class LampFault:
    """A stretch ``[start, end)`` during which a lamp was out; ``end`` None while it still is."""

    lamp_id: str
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _interval(self, f"lamp {self.lamp_id} fault")


@dataclass(frozen=True, slots=True)
class UptimeInterval:
    """A stretch ``[start, end)`` during which heartbeats showed the component up."""

    component: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _interval(self, f"component {self.component} uptime")


def _interval(record: LampWindow | LampFault | UptimeInterval, loc: str) -> None:
    start = _utc(record.start, f"{loc} start")
    end = None if record.end is None else _utc(record.end, f"{loc} end")
    if end is not None and end < start:
        raise InvalidInput(
            f"{loc} ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            details=[Problem(f"{loc} end", "before start")],
        )
    object.__setattr__(record, "start", start)
    object.__setattr__(record, "end", end)


def _clip(
    start: datetime, end: datetime | None, lo: datetime, hi: datetime
) -> tuple[datetime, datetime] | None:
    a, b = max(start, lo), min(end if end is not None else hi, hi)
    return (a, b) if a < b else None


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _total(intervals: Iterable[tuple[datetime, datetime]]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta(0))


def _overlap(
    left: Sequence[tuple[datetime, datetime]], right: Sequence[tuple[datetime, datetime]]
) -> timedelta:
    """Total overlap of two merged (sorted, disjoint) interval lists."""
    total, i, j = timedelta(0), 0, 0
    while i < len(left) and j < len(right):
        a, b = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if a < b:
            total += b - a
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return total


def _as_of(period: Period, as_of: datetime | None) -> datetime:
    return period.end if as_of is None else _utc(as_of, "as_of")


# --- work-order KPIs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateResult:
    on_time: int
    late: int
    pending: int

    @property
    def decided(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        """Share on time among the decided orders, in [0, 1]; None when none is decided."""
        return None if self.decided == 0 else self.on_time / self.decided


def on_time_rates(
    orders: Iterable[WorkOrderFact],
    period: Period,
    stage: SlaStage,
    *,
    by: Sequence[GroupKey] = ("lot",),
    as_of: datetime | None = None,
) -> dict[tuple[str, ...], RateResult]:
    """On-time rates of the orders whose ``stage`` deadline falls in the period, grouped by the
    ``by`` keys (``()`` for one overall figure under the key ``()``)."""
    cutoff = _as_of(period, as_of)
    counts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for order in orders:
        if not period.contains(order.due(stage)):
            continue
        key = tuple(order.group(k) for k in by)
        delay = order.delay(stage, cutoff)
        slot = 2 if delay is None else (0 if delay == timedelta(0) else 1)
        counts[key][slot] += 1
    return {key: RateResult(*c) for key, c in sorted(counts.items())}


def mean_time_to_repair(
    orders: Iterable[WorkOrderFact],
    period: Period,
    *,
    by: Sequence[GroupKey] = ("lot",),
) -> dict[tuple[str, ...], timedelta]:
    """Mean of done − dispatched over the orders done inside the period, per group."""
    spans: dict[tuple[str, ...], list[timedelta]] = defaultdict(list)
    for order in orders:
        if order.done_at is None or not period.contains(order.done_at):
            continue
        spans[tuple(order.group(k) for k in by)].append(order.done_at - order.dispatched_at)
    return {key: sum(v, timedelta(0)) / len(v) for key, v in sorted(spans.items())}


# --- availability ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AvailabilityResult:
    expected_hours: Decimal
    available_hours: Decimal

    @property
    def ratio(self) -> float | None:
        """Available ÷ expected, in [0, 1]; None when nothing was expected."""
        if self.expected_hours == 0:
            return None
        return float(self.available_hours / self.expected_hours)


def nightly_windows(
    lamp_id: str,
    commune: str,
    first_night: date,
    last_night: date,
    *,
    on: time = time(20, 0),
    off: time = time(6, 0),
) -> list[LampWindow]:
    """A fixed local-time schedule: each night from ``on`` to ``off`` the next morning (Paris
    wall clock, so a night across a clock change is one hour shorter or longer). The real
    schedule follows the astronomical clock; this is for declared schedules and tests."""
    windows: list[LampWindow] = []
    day = first_night
    while day <= last_night:
        start = datetime.combine(day, on, CONTRACT_ZONE)
        end_day = day + timedelta(days=1) if off <= on else day
        end = datetime.combine(end_day, off, CONTRACT_ZONE)
        windows.append(LampWindow(lamp_id, commune, start, end))
        day += timedelta(days=1)
    return windows


def lighting_availability(
    schedule: Iterable[LampWindow],
    faults: Iterable[LampFault],
    period: Period,
    *,
    commune: str | None = None,
    as_of: datetime | None = None,
) -> AvailabilityResult:
    """Share of scheduled lamp-hours actually lit in the period (of one commune if given).

    A fault still open counts until ``as_of`` (default: the period's end)."""
    cutoff = min(_as_of(period, as_of), period.end)
    lo, hi = period.start, period.end
    scheduled: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for window in schedule:
        if commune is not None and window.commune != commune:
            continue
        if (clipped := _clip(window.start, window.end, lo, hi)) is not None:
            scheduled[window.lamp_id].append(clipped)
    down: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for fault in faults:
        if fault.lamp_id in scheduled and (clipped := _clip(fault.start, fault.end, lo, cutoff)):
            down[fault.lamp_id].append(clipped)
    expected, lost = timedelta(0), timedelta(0)
    for lamp, windows in scheduled.items():
        merged = _merge(windows)
        expected += _total(merged)
        lost += _overlap(merged, _merge(down.get(lamp, [])))
    return AvailabilityResult(_hours(expected), _hours(expected - lost))


def it_availability(
    uptime: Iterable[UptimeInterval],
    period: Period,
    components: Iterable[str],
    *,
    as_of: datetime | None = None,
) -> tuple[AvailabilityResult, dict[str, AvailabilityResult]]:
    """Overall and per-component availability over the period: the share of the period each
    listed component was seen up (a listed component never seen up is at 0). A period not over
    at ``as_of`` is judged on its elapsed part only."""
    names = sorted(set(components))
    if not names:
        raise InvalidInput(
            "IT availability needs the list of monitored components",
            details=[Problem("components", "empty")],
        )
    end = min(_as_of(period, as_of), period.end)
    up: dict[str, list[tuple[datetime, datetime]]] = {name: [] for name in names}
    for interval in uptime:
        if interval.component in up and (
            clipped := _clip(interval.start, interval.end, period.start, end)
        ):
            up[interval.component].append(clipped)
    span = _hours(max(end - period.start, timedelta(0)))
    each = {name: AvailabilityResult(span, _hours(_total(_merge(up[name])))) for name in names}
    overall = AvailabilityResult(
        span * len(names), sum((r.available_hours for r in each.values()), Decimal(0))
    )
    return overall, each


# --- penalties ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PenaltyItem:
    """One contribution: a late order (``order_id``, ``case_id``, ``hours_late``) or a KPI
    shortfall (``kpi``, ``measured``, ``points``), and its amount before caps."""

    rule: str
    kind: PenaltyKind
    amount: Decimal
    order_id: str | None = None
    case_id: str | None = None
    stage: SlaStage | None = None
    hours_late: Decimal | None = None
    kpi: str | None = None
    measured: float | None = None
    target: float | None = None
    points: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BonusItem:
    rule: str
    kpi: str
    measured: float
    target: float
    points: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RuleTotal:
    rule: str
    gross: Decimal
    capped: Decimal
    cap: Decimal | None


@dataclass(frozen=True, slots=True)
class PenaltyStatement:
    """The penalties (and bonuses) of one lot for one period, as computed at ``as_of``."""

    period: Period
    lot: str
    as_of: datetime
    items: tuple[PenaltyItem, ...]
    rules: tuple[RuleTotal, ...]
    gross: Decimal
    """Sum of the rules' totals after their own caps, before the lot's cap."""
    cap: Decimal | None
    total: Decimal
    """The penalty due: ``gross`` limited by the lot's ``cap``."""
    bonuses: tuple[BonusItem, ...] = ()
    bonus_total: Decimal = Decimal("0.00")
    missing_kpis: tuple[str, ...] = field(default=())
    """KPIs with a shortfall rule or a bonus but no measured value: not counted."""

    @property
    def net(self) -> Decimal:
        return self.total - self.bonus_total


def _capped(amount: Decimal, cap: Decimal | None) -> Decimal:
    return amount if cap is None else min(amount, _euros(cap))


def compute_statement(
    period: Period,
    lot: str,
    schedule: PenaltySchedule,
    kpis: Mapping[str, KpiDefinition],
    orders: Iterable[WorkOrderFact],
    measured: Mapping[str, float] | None = None,
    *,
    as_of: datetime | None = None,
) -> PenaltyStatement:
    """The statement for explicit rules (those in force for the period)."""
    cutoff = _as_of(period, as_of)
    measured = measured or {}
    lot_orders = sorted(
        (o for o in orders if o.lot == lot), key=lambda o: (o.resolution_due_at, o.order_id)
    )
    items: list[PenaltyItem] = []
    totals: list[RuleTotal] = []
    missing: set[str] = set()
    for rule in schedule.rules:
        if rule.kind is PenaltyKind.DELAY:
            rule_items = _delay_items(rule, period, lot_orders, cutoff)
        else:
            rule_items = _shortfall_items(rule, kpis, measured, missing)
        gross = sum((i.amount for i in rule_items), Decimal("0.00"))
        totals.append(RuleTotal(rule.code, gross, _capped(gross, rule.cap_eur), rule.cap_eur))
        items.extend(rule_items)
    bonuses = _bonus_items(schedule, kpis, measured, missing)
    gross_total = sum((t.capped for t in totals), Decimal("0.00"))
    return PenaltyStatement(
        period=period,
        lot=lot,
        as_of=cutoff,
        items=tuple(items),
        rules=tuple(totals),
        gross=gross_total,
        cap=schedule.cap_eur,
        total=_capped(gross_total, schedule.cap_eur),
        bonuses=tuple(bonuses),
        bonus_total=sum((b.amount for b in bonuses), Decimal("0.00")),
        missing_kpis=tuple(sorted(missing)),
    )


def _delay_items(
    rule: PenaltyRule, period: Period, lot_orders: Sequence[WorkOrderFact], cutoff: datetime
) -> list[PenaltyItem]:
    """An item per order of the rule's priorities due in the period and late at ``cutoff``."""
    found: list[PenaltyItem] = []
    for order in lot_orders:
        if not rule.applies_to(order.priority) or not period.contains(order.due(rule.stage)):
            continue
        delay = order.delay(rule.stage, cutoff)
        if not delay:  # pending (None) or on time (zero)
            continue
        hours = _hours(delay)
        found.append(
            PenaltyItem(
                rule.code,
                rule.kind,
                _euros(hours * rule.eur_per_unit),
                order_id=order.order_id,
                case_id=order.case_id,
                stage=rule.stage,
                hours_late=hours,
            )
        )
    return found


def _shortfall_items(
    rule: PenaltyRule,
    kpis: Mapping[str, KpiDefinition],
    measured: Mapping[str, float],
    missing: set[str],
) -> list[PenaltyItem]:
    """The item of a KPI below its target (none when met); a KPI not measured is added to
    ``missing``, never guessed."""
    kpi = rule.kpi or ""
    definition = kpis.get(kpi)
    value = measured.get(kpi)
    if definition is None or value is None:
        missing.add(kpi)
        return []
    points = Decimal(str(definition.shortfall(value)))
    if points <= 0:
        return []
    return [
        PenaltyItem(
            rule.code,
            rule.kind,
            _euros(points * rule.eur_per_unit),
            kpi=kpi,
            measured=value,
            target=definition.target,
            points=points,
        )
    ]


def _bonus_items(
    schedule: PenaltySchedule,
    kpis: Mapping[str, KpiDefinition],
    measured: Mapping[str, float],
    missing: set[str],
) -> list[BonusItem]:
    """A bonus per KPI beyond its target, each within its cap (KPIs not measured: ``missing``)."""
    found: list[BonusItem] = []
    for bonus in schedule.bonuses:
        definition = kpis.get(bonus.kpi)
        value = measured.get(bonus.kpi)
        if definition is None or value is None:
            missing.add(bonus.kpi)
            continue
        points = Decimal(str(definition.excess(value)))
        if points > 0:
            amount = _capped(_euros(points * bonus.eur_per_point), bonus.cap_eur)
            found.append(BonusItem(bonus.code, bonus.kpi, value, definition.target, points, amount))
    return found


def penalties(
    period: Period,
    lot: Lot,
    orders: Iterable[WorkOrderFact],
    measured: Mapping[str, float] | None = None,
    *,
    as_of: datetime | None = None,
) -> PenaltyStatement:
    """The lot's statement for the period, under the rules and targets in force on the
    period's first day (an amendment never reaches back)."""
    return compute_statement(
        period,
        lot.code.value,
        lot.penalties.for_period(period),
        lot.kpis_for(period),
        orders,
        measured,
        as_of=as_of,
    )


# --- frozen periods -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrozenPeriod:
    """A reviewed period: its statement is stored and is the answer from then on."""

    statement: PenaltyStatement
    frozen_at: datetime
    frozen_by: str

    @property
    def period(self) -> Period:
        return self.statement.period

    @property
    def lot(self) -> str:
        return self.statement.lot


def freeze(
    statement: PenaltyStatement,
    *,
    at: datetime,
    by: str,
    existing: FrozenPeriod | None = None,
) -> FrozenPeriod:
    """Freeze a reviewed statement. Refused (`Conflict`) when the period is already frozen or
    has not ended at ``at``, or when the statement was computed before the period ended."""
    at = _utc(at, "frozen_at")
    label = f"{statement.lot} {statement.period.label}"
    if existing is not None:
        raise Conflict(
            f"{label} was frozen on {existing.frozen_at.isoformat()} by {existing.frozen_by}",
            details=[Problem("period", "already frozen")],
        )
    if at < statement.period.end or statement.as_of < statement.period.end:
        raise Conflict(
            f"{label} cannot be frozen before it ends ({statement.period.end.isoformat()})",
            details=[Problem("period", "not ended")],
        )
    if not by.strip():
        raise InvalidInput(
            "freezing a period needs who did it", details=[Problem("frozen_by", "empty")]
        )
    return FrozenPeriod(statement, at, by)


def statement_for(
    period: Period,
    lot: Lot,
    orders: Iterable[WorkOrderFact],
    measured: Mapping[str, float] | None = None,
    *,
    frozen: FrozenPeriod | None = None,
    as_of: datetime | None = None,
    recompute: bool = False,
) -> PenaltyStatement:
    """The statement to show: the stored one once the period is frozen (new facts change
    nothing), else a fresh computation. Asking to ``recompute`` a frozen period is refused
    with `Conflict`."""
    if frozen is not None:
        if (frozen.period, frozen.lot) != (period, lot.code.value):
            raise InvalidInput(
                f"the frozen statement is for {frozen.lot} {frozen.period.label}, "
                f"not {lot.code.value} {period.label}",
                details=[Problem("frozen", "another period or lot")],
            )
        if recompute:
            raise Conflict(
                f"{lot.code.value} {period.label} is frozen since "
                f"{frozen.frozen_at.isoformat()}; it is never recomputed",
                details=[Problem("period", "frozen")],
            )
        return frozen.statement
    return penalties(period, lot, orders, measured, as_of=as_of)
