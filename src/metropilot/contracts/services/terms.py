"""The contract as the API shows it: its parties, term, and per lot the terms in force."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from metropilot.contracts import repository
from metropilot.contracts.model import CONTRACT_ZONE, KpiDefinition
from metropilot.contracts.services.contracts import StoredContract, get_contract
from metropilot.contracts.services.results import Amendment, ContractSummary, KpiTerms, LotTerms
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow


def contract_summary(stored: StoredContract, *, as_of: date | None = None) -> ContractSummary:
    """The contract as the API shows it: its parties, term, and per lot the terms in force."""
    contract = stored.contract
    day = as_of or utcnow().astimezone(CONTRACT_ZONE).date()
    day = min(max(day, contract.start), contract.end - timedelta(days=1))
    lots: list[LotTerms] = []
    for lot in contract.lots.values():
        table = lot.sla.value_as_of(day)
        schedule = lot.penalties.value_as_of(day)
        lots.append(
            {
                "lot": lot.code.value,
                "contractor": lot.contractor,
                "sla": [
                    {
                        "priority": t.priority,
                        "response_hours": t.response.total_seconds() / 3600,
                        "resolution_hours": t.resolution.total_seconds() / 3600,
                        "clock": t.clock.value,
                    }
                    for t in sorted(table.targets.values(), key=lambda t: t.priority)
                ],
                "kpis": [
                    {
                        **kpi_terms(lot.kpis[code].value_as_of(day)),
                        "measure": stored.measure_of(lot.code.value, code),
                        "versions": [
                            {"effective_from": since.isoformat(), "target": definition.target}
                            for since, definition in lot.kpis[code].versions
                        ],
                    }
                    for code in lot.kpis
                ],
                "penalties": {
                    "cap_eur": money(schedule.cap_eur),
                    "rules": [
                        {
                            "code": r.code,
                            "kind": r.kind.value,
                            "eur_per_unit": money(r.eur_per_unit),
                            "stage": r.stage.value,
                            "priorities": sorted(r.priorities),
                            "kpi": r.kpi,
                            "cap_eur": money(r.cap_eur),
                        }
                        for r in schedule.rules
                    ],
                    "bonuses": [
                        {
                            "code": b.code,
                            "kpi": b.kpi,
                            "eur_per_point": money(b.eur_per_point),
                            "cap_eur": money(b.cap_eur),
                        }
                        for b in schedule.bonuses
                    ],
                },
            }
        )
    tariff = stored.tariff()
    return {
        "code": contract.code,
        "parties": list(contract.parties),
        "start": contract.start.isoformat(),
        "end": contract.end.isoformat(),
        "term_years": contract.term_years,
        "as_of": day.isoformat(),
        "energy": {
            "final_target_pct": stored.final_target_pct(),
            "eur_per_kwh": tariff.eur_per_kwh,
            "kg_co2_per_kwh": tariff.kg_co2_per_kwh,
        },
        "it": {"components": list(stored.components()), "gateways": stored.gateways_counted()},
        "lots": lots,
        "updated_at": stored.updated_at.isoformat(),
        "updated_by": stored.updated_by,
    }


def kpi_terms(definition: KpiDefinition) -> KpiTerms:
    return {
        "code": definition.code,
        "name": definition.name,
        "unit": definition.unit,
        "target": definition.target,
        "direction": definition.direction.value,
        "period": definition.period.value,
    }


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount.quantize(Decimal('0.01'))}"


def list_amendments(uow: UnitOfWork, code: str) -> list[Amendment]:
    """The amendments of the contract, oldest first."""
    get_contract(uow, code)
    return [
        {
            "id": row["id"],
            "effective_from": row["effective_from"].isoformat(),
            "lot": row["lot"],
            "part": row["part"],
            "kpi": row["kpi"],
            "version": row["version"],
            "reason": row["reason"],
            "at": row["at"].isoformat(),
            "by": row["by"],
        }
        for row in repository.list_amendments(uow.connection, code)
    ]
