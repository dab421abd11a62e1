"""What the contract's services answer: typed JSON objects.

They are ``TypedDict``s, not classes of their own, because every consumer reads them as the JSON
objects they are served as: the API renders them with orjson as they are, the documents
(``contracts.documents``) draw the period report and the transparency figures from the same
objects, the public pages publish them as open data, and frozen statements are stored as JSON
and served back as they were stored. The types tell mypy and the OpenAPI document (the routes
declare them as response models) what each key holds. Timestamps are ISO 8601 strings and money
is a string of two decimals, exactly as served.

Keys that are Python keywords (``from``) make the functional form necessary for some of them.
"""

from __future__ import annotations

from typing import Any

# Pydantic reads these for the OpenAPI document; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

__all__ = [
    "Amendment",
    "Assignment",
    "BonusLine",
    "BonusTerms",
    "CommuneRates",
    "CommuneRef",
    "ContractDetail",
    "ContractList",
    "ContractParties",
    "ContractSummary",
    "ContractTerm",
    "EnergyReport",
    "EnergyTerms",
    "Group",
    "GroupList",
    "ItBasis",
    "ItTerms",
    "KpiBasis",
    "KpiInForce",
    "KpiTerms",
    "KpiVersion",
    "LightingBasis",
    "LotKpis",
    "LotRates",
    "LotTerms",
    "MeasuredKpi",
    "MonthEnergy",
    "NoBasis",
    "OrdersDone",
    "OutcomeFigures",
    "PenaltyRuleTerms",
    "PenaltyStatementOut",
    "PenaltyTerms",
    "PeriodReport",
    "PriorityRates",
    "Program",
    "ProgramList",
    "ProgramStep",
    "PublicKpi",
    "PublicLot",
    "RateCounts",
    "RuleTotal",
    "SavingBasis",
    "SlaTerm",
    "Statement",
    "StatementItem",
    "StatementList",
    "TariffTerms",
    "Transparency",
    "WhatIfReport",
    "WorstComponent",
]


# --- the contract's terms ---------------------------------------------------------------------


class SlaTerm(TypedDict):
    priority: str
    response_hours: float
    resolution_hours: float
    clock: str


class KpiTerms(TypedDict):
    code: str
    name: str
    unit: str
    target: float
    direction: str
    period: str


class KpiVersion(TypedDict):
    effective_from: str
    target: float


class KpiInForce(KpiTerms):
    measure: str | None
    versions: list[KpiVersion]


class PenaltyRuleTerms(TypedDict):
    code: str
    kind: str
    eur_per_unit: str | None
    stage: str
    priorities: list[str]
    kpi: str | None
    cap_eur: str | None


class BonusTerms(TypedDict):
    code: str
    kpi: str
    eur_per_point: str | None
    cap_eur: str | None


class PenaltyTerms(TypedDict):
    cap_eur: str | None
    rules: list[PenaltyRuleTerms]
    bonuses: list[BonusTerms]


class LotTerms(TypedDict):
    lot: str
    contractor: str
    sla: list[SlaTerm]
    kpis: list[KpiInForce]
    penalties: PenaltyTerms


class EnergyTerms(TypedDict):
    final_target_pct: float
    eur_per_kwh: float
    kg_co2_per_kwh: float


class ItTerms(TypedDict):
    components: list[str]
    gateways: bool


class ContractSummary(TypedDict):
    code: str
    parties: list[str]
    start: str
    end: str
    term_years: int
    as_of: str
    energy: EnergyTerms
    it: ItTerms
    lots: list[LotTerms]
    updated_at: str
    updated_by: str


class Amendment(TypedDict):
    id: int
    effective_from: str
    lot: str
    part: str
    kpi: str | None
    version: dict[str, Any]
    reason: str
    at: str
    by: str


class ContractDetail(ContractSummary):
    amendments: list[Amendment]


class ContractList(TypedDict):
    items: list[ContractSummary]
    next_cursor: str | None


# --- KPIs -------------------------------------------------------------------------------------


class RateCounts(TypedDict):
    on_time: int
    late: int
    pending: int
    rate: float | None


class OrdersDone(TypedDict):
    orders_done: int


class LightingBasis(TypedDict):
    scheduled_lamp_hours: float
    lit_lamp_hours: float
    lamps: int


class SavingBasis(TypedDict):
    baseline_kwh: float
    current_kwh: float
    measured_lamps: int
    lamps: int


class WorstComponent(TypedDict):
    component: str
    pct: float


class ItBasis(TypedDict):
    components: int
    scope: str
    worst: list[WorstComponent]


class NoBasis(TypedDict):
    """A KPI the platform cannot measure: nothing behind it."""


KpiBasis = RateCounts | OrdersDone | LightingBasis | SavingBasis | ItBasis | NoBasis


class MeasuredKpi(KpiTerms):
    measure: str | None
    value: float | None
    met: bool | None
    basis: KpiBasis


class PriorityRates(TypedDict):
    priority: str
    response: RateCounts
    resolution: RateCounts


