"""The period report of a lot and the public transparency figures."""

from __future__ import annotations

from decimal import Decimal

from metropilot.contracts.model import LotCode, Period
from metropilot.contracts.services.contracts import contract_for, contract_or_none
from metropilot.contracts.services.energy import energy_report
from metropilot.contracts.services.facts import commune_names, known_commune
from metropilot.contracts.services.kpis import kpi_report
from metropilot.contracts.services.results import (
    CommuneRef,
    MeasuredKpi,
    PeriodReport,
    PublicKpi,
    PublicLot,
    Transparency,
)
from metropilot.contracts.services.statements import penalty_statements
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow

# --- the period report and the public transparency figures -----------------------------------


def period_report(uow: UnitOfWork, period: Period, lot: str) -> PeriodReport:
    """Everything about one lot over one period: KPIs, rates, penalties, and the lighting
    energy for the lighting lot."""
    stored = contract_for(uow, period)
    item = stored.contract.lot(lot)
    kpis = kpi_report(uow, period, lot=item.code.value)
    (entry,) = kpis["lots"]
    (statement,) = penalty_statements(uow, period, lot=item.code.value)
    energy = energy_report(uow, (period,)) if item.code is LotCode.LIGHTING else None
    contract = stored.contract
    return {
        "contract": {
            "code": contract.code,
            "parties": list(contract.parties),
            "start": contract.start.isoformat(),
            "end": contract.end.isoformat(),
        },
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "as_of": kpis["as_of"],
        "lot": item.code.value,
        "contractor": item.contractor,
        "kpis": entry["kpis"],
        "rates": entry["rates"],
        "mttr_hours": entry["mttr_hours"],
        "orders": entry["orders"],
        "penalties": statement,
        "energy": energy,
    }


def transparency(uow: UnitOfWork, period: Period, *, commune: str | None = None) -> Transparency:
    """The public figures of the metropolis (or a commune) for a period: the KPIs of every lot,
    the lighting energy and, for the metropolis, the penalties due. Aggregates only: no case,
    no report, no person."""
    names = commune_names(uow)
    commune_entry: CommuneRef | None = None
    if commune is not None:
        commune_entry = {"insee": commune, "name": known_commune(uow, commune)}
    stored = contract_or_none(uow, period)
    lots: list[PublicLot] = []
    penalties_eur: str | None = None
    if stored is not None:
        report = kpi_report(uow, period, commune=commune)
        lots = [
            {
                "lot": entry["lot"],
                "contractor": entry["contractor"],
                "kpis": [_public(kpi) for kpi in entry["kpis"]],
            }
            for entry in report["lots"]
        ]
        if commune is None:
            total = sum(
                (Decimal(s["net"]) for s in penalty_statements(uow, period)), Decimal("0.00")
            )
            penalties_eur = str(total)
    energy = energy_report(uow, (period,), commune=commune)
    return {
        "scope": "metropolis" if commune is None else "commune",
        "commune": commune_entry,
        "period": period.label,
        "generated_at": utcnow().isoformat(),
        "contract": None
        if stored is None
        else {
            "code": stored.code,
            "start": stored.contract.start.isoformat(),
            "end": stored.contract.end.isoformat(),
        },
        "lots": lots,
        "energy": energy,
        "penalties_eur": penalties_eur,
        "communes": [{"insee": insee, "name": name} for insee, name in names.items()],
    }


def _public(kpi: MeasuredKpi) -> PublicKpi:
    """What the public reads of a KPI: its terms and its value, not what it is based on."""
    return {
        "code": kpi["code"],
        "name": kpi["name"],
        "unit": kpi["unit"],
        "target": kpi["target"],
        "direction": kpi["direction"],
        "value": kpi["value"],
        "met": kpi["met"],
    }
