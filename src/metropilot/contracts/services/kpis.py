"""KPIs measured from the recorded facts, per lot, priority and commune."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from metropilot.contracts.kpis import (
    RateResult,
    WorkOrderFact,
    it_availability,
    mean_time_to_repair,
    on_time_rates,
)
from metropilot.contracts.model import Direction, KpiDefinition, Lot, Period, SlaStage
from metropilot.contracts.services.availability import it_uptime
from metropilot.contracts.services.contracts import StoredContract, contract_for, cutoff_of, lots_of
from metropilot.contracts.services.facts import commune_names, known_commune, work_order_facts
from metropilot.contracts.services.lighting import LightingFigures, lighting_to, saving
from metropilot.contracts.services.results import (
    CommuneRates,
    ItBasis,
    KpiBasis,
    KpiReport,
    LightingBasis,
    LotKpis,
    LotRates,
    MeasuredKpi,
    OrdersDone,
    PriorityRates,
    RateCounts,
    SavingBasis,
)
from metropilot.contracts.services.terms import kpi_terms
from metropilot.db.uow import UnitOfWork


def rate_dict(result: RateResult | None) -> RateCounts:
    if result is None:
        return {"on_time": 0, "late": 0, "pending": 0, "rate": None}
    return {
        "on_time": result.on_time,
        "late": result.late,
        "pending": result.pending,
        "rate": result.rate,
    }


@dataclass(slots=True)
class Measured:
    """What one period's facts give, computed once and shared by the lots."""

    orders: list[WorkOrderFact]
    lighting: LightingFigures | None = None
    it: tuple[float | None, ItBasis] | None = None


def measure_lot(
    uow: UnitOfWork,
    stored: StoredContract,
    lot: Lot,
    period: Period,
    facts: Measured,
    cutoff: datetime,
    commune: str | None,
) -> list[MeasuredKpi]:
    """Each KPI of the lot in force over the period, with its value and what it is based on."""
    code = lot.code.value
    lot_orders = [o for o in facts.orders if o.lot == code]
    results: list[MeasuredKpi] = []
    for kpi_code, definition in lot.kpis_for(period).items():
        measure = stored.measure_of(code, kpi_code)
        value: float | None = None
        basis: KpiBasis = {}
        if measure in ("response_on_time", "resolution_on_time", "mttr_hours"):
            value, basis = _order_measure(measure, lot_orders, period, cutoff)
        elif measure in ("lighting_availability", "energy_saving"):
            if facts.lighting is None:
                facts.lighting = lighting_to(uow, period, cutoff, commune)
            value, basis = _lighting_measure(measure, facts.lighting)
        elif measure == "it_availability":
            if facts.it is None:
                facts.it = _it_measure(uow, stored, period, cutoff)
            value, basis = facts.it
        results.append(
            {
                **kpi_terms(definition),
                "measure": measure,
                "value": None if value is None else round(value, 3),
                "met": None if value is None else _met(definition, value),
                "basis": basis,
            }
        )
    return results


def _order_measure(
    measure: str, lot_orders: Sequence[WorkOrderFact], period: Period, cutoff: datetime
) -> tuple[float | None, RateCounts | OrdersDone]:
    """On-time rates (percent) or the mean time to repair (hours) of the lot's orders."""
    if measure == "mttr_hours":
        mean = mean_time_to_repair(lot_orders, period, by=()).get(())
        done = sum(1 for o in lot_orders if o.done_at is not None and period.contains(o.done_at))
        return (None if mean is None else mean.total_seconds() / 3600), {"orders_done": done}
    stage = SlaStage.RESPONSE if measure == "response_on_time" else SlaStage.RESOLUTION
    found = on_time_rates(lot_orders, period, stage, by=(), as_of=cutoff).get(())
    value = None if found is None or found.rate is None else found.rate * 100
    return value, rate_dict(found)


