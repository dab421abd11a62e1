"""The contracts stored: imported whole, amended part by part, the one in force for a period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from metropilot.contracts import repository
from metropilot.contracts.energy import Tariff
from metropilot.contracts.model import Contract, Lot, Period, parse_contract
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import NotFound

# What the platform can measure; a KPI names one with ``measure`` (its code by default).
MEASURES: Final = (
    "response_on_time",
    "resolution_on_time",
    "mttr_hours",
    "lighting_availability",
    "it_availability",
    "energy_saving",
)

# France's electricity mix, ADEME Base Empreinte (kg CO2e per kWh), and a public-lighting tariff.
DEFAULT_TARIFF: Final = Tariff(eur_per_kwh=0.20, kg_co2_per_kwh=0.052)
DEFAULT_FINAL_TARGET_PCT: Final = 65.0
DEFAULT_COMPONENTS: Final = ("api", "ingest")


# --- contracts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredContract:
    contract: Contract
    document: dict[str, Any]
    updated_at: datetime
    updated_by: str

    @property
    def code(self) -> str:
        return self.contract.code

    def tariff(self) -> Tariff:
        energy = self.document.get("energy") or {}
        return Tariff(
            eur_per_kwh=float(energy.get("eur_per_kwh", DEFAULT_TARIFF.eur_per_kwh)),
            kg_co2_per_kwh=float(energy.get("kg_co2_per_kwh", DEFAULT_TARIFF.kg_co2_per_kwh)),
        )

    def final_target_pct(self) -> float:
        energy = self.document.get("energy") or {}
        return float(energy.get("final_target_pct", DEFAULT_FINAL_TARGET_PCT))

    def components(self) -> tuple[str, ...]:
        it = self.document.get("it") or {}
        return tuple(it.get("components", DEFAULT_COMPONENTS))

    def gateways_counted(self) -> bool:
        return bool((self.document.get("it") or {}).get("gateways", True))

    def measure_of(self, lot: str, kpi: str) -> str | None:
        for raw_lot in self.document.get("lots", []):
            if raw_lot.get("code") != lot:
                continue
            for raw_kpi in raw_lot.get("kpis", []):
                if raw_kpi.get("code") == kpi:
                    measure = raw_kpi.get("measure", kpi)
                    return measure if measure in MEASURES else None
        return None


def _stored(row: Mapping[str, Any]) -> StoredContract:
    document = dict(row["document"])
    return StoredContract(parse_contract(document), document, row["updated_at"], row["updated_by"])


def get_contract(uow: UnitOfWork, code: str) -> StoredContract:
    row = repository.get_contract(uow.connection, code)
    if row is None:
        raise NotFound(f"no contract {code!r}", code="unknown_contract")
    return _stored(row)


def list_contracts(uow: UnitOfWork) -> list[StoredContract]:
    return [_stored(row) for row in repository.list_contracts(uow.connection)]


def contract_for(uow: UnitOfWork, period: Period) -> StoredContract:
    """The contract in force over the period (the latest to start, if several)."""
    found = [c for c in list_contracts(uow) if c.contract.covers(period)]
    if not found:
        raise NotFound(f"no contract covers {period.label}", code="no_contract")
    return max(found, key=lambda c: c.contract.start)


def contract_or_none(uow: UnitOfWork, period: Period) -> StoredContract | None:
    try:
        return contract_for(uow, period)
    except NotFound:
        return None


def lots_of(stored: StoredContract, lot: str | Sequence[str] | None) -> list[Lot]:
    if lot is None:
        return list(stored.contract.lots.values())
    codes = [lot] if isinstance(lot, str) else list(lot)
    return [stored.contract.lot(code) for code in codes]


def lots_held(uow: UnitOfWork, period: Period, organisation: str | None) -> list[str]:
    """The lots of the period's contract that the organisation holds."""
    stored = contract_for(uow, period)
    return [
        lot.code.value for lot in stored.contract.lots.values() if lot.contractor == organisation
    ]


def cutoff_of(period: Period, as_of: datetime | None) -> datetime:
    return min(as_of or utcnow(), period.end)