class CommuneRates(TypedDict):
    commune: str
    name: str
    response: RateCounts
    resolution: RateCounts


class LotRates(TypedDict):
    by_priority: list[PriorityRates]
    by_commune: list[CommuneRates]


class LotKpis(TypedDict):
    lot: str
    contractor: str
    orders: int
    kpis: list[MeasuredKpi]
    rates: LotRates
    mttr_hours: float | None


KpiReport = TypedDict(
    "KpiReport",
    {
        "contract": str,
        "period": str,
        "from": str,
        "to": str,
        "as_of": str,
        "commune": str | None,
        "lots": list[LotKpis],
    },
)


# --- penalties --------------------------------------------------------------------------------


class StatementItem(TypedDict):
    rule: str
    kind: str
    amount: str
    order_id: str | None
    case_id: str | None
    stage: str | None
    hours_late: str | None
    kpi: str | None
    measured: float | None
    target: float | None
    points: str | None


class RuleTotal(TypedDict):
    rule: str
    gross: str
    capped: str
    cap: str | None


class BonusLine(TypedDict):
    rule: str
    kpi: str
    measured: float
    target: float
    points: str
    amount: str


class Statement(TypedDict):
    """A lot's statement for a period, as computed (and as stored once frozen)."""

    lot: str
    period: str
    as_of: str
    items: list[StatementItem]
    rules: list[RuleTotal]
    gross: str
    cap: str | None
    total: str
    bonuses: list[BonusLine]
    bonus_total: str
    net: str
    missing_kpis: list[str]


class PenaltyStatementOut(Statement):
    contract: str
    contractor: str
    frozen: bool
    frozen_at: str | None
    frozen_by: str | None


class StatementList(TypedDict):
    items: list[PenaltyStatementOut]
    next_cursor: str | None


# --- energy -----------------------------------------------------------------------------------


class TariffTerms(TypedDict):
    eur_per_kwh: float
    kg_co2_per_kwh: float


class MonthEnergy(TypedDict):
    period: str
    baseline_kwh: float
    current_kwh: float
    saving_pct: float | None
    complete: bool


EnergyReport = TypedDict(
    "EnergyReport",
    {
        "period": str,
        "from": str,
        "to": str,
        "commune": str | None,
        "lamps": int,
        "measured_lamps": int,
        "modelled_lamps": int,
        "source": str,
        "baseline_kwh": float,
        "current_kwh": float,
        "modelled_kwh": float,
        "saving_pct": float | None,
        "target_pct": float | None,
        "eur": float,
        "co2_kg": float,
        "baseline_eur": float,
        "baseline_co2_kg": float,
        "tariff": TariffTerms,
        "months": list[MonthEnergy],
        "as_of": str,
        "complete": bool,
    },
)


class OutcomeFigures(TypedDict):
    kwh: float
    eur: float
    co2_kg: float


class WhatIfReport(TypedDict):
    year: int
    commune: str | None
    lamps: int
    baseline_kwh: float
    current: OutcomeFigures
    candidate: OutcomeFigures
    saved: OutcomeFigures
    tariff: TariffTerms
    note: str


# --- the period report and the public figures -------------------------------------------------


class ContractParties(TypedDict):
    code: str
    parties: list[str]
    start: str
    end: str


PeriodReport = TypedDict(
    "PeriodReport",
    {
        "contract": ContractParties,
        "period": str,
        "from": str,
        "to": str,
        "as_of": str,
        "lot": str,
        "contractor": str,
        "kpis": list[MeasuredKpi],
        "rates": LotRates,
        "mttr_hours": float | None,
        "orders": int,
        "penalties": PenaltyStatementOut,
        "energy": EnergyReport | None,
    },
)


class PublicKpi(TypedDict):
    code: str
    name: str
    unit: str
    target: float
    direction: str
    value: float | None
    met: bool | None


class PublicLot(TypedDict):
    lot: str
    contractor: str
    kpis: list[PublicKpi]


class CommuneRef(TypedDict):
    insee: str
    name: str


class ContractTerm(TypedDict):
    code: str
    start: str
    end: str


class Transparency(TypedDict):
    scope: str
    commune: CommuneRef | None
    period: str
    generated_at: str
    contract: ContractTerm | None
    lots: list[PublicLot]
    energy: EnergyReport
    penalties_eur: str | None
    communes: list[CommuneRef]


# --- dimming programs -------------------------------------------------------------------------


ProgramStep = TypedDict("ProgramStep", {"from": str, "to": str, "level": float})


class Assignment(TypedDict):
    id: int
    program: str
    target_type: str
    target: str
    effective_from: str
    at: str
    by: str


class Program(TypedDict):
    code: str
    name: str
    steps: list[ProgramStep]
    updated_at: str
    updated_by: str
    assignments: list[Assignment]


class ProgramList(TypedDict):
    items: list[Program]
    next_cursor: str | None


class Group(TypedDict):
    code: str
    name: str
    cabinet_ids: list[int]
    updated_at: str
    updated_by: str


class GroupList(TypedDict):
    items: list[Group]
    next_cursor: str | None
