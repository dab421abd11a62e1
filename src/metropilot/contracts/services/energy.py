"""Lighting energy reports and what-ifs: kWh, euros and CO2 against the contract's target."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from metropilot.assets.model import LAMP_POWER_MAX_W
from metropilot.contracts import repository
from metropilot.contracts.energy import (
    DimmingProgram,
    Outcome,
    Plan,
    Tariff,
    money_and_carbon,
    target_trajectory,
)
from metropilot.contracts.model import Period
from metropilot.contracts.services.contracts import DEFAULT_TARIFF, StoredContract, contract_or_none
from metropilot.contracts.services.facts import known_commune, lamp_rows
from metropilot.contracts.services.lighting import (
    FULL_NIGHT,
    LightingFigures,
    lighting_figures,
    load_lighting,
    no_lighting,
    saving,
    sum_lighting,
)
from metropilot.contracts.services.results import (
    EnergyReport,
    MonthEnergy,
    OutcomeFigures,
    WhatIfReport,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, Problem


def _span(periods: Sequence[Period]) -> tuple[datetime, datetime, str]:
    label = periods[0].label if len(periods) == 1 else f"{periods[0].label}..{periods[-1].label}"
    return periods[0].start, periods[-1].end, label


def _target_for(stored: StoredContract | None, periods: Sequence[Period]) -> float | None:
    if stored is None:
        return None
    contract = stored.contract
    last_year = (
        contract.end.year - 1
        if contract.end.month == 1 and contract.end.day == 1
        else (contract.end.year)
    )
    return target_trajectory(
        contract.start.year, last_year, stored.final_target_pct(), periods[-1].year
    )


def energy_report(
    uow: UnitOfWork,
    periods: Sequence[Period],
    *,
    commune: str | None = None,
    months: bool = True,
    as_of: datetime | None = None,
) -> EnergyReport:
    """Lighting energy over a period or a range of periods: kWh now and at the baseline, the
    saving against the contract's target for the year, euros and CO₂; ``months`` adds the
    month-by-month figures (for charts)."""
    if not periods:
        raise InvalidInput("energy needs a period", code="invalid_period")
    if commune is not None:
        known_commune(uow, commune)
    stored = contract_or_none(uow, periods[0])
    tariff = stored.tariff() if stored is not None else DEFAULT_TARIFF
    start, end, label = _span(periods)
    # Facts only: a period not over yet is counted up to now (its future nights are not
    # energy anyone used), and the answer says so with `complete` and `as_of`.
    cutoff = min(as_of or utcnow(), end)
    month_rows: list[MonthEnergy] = []
    totals: list[LightingFigures] = []
    month_periods = [m for p in periods for m in p.months()] if months else []
    if cutoff <= start:
        figures = no_lighting(len(lamp_rows(uow, commune)))
    elif month_periods:
        facts = load_lighting(uow, start, cutoff, commune, cutoff)
        for month in month_periods:
            if month.start >= cutoff:
                break
            figures, _ = lighting_figures(
                uow, month.start, min(month.end, cutoff), commune=commune, as_of=cutoff, facts=facts
            )
            totals.append(figures)
            month_rows.append(
                {
                    "period": month.label,
                    "baseline_kwh": round(figures.baseline_kwh, 3),
                    "current_kwh": round(figures.current_kwh, 3),
                    "saving_pct": saving(figures),
                    "complete": month.end <= cutoff,
                }
            )
        figures = sum_lighting(totals)
    else:
        figures, _ = lighting_figures(uow, start, cutoff, commune=commune, as_of=cutoff)
    span = (start, end, cutoff)
    return _energy_report(figures, tariff, stored, periods, label, span, commune, month_rows)


def _energy_report(
    figures: LightingFigures,
    tariff: Tariff,
    stored: StoredContract | None,
    periods: Sequence[Period],
    label: str,
    span: tuple[datetime, datetime, datetime],
    commune: str | None,
    month_rows: list[MonthEnergy],
) -> EnergyReport:
    start, end, cutoff = span
    now = money_and_carbon(figures.current_kwh, tariff.eur_per_kwh, tariff.kg_co2_per_kwh)
    before = money_and_carbon(figures.baseline_kwh, tariff.eur_per_kwh, tariff.kg_co2_per_kwh)
    modelled = figures.lamps - figures.measured_lamps
    source = (
        "measured"
        if figures.lamps and modelled == 0
        else ("mixed" if figures.measured_lamps else "modelled")
    )
    target = _target_for(stored, periods)
    return {
        "period": label,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "commune": commune,
        "lamps": figures.lamps,
        "measured_lamps": figures.measured_lamps,
        "modelled_lamps": modelled,
        "source": source,
        "baseline_kwh": round(figures.baseline_kwh, 3),
        "current_kwh": round(figures.current_kwh, 3),
        "modelled_kwh": round(figures.modelled_kwh, 3),
        "saving_pct": saving(figures),
        "target_pct": None if target is None else round(target, 3),
        "eur": round(now.eur, 2),
        "co2_kg": round(now.co2_kg, 3),
        "baseline_eur": round(before.eur, 2),
        "baseline_co2_kg": round(before.co2_kg, 3),
        "tariff": {"eur_per_kwh": tariff.eur_per_kwh, "kg_co2_per_kwh": tariff.kg_co2_per_kwh},
        "months": month_rows,
        "as_of": cutoff.isoformat(),
        "complete": cutoff >= end,
    }


def energy_what_if(
    uow: UnitOfWork,
    year: int,
    *,
    programs_by_commune: Mapping[str, str] | None = None,
    program_for_all: str | None = None,
    power_w_by_technology: Mapping[str, float] | None = None,
    commune: str | None = None,
) -> WhatIfReport:
    """Annual kWh, € and CO₂ now and under another program (in some communes, or everywhere) or
    a conversion plan (new powers for the lamps of some technologies), before anyone decides."""
    period = Period.whole_year(year)
    by_commune, everywhere = _programs_asked(
        uow, programs_by_commune or {}, program_for_all, power_w_by_technology
    )
    if commune is not None:
        known_commune(uow, commune)
    lamps = lamp_rows(uow, commune)
    powers = {
        lamp.ref: float(power_w_by_technology[lamp.technology])
        for lamp in lamps
        if power_w_by_technology and lamp.technology in power_w_by_technology
    }
    if everywhere is not None:
        by_commune = {lamp.commune: by_commune.get(lamp.commune, everywhere) for lamp in lamps}
    plan = Plan(programs_by_commune=by_commune, power_w_by_lamp=powers)
    stored = contract_or_none(uow, period)
    tariff = stored.tariff() if stored is not None else DEFAULT_TARIFF
    _, result = lighting_figures(
        uow,
        period.start,
        period.end,
        commune=commune,
        plan=plan,
        tariff=tariff,
        as_of=period.end,
    )
    if result is None:
        raise InvalidInput("no street lights to compare", code="no_lamps")
    return {
        "year": year,
        "commune": commune,
        "lamps": len(lamps),
        "baseline_kwh": round(result.baseline_kwh, 3),
        "current": _outcome(result.current),
        "candidate": _outcome(result.candidate),
        "saved": {
            "kwh": round(result.kwh_saved, 3),
            "eur": round(result.eur_saved, 2),
            "co2_kg": round(result.co2_kg_saved, 3),
        },
        "tariff": {"eur_per_kwh": tariff.eur_per_kwh, "kg_co2_per_kwh": tariff.kg_co2_per_kwh},
        "note": "modelled from the astronomical clock over the whole year, failures as recorded",
    }


def _outcome(o: Outcome) -> OutcomeFigures:
    return {"kwh": round(o.kwh, 3), "eur": round(o.eur, 2), "co2_kg": round(o.co2_kg, 3)}


def _programs_asked(
    uow: UnitOfWork,
    programs_by_commune: Mapping[str, str],
    program_for_all: str | None,
    power_w_by_technology: Mapping[str, float] | None,
) -> tuple[dict[str, DimmingProgram], DimmingProgram | None]:
    """The programs a what-if names (per commune, and for every lamp), once the whole plan is
    checked: every problem of it is reported at once."""
    programs = {
        row["code"]: DimmingProgram.from_dict({"name": row["name"], "steps": row["steps"]})
        for row in repository.list_programs(uow.connection)
    }
    problems: list[Problem] = []

    def program(code: str, loc: str) -> DimmingProgram:
        found = programs.get(code)
        if found is None:
            problems.append(Problem(loc, f"no dimming program {code!r}"))
            return FULL_NIGHT
        return found

    by_commune = {
        insee: program(code, f"programs_by_commune.{insee}")
        for insee, code in programs_by_commune.items()
    }
    everywhere = program(program_for_all, "program") if program_for_all else None
    for technology, power in (power_w_by_technology or {}).items():
        # The registry's range for a lamp: a year of hours times more would be no plan.
        if (
            isinstance(power, bool)
            or not isinstance(power, int | float)
            or not (math.isfinite(power) and 0 <= power <= LAMP_POWER_MAX_W)
        ):
            problems.append(
                Problem(
                    f"power_w_by_technology.{technology}",
                    f"must be 0 to {LAMP_POWER_MAX_W} W, got {power!r}",
                )
            )
    if not (by_commune or everywhere or power_w_by_technology):
        problems.append(Problem("plan", "name a program or new powers to compare"))
    if problems:
        raise InvalidInput("invalid what-if", details=problems, code="invalid_what_if")
    return by_commune, everywhere
