"""The lighting figures of a span of time: modelled from the astronomical clock and the
programs in force, failures as recorded, measured where metered."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from metropilot.contracts import repository
from metropilot.contracts.energy import (
    DimmingProgram,
    EnergyFigures,
    EnergyModel,
    Lamp,
    Outcome,
    Plan,
    Tariff,
    WhatIf,
    saving_pct,
    what_if,
)
from metropilot.contracts.model import CONTRACT_ZONE, Period
from metropilot.contracts.services.contracts import DEFAULT_TARIFF
from metropilot.contracts.services.dimming import Assignments, assignments_on
from metropilot.contracts.services.facts import (
    CABINET_FAILURE_RULES,
    LAMP_FAILURE_RULES,
    LampRow,
    lamp_rows,
    meter_readings,
    outages,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow

FULL_NIGHT: Final = DimmingProgram.from_dict(
    {"name": "Full power all night", "steps": [{"from": "dusk", "to": "dawn", "level": 100}]}
)


# Nights and level curves are the costly part of energy; one model serves every request.
_energy_model = EnergyModel()
_energy_model_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class LightingFigures:
    """The lamps' figures over one period: modelled energy, measured where metered."""

    lamps: int
    baseline_kwh: float
    modelled_kwh: float
    current_kwh: float
    measured_lamps: int
    scheduled_hours: float
    lit_hours: float


def _segments(
    period_start: datetime, period_end: datetime, change_days: Iterable[date]
) -> list[tuple[datetime, datetime, date]]:
    """The period cut at the local midnights where a program assignment takes effect."""
    first_day = period_start.astimezone(CONTRACT_ZONE).date()
    cuts = sorted(
        {
            datetime(d.year, d.month, d.day, tzinfo=CONTRACT_ZONE).astimezone(UTC)
            for d in change_days
        }
    )
    bounds = [period_start, *(c for c in cuts if period_start < c < period_end), period_end]
    return [
        (lo, hi, max(first_day, lo.astimezone(CONTRACT_ZONE).date()))
        for lo, hi in itertools.pairwise(bounds)
    ]


@dataclass(slots=True)
class LightingFacts:
    """What the lighting figures are computed from, read once for a span of time."""

    lamps: list[LampRow]
    programs: dict[str, DimmingProgram]
    groups: dict[str, list[int]]
    assignments: list[dict[str, Any]]
    meters: dict[datetime, dict[int, float]] = field(default_factory=dict)

    def meter_readings(self, uow: UnitOfWork, at: datetime) -> dict[int, float]:
        found = self.meters.get(at)
        if found is None:
            found = self.meters[at] = meter_readings(uow, [lamp.id for lamp in self.lamps], at)
        return found


def load_lighting(
    uow: UnitOfWork, start: datetime, end: datetime, commune: str | None, until: datetime
) -> LightingFacts:
    lamps = lamp_rows(uow, commune)
    lamp_failures = outages(uow, LAMP_FAILURE_RULES, start, end, until)
    cabinet_failures = outages(uow, CABINET_FAILURE_RULES, start, end, until)
    for lamp in lamps:
        lamp.failures = [
            *lamp_failures.get(lamp.id, ()),
            *(cabinet_failures.get(lamp.cabinet_id, ()) if lamp.cabinet_id is not None else ()),
        ]
    conn = uow.connection
    programs = {
        row["code"]: DimmingProgram.from_dict({"name": row["name"], "steps": row["steps"]})
        for row in repository.list_programs(conn)
    }
    groups = {row["code"]: list(row["cabinet_ids"]) for row in repository.list_groups(conn)}
    last_day = (end - timedelta(microseconds=1)).astimezone(CONTRACT_ZONE).date()
    assignments = repository.list_assignments(conn, until=last_day)
    return LightingFacts(lamps, programs, groups, assignments)


def lighting_figures(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    *,
    commune: str | None = None,
    as_of: datetime | None = None,
    plan: Plan | None = None,
    tariff: Tariff = DEFAULT_TARIFF,
    facts: LightingFacts | None = None,
) -> tuple[LightingFigures, WhatIf | None]:
    """The lighting figures over ``[start, end)``; with a ``plan``, also its what-if. ``facts``
    read once for a longer span (a year's months) save reading them again."""
    until = min(as_of or utcnow(), end)
    if facts is None:
        facts = load_lighting(uow, start, end, commune, until)
    lamps, programs, groups = facts.lamps, facts.programs, facts.groups
    assignment_rows = facts.assignments
    segments = _segments(start, end, (row["effective_from"] for row in assignment_rows))
    total = EnergyFigures(0.0, 0.0, 0.0, 0.0)
    per_lamp_kwh: dict[int, float] = defaultdict(float)
    outcome: WhatIf | None = None
    with _energy_model_lock:
        for lo, hi, day in segments:
            assigned = assignments_on(assignment_rows, groups, day)
            part, segment = _segment(lamps, programs, assigned, lo, hi, plan, tariff, per_lamp_kwh)
            total = total + part
            if segment is not None:
                outcome = segment if outcome is None else _add_what_if(outcome, segment)
    current, measured = _metered(uow, facts, start, until, total.current_kwh, per_lamp_kwh)
    figures = LightingFigures(
        lamps=len(lamps),
        baseline_kwh=total.baseline_kwh,
        modelled_kwh=total.current_kwh,
        current_kwh=current,
        measured_lamps=measured,
        scheduled_hours=total.scheduled_hours,
        lit_hours=total.burning_hours,
    )
    return figures, outcome


