"""The facts the figures are computed from, read through the interfaces of the contexts that
record them: work orders (cases), street lights and cabinets (assets), failures (alarms), energy
meters (telemetry), communes (territory)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from metropilot.alarms import queries as alarms_queries
from metropilot.assets import queries as assets_queries
from metropilot.cases import queries as cases_queries
from metropilot.contracts.kpis import WorkOrderFact
from metropilot.contracts.model import Contract, LotCode
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import NotFound
from metropilot.telemetry import queries as telemetry_queries
from metropilot.territory import queries as territory_queries

__all__ = [
    "CABINET_FAILURE_RULES",
    "GATEWAY_SILENCE_RULES",
    "LAMP_FAILURE_RULES",
    "LOT_ASSET_KINDS",
    "METER_LOOKBACK",
    "LampRow",
    "commune_names",
    "known_commune",
    "lamp_rows",
    "meter_readings",
    "outages",
    "work_order_facts",
]

# Which equipment each lot maintains: sorts the orders of a contractor holding several lots.
LOT_ASSET_KINDS: Final[Mapping[LotCode, frozenset[str]]] = {
    LotCode.LIGHTING: frozenset({"streetlight", "lighting_cabinet"}),
    LotCode.TRAFFIC_SIGNALS: frozenset({"traffic_junction", "bollard"}),
    LotCode.VIDEO: frozenset({"camera"}),
    LotCode.BUILDINGS: frozenset({"building"}),
    LotCode.IT: frozenset({"sensor"}),
}
LAMP_FAILURE_RULES: Final = ("lamp-failure", "streetlight-supply-loss")
CABINET_FAILURE_RULES: Final = ("cabinet-supply-loss",)
GATEWAY_SILENCE_RULES: Final = ("cabinet-silent",)
METER_LOOKBACK: Final = timedelta(days=7)


# --- work orders ------------------------------------------------------------------------------


def _lot_of(contract: Contract, organisation: str | None, asset_kind: str | None) -> str | None:
    held = [lot for lot in contract.lots.values() if lot.contractor == organisation]
    if len(held) == 1:
        return held[0].code.value
    for lot in held:
        if asset_kind in LOT_ASSET_KINDS.get(lot.code, frozenset()):
            return lot.code.value
    return None


def work_order_facts(
    uow: UnitOfWork,
    contract: Contract,
    start: datetime,
    end: datetime,
    *,
    commune: str | None = None,
) -> list[WorkOrderFact]:
    """The dispatched orders with a deadline or a completion in ``[start, end)``, each in the
    lot its organisation holds (orders of no lot are left out)."""
    facts = []
    for order in cases_queries.dispatched_orders(uow.connection, start, end, commune=commune):
        lot = _lot_of(contract, order.organisation, order.asset_kind)
        if lot is None:
            continue
        facts.append(
            WorkOrderFact(
                order_id=str(order.id),
                case_id=str(order.case_id),
                lot=lot,
                priority=order.priority,
                commune=order.commune or "",
                dispatched_at=order.dispatched_at,
                response_due_at=order.response_due_at,
                resolution_due_at=order.resolution_due_at,
                accepted_at=order.accepted_at,
                done_at=order.done_at,
            )
        )
    return facts


# --- lamps, failures, meters ------------------------------------------------------------------


@dataclass(slots=True)
class LampRow:
    id: int
    ref: str
    lon: float
    lat: float
    commune: str
    cabinet_id: int | None
    power_w: float
    baseline_power_w: float
    technology: str
    failures: list[tuple[datetime, datetime]] = field(default_factory=list)


def lamp_rows(uow: UnitOfWork, commune: str | None) -> list[LampRow]:
    """The street lights in service, with their power (the lamp each replaced: its baseline,
    the nominal power if never converted)."""
    lamps = []
    for light in assets_queries.streetlights(uow.connection, commune=commune):
        power = light.nominal_power_w or 0.0
        lamps.append(
            LampRow(
                id=light.id,
                ref=light.ref,
                lon=light.lon,
                lat=light.lat,
                commune=light.commune,
                cabinet_id=light.cabinet_id,
                power_w=power,
                baseline_power_w=light.baseline_power_w or power,
                technology="other" if light.technology is None else light.technology,
            )
        )
    return lamps


def outages(
    uow: UnitOfWork, rule_codes: Sequence[str], start: datetime, end: datetime, until: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per asset, the spells of the rules' alarms overlapping ``[start, end)`` (open ones until
    ``until``)."""
    spells: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for spell in alarms_queries.alarm_spells(uow.connection, rule_codes, start, end):
        stop = spell.cleared_at if spell.cleared_at is not None else until
        if stop > spell.raised_at:
            spells[spell.asset_id].append((spell.raised_at, stop))
    return spells


def meter_readings(uow: UnitOfWork, lamp_ids: Sequence[int], at: datetime) -> dict[int, float]:
    """Each lamp's energy counter at ``at``: its highest reading in the week before (hourly
    rollups of whole hours before ``at``, raw readings before ``at``)."""
    at_ms = int(at.timestamp() * 1000)
    since_ms = int((at - METER_LOOKBACK).timestamp() * 1000)
    found = telemetry_queries.counter_maxima(uow.connection, "energy_wh", since_ms, at_ms)
    wanted = set(lamp_ids)
    return {asset_id: value for asset_id, value in found.items() if asset_id in wanted}


# --- communes ---------------------------------------------------------------------------------


def known_commune(uow: UnitOfWork, insee: str) -> str:
    """The commune's name; NotFound if there is none."""
    name = territory_queries.commune_name(uow.connection, insee)
    if name is None:
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")
    return name


def commune_names(uow: UnitOfWork) -> dict[str, str]:
    return territory_queries.commune_names(uow.connection)