def _lighting_measure(
    measure: str, light: LightingFigures
) -> tuple[float | None, LightingBasis | SavingBasis]:
    """The lamps' availability (lit hours over scheduled, percent) or the energy saving."""
    if measure == "lighting_availability":
        value = light.lit_hours / light.scheduled_hours * 100 if light.scheduled_hours else None
        return value, {
            "scheduled_lamp_hours": round(light.scheduled_hours, 3),
            "lit_lamp_hours": round(light.lit_hours, 3),
            "lamps": light.lamps,
        }
    return saving(light), {
        "baseline_kwh": round(light.baseline_kwh, 3),
        "current_kwh": round(light.current_kwh, 3),
        "measured_lamps": light.measured_lamps,
        "lamps": light.lamps,
    }


def _it_measure(
    uow: UnitOfWork, stored: StoredContract, period: Period, cutoff: datetime
) -> tuple[float | None, ItBasis]:
    """The platform's availability (percent), metropolis-wide, and its five worst components."""
    uptime, components = it_uptime(uow, stored, period.start, cutoff, cutoff)
    overall, each = it_availability(uptime, period, components, as_of=cutoff)
    worst = sorted((round((r.ratio or 0.0) * 100, 3), name) for name, r in each.items())[:5]
    return (
        None if overall.ratio is None else overall.ratio * 100,
        {
            "components": len(components),
            "scope": "metropolis",
            "worst": [{"component": name, "pct": pct} for pct, name in worst],
        },
    )


def _met(definition: KpiDefinition, value: float) -> bool:
    if definition.direction is Direction.HIGHER_IS_BETTER:
        return value >= definition.target
    return value <= definition.target


def kpi_report(
    uow: UnitOfWork,
    period: Period,
    *,
    lot: str | Sequence[str] | None = None,
    commune: str | None = None,
    as_of: datetime | None = None,
) -> KpiReport:
    """Every KPI of the period's lots (or one lot), measured from the facts recorded by
    ``as_of`` (default now, or the period's end once over); ``commune`` narrows the orders and
    the lamps to one commune (IT availability stays metropolis-wide)."""
    stored = contract_for(uow, period)
    lots = lots_of(stored, lot)
    if commune is not None:
        known_commune(uow, commune)
    cutoff = cutoff_of(period, as_of)
    facts = Measured(
        work_order_facts(uow, stored.contract, period.start, period.end, commune=commune)
    )
    names = commune_names(uow)
    entries: list[LotKpis] = []
    for item in lots:
        code = item.code.value
        lot_orders = [o for o in facts.orders if o.lot == code]
        mttr = mean_time_to_repair(lot_orders, period, by=()).get(())
        entries.append(
            {
                "lot": code,
                "contractor": item.contractor,
                "orders": len(lot_orders),
                "kpis": measure_lot(uow, stored, item, period, facts, cutoff, commune),
                "rates": _rates(lot_orders, period, cutoff, names),
                "mttr_hours": None if mttr is None else round(mttr.total_seconds() / 3600, 3),
            }
        )
    return {
        "contract": stored.code,
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "as_of": cutoff.isoformat(),
        "commune": commune,
        "lots": entries,
    }


def _rates(
    lot_orders: Sequence[WorkOrderFact], period: Period, cutoff: datetime, names: Mapping[str, str]
) -> LotRates:
    """The lot's on-time rates per priority and per commune."""
    by_priority: list[PriorityRates] = []
    response = on_time_rates(lot_orders, period, SlaStage.RESPONSE, by=("priority",), as_of=cutoff)
    resolution = on_time_rates(
        lot_orders, period, SlaStage.RESOLUTION, by=("priority",), as_of=cutoff
    )
    for key in sorted(set(response) | set(resolution)):
        by_priority.append(
            {
                "priority": key[0],
                "response": rate_dict(response.get(key)),
                "resolution": rate_dict(resolution.get(key)),
            }
        )
    by_commune: list[CommuneRates] = []
    response_c = on_time_rates(lot_orders, period, SlaStage.RESPONSE, by=("commune",), as_of=cutoff)
    resolution_c = on_time_rates(
        lot_orders, period, SlaStage.RESOLUTION, by=("commune",), as_of=cutoff
    )
    for key in sorted(set(response_c) | set(resolution_c)):
        by_commune.append(
            {
                "commune": key[0],
                "name": names.get(key[0], key[0]),
                "response": rate_dict(response_c.get(key)),
                "resolution": rate_dict(resolution_c.get(key)),
            }
        )
    return {"by_priority": by_priority, "by_commune": by_commune}