def _segment(
    lamps: Sequence[LampRow],
    programs: Mapping[str, DimmingProgram],
    assigned: Assignments,
    lo: datetime,
    hi: datetime,
    plan: Plan | None,
    tariff: Tariff,
    per_lamp_kwh: dict[int, float],
) -> tuple[EnergyFigures, WhatIf | None]:
    """The figures of ``[lo, hi)``, one program per lamp throughout (adds each lamp's modelled
    kWh to ``per_lamp_kwh``); with a ``plan``, its what-if too. The caller holds the model's
    lock."""
    total = EnergyFigures(0.0, 0.0, 0.0, 0.0)
    # Lamps in one grid cell on one program burn the same hours: one look-up per
    # group, not per lamp. Failed lamps are counted one by one.
    same_hours: dict[tuple[tuple[float, float], str], list[LampRow]] = defaultdict(list)
    models = []
    for lamp in lamps:
        code = assigned.program_code(lamp) or ""
        failures = tuple((max(a, lo), min(b, hi)) for a, b in lamp.failures if a < hi and b > lo)
        if plan is not None or failures:
            model_lamp = Lamp(
                ref=lamp.ref,
                lon=lamp.lon,
                lat=lamp.lat,
                power_w=lamp.power_w,
                baseline_power_w=lamp.baseline_power_w,
                program=programs.get(code, FULL_NIGHT),
                technology=lamp.technology,
                commune=lamp.commune,
                failures=failures,
            )
            models.append(model_lamp)
        if failures:
            lamp_figures = _energy_model.energy(models[-1], lo, hi)
            total = total + lamp_figures
            per_lamp_kwh[lamp.id] += lamp_figures.current_kwh
        else:
            same_hours[(_energy_model.cell(lamp.lon, lamp.lat), code)].append(lamp)
    for ((lon, lat), code), members in same_hours.items():
        program = programs.get(code, FULL_NIGHT)
        night_h, level_h, lit_h = _energy_model.hours(lon, lat, program, lo, hi)
        power = 0.0
        for lamp in members:
            per_lamp_kwh[lamp.id] += lamp.power_w * level_h / 1000.0
            power += lamp.power_w
        baseline = sum(lamp.baseline_power_w for lamp in members)
        count = len(members)
        total = total + EnergyFigures(
            power * level_h / 1000.0,
            baseline * night_h / 1000.0,
            count * lit_h,
            count * lit_h,
        )
    outcome = what_if(models, plan, lo, hi, tariff, _energy_model) if plan is not None else None
    return total, outcome


def _metered(
    uow: UnitOfWork,
    facts: LightingFacts,
    start: datetime,
    until: datetime,
    modelled_kwh: float,
    per_lamp_kwh: Mapping[int, float],
) -> tuple[float, int]:
    """The current kWh once the metered lamps' counters replace the model, and how many were."""
    current = modelled_kwh
    measured = 0
    if facts.lamps and until > start:
        before = facts.meter_readings(uow, start)
        after = facts.meter_readings(uow, until) if before else {}
        for lamp_id, first in before.items():
            last = after.get(lamp_id)
            if last is not None and last >= first:
                current += (last - first) / 1000.0 - per_lamp_kwh.get(lamp_id, 0.0)
                measured += 1
    return current, measured


def _add_what_if(a: WhatIf, b: WhatIf) -> WhatIf:
    def plus(x: Outcome, y: Outcome) -> Outcome:
        return Outcome(x.kwh + y.kwh, x.eur + y.eur, x.co2_kg + y.co2_kg)

    return WhatIf(
        plus(a.current, b.current), plus(a.candidate, b.candidate), a.baseline_kwh + b.baseline_kwh
    )


def no_lighting(lamps: int) -> LightingFigures:
    return LightingFigures(lamps, 0.0, 0.0, 0.0, 0, 0.0, 0.0)


def lighting_to(
    uow: UnitOfWork, period: Period, cutoff: datetime, commune: str | None
) -> LightingFigures:
    """The period's lighting figures up to ``cutoff`` (nothing before it starts)."""
    if cutoff <= period.start:
        return no_lighting(len(lamp_rows(uow, commune)))
    figures, _ = lighting_figures(uow, period.start, cutoff, commune=commune, as_of=cutoff)
    return figures


def sum_lighting(parts: Sequence[LightingFigures]) -> LightingFigures:
    return LightingFigures(
        lamps=max((p.lamps for p in parts), default=0),
        baseline_kwh=sum(p.baseline_kwh for p in parts),
        modelled_kwh=sum(p.modelled_kwh for p in parts),
        current_kwh=sum(p.current_kwh for p in parts),
        measured_lamps=min((p.measured_lamps for p in parts), default=0),
        scheduled_hours=sum(p.scheduled_hours for p in parts),
        lit_hours=sum(p.lit_hours for p in parts),
    )


def saving(figures: LightingFigures) -> float | None:
    if not figures.baseline_kwh > 0:
        return None
    return round(saving_pct(figures.baseline_kwh, figures.current_kwh), 3)
