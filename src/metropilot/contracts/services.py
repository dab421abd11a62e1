"""The performance contract at work: contracts and amendments stored, recorded facts turned into
KPIs, penalty statements and lighting energy, periods frozen, dimming programs managed.

Where the figures come from (never guessed; a KPI with no fact behind it is reported without a
value and named as missing):

* **work orders** — the orders dispatched to a lot's contractor, with the deadlines stored at
  dispatch and the steps the team recorded (accepted, done); refused and cancelled orders do not
  count. An order belongs to the lot its organisation holds; a contractor holding several lots
  has its orders sorted by the kind of equipment of the case (`LOT_ASSET_KINDS`);
* **lamps** — the street lights of the registry, their nominal power and technology, and the
  power of the lamp each replaced (``baseline_power_w``; the nominal power if never converted);
* **lamp failures** — the alarms of the lamp-failure and supply-loss rules on a lamp, and the
  supply-loss alarms of the cabinet feeding it, from raised to cleared;
* **dimming programs** — the program in force for a lamp on each day: its cabinet's, else its
  cabinet's group's, else its commune's, else the metropolis', else full power all night;
* **measured energy** — a lamp's ``energy_wh`` counter read in the week before the period's start
  and before its end (hourly rollups and raw readings); lamps without both readings are modelled
  from the astronomical clock, and the answer says how many are which;
* **IT availability** — the heartbeats of the platform's own processes (`beat`, every 30 s from
  the housekeeping and the ingest consumer) and, for the gateways (remote-managed lighting
  cabinets), the time without an open silence alarm.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import and_, func, or_, select

from metropilot.accounts import repository as accounts_repository
from metropilot.alarms.repository import alarm_rules, alarms
from metropilot.assets import repository as assets_repository
from metropilot.assets.model import LAMP_POWER_MAX_W
from metropilot.cases.model import WorkOrderState
from metropilot.cases.repository import cases, work_orders
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
    money_and_carbon,
    saving_pct,
    target_trajectory,
    what_if,
)
from metropilot.contracts.kpis import (
    PenaltyStatement,
    RateResult,
    UptimeInterval,
    WorkOrderFact,
    compute_statement,
    it_availability,
    mean_time_to_repair,
    on_time_rates,
)
from metropilot.contracts.model import (
    CONTRACT_ZONE,
    Contract,
    Direction,
    KpiDefinition,
    Lot,
    LotCode,
    Period,
    SlaStage,
    parse_contract,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem
from metropilot.telemetry.repository import telemetry_hourly, telemetry_raw
from metropilot.territory.repository import communes

__all__ = [
    "DEFAULT_TARIFF",
    "LOT_ASSET_KINDS",
    "MEASURES",
    "amend_contract",
    "assign_program",
    "beat",
    "contract_summary",
    "energy_report",
    "energy_what_if",
    "freeze_period",
    "get_contract",
    "import_contract",
    "kpi_report",
    "list_assignments",
    "list_contracts",
    "list_groups",
    "list_programs",
    "lots_held",
    "penalty_statements",
    "period_report",
    "programs_in_force",
    "put_group",
    "put_program",
    "transparency",
]

# Which equipment each lot maintains: sorts the orders of a contractor holding several lots.
LOT_ASSET_KINDS: Final[Mapping[LotCode, frozenset[str]]] = {
    LotCode.LIGHTING: frozenset({"streetlight", "lighting_cabinet"}),
    LotCode.TRAFFIC_SIGNALS: frozenset({"traffic_junction", "bollard"}),
    LotCode.VIDEO: frozenset({"camera"}),
    LotCode.BUILDINGS: frozenset({"building"}),
    LotCode.IT: frozenset({"sensor"}),
}

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
FULL_NIGHT: Final = DimmingProgram.from_dict(
    {"name": "Full power all night", "steps": [{"from": "dusk", "to": "dawn", "level": 100}]}
)
LAMP_FAILURE_RULES: Final = ("lamp-failure", "streetlight-supply-loss")
CABINET_FAILURE_RULES: Final = ("cabinet-supply-loss",)
GATEWAY_SILENCE_RULES: Final = ("cabinet-silent",)
METER_LOOKBACK: Final = timedelta(days=7)
HOUR_MS: Final = 3_600_000
UNCOUNTED_ORDER_STATES: Final = (
    WorkOrderState.CREATED.value,
    WorkOrderState.REFUSED.value,
    WorkOrderState.CANCELLED.value,
)
TARGET_TYPES: Final = ("cabinet", "group", "commune", "metropolis")

# Nights and level curves are the costly part of energy; one model serves every request.
_energy_model = EnergyModel()
_energy_model_lock = threading.Lock()


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


def _check_extras(document: Mapping[str, Any]) -> list[Problem]:
    """The parts of the document the platform reads beyond the terms: energy, IT, measures."""
    problems: list[Problem] = []
    energy = document.get("energy", {})
    if not isinstance(energy, Mapping):
        problems.append(Problem("energy", "must be an object"))
        energy = {}
    for key in ("eur_per_kwh", "kg_co2_per_kwh", "final_target_pct"):
        value = energy.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(Problem(f"energy.{key}", f"must be a number ≥ 0, not {value!r}"))
        elif key == "final_target_pct" and value > 100:
            problems.append(Problem(f"energy.{key}", "must be 0–100"))
    it = document.get("it", {})
    if not isinstance(it, Mapping):
        problems.append(Problem("it", "must be an object"))
    else:
        listed = it.get("components", list(DEFAULT_COMPONENTS))
        if not isinstance(listed, list) or not all(isinstance(c, str) and c for c in listed):
            problems.append(Problem("it.components", "must be a list of component names"))
    for i, raw_lot in enumerate(document.get("lots", [])):
        for j, raw_kpi in enumerate(raw_lot.get("kpis", []) if isinstance(raw_lot, dict) else []):
            measure = raw_kpi.get("measure") if isinstance(raw_kpi, dict) else None
            if measure is not None and measure not in MEASURES:
                problems.append(
                    Problem(
                        f"lots[{i}].kpis[{j}].measure",
                        f"{measure!r} is not one of {', '.join(MEASURES)}",
                    )
                )
    return problems


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


def _contract_for(uow: UnitOfWork, period: Period) -> StoredContract:
    """The contract in force over the period (the latest to start, if several)."""
    found = [c for c in list_contracts(uow) if c.contract.covers(period)]
    if not found:
        raise NotFound(f"no contract covers {period.label}", code="no_contract")
    return max(found, key=lambda c: c.contract.start)


def import_contract(uow: UnitOfWork, document: Mapping[str, Any], actor: Actor) -> StoredContract:
    """Store a contract from its document, all or nothing. A contract may be replaced whole only
    while none of its periods is frozen; afterwards it changes by amendments."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a contract is a JSON object", code="invalid_contract")
    contract = parse_contract(document)
    known = {o.code for o in accounts_repository.list_organisations(uow.connection)}
    problems = [
        Problem(f"lots.{lot.code.value}.contractor", f"no organisation {lot.contractor!r}")
        for lot in contract.lots.values()
        if lot.contractor not in known
    ]
    problems += _check_extras(document)
    if problems:
        raise InvalidInput("invalid contract", details=problems, code="invalid_contract")
    conn = uow.connection
    if repository.get_contract(conn, contract.code) is not None and repository.list_frozen(
        conn, contract.code
    ):
        raise Conflict(
            f"contract {contract.code} has frozen periods: change it by amendments",
            code="contract_frozen",
        )
    now = utcnow()
    stored_document = copy.deepcopy(dict(document))
    existed = repository.put_contract(
        conn,
        {
            "code": contract.code,
            "document": stored_document,
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "contract.replaced" if existed else "contract.imported",
            "contract",
            contract.code,
            {"lots": [None, sorted(code.value for code in contract.lots)]},
        )
    )
    return get_contract(uow, contract.code)


AMENDABLE_PARTS: Final = ("sla", "kpi", "penalties")


def amend_contract(
    uow: UnitOfWork,
    code: str,
    *,
    lot: str,
    part: str,
    effective_from: date,
    version: Mapping[str, Any],
    reason: str,
    actor: Actor,
    kpi: str | None = None,
) -> StoredContract:
    """Add a version of a lot's SLA table, one KPI's target, or its penalty schedule, in force
    from ``effective_from``. The past is never rewritten: the date must come after the lot's
    last frozen period and after the part's latest version."""
    stored = get_contract(uow, code)
    if part not in AMENDABLE_PARTS:
        raise InvalidInput(
            f"part must be one of {', '.join(AMENDABLE_PARTS)}, not {part!r}",
            code="invalid_amendment",
        )
    if not reason.strip():
        raise InvalidInput("an amendment needs a reason", code="invalid_amendment")
    lot_code = stored.contract.lot(lot).code.value
    frozen_end = repository.last_frozen_end(uow.connection, code, lot_code)
    if frozen_end is not None and effective_from < frozen_end.astimezone(CONTRACT_ZONE).date():
        raise Conflict(
            f"{lot_code} is frozen until {frozen_end.astimezone(CONTRACT_ZONE).date()}: "
            "an amendment cannot reach back into a frozen period",
            code="amendment_in_frozen_period",
        )
    document = copy.deepcopy(stored.document)
    raw_lot = next(item for item in document["lots"] if item.get("code") == lot_code)
    new_version = {**dict(version), "effective_from": effective_from.isoformat()}
    if part == "kpi":
        raw_kpi = next((k for k in raw_lot.get("kpis", []) if k.get("code") == kpi), None)
        if raw_kpi is None:
            raise NotFound(f"lot {lot_code} has no KPI {kpi!r}", code="unknown_kpi")
        if "versions" not in raw_kpi:
            raw_kpi["versions"] = [{"target": raw_kpi.pop("target", None)}]
        raw_kpi["versions"].append(new_version)
    else:
        key = part
        current = raw_lot.get(key)
        if current is None:
            raw_lot[key] = [new_version]
        else:
            if isinstance(current, Mapping):
                current = [dict(current)]
            raw_lot[key] = [*current, new_version]
    parse_contract(document)  # the amended contract must still be a valid one
    now = utcnow()
    repository.put_contract(
        uow.connection,
        {
            "code": code,
            "document": document,
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    repository.add_amendment(
        uow.connection,
        {
            "contract_code": code,
            "effective_from": effective_from,
            "lot": lot_code,
            "part": part,
            "kpi": kpi,
            "version": dict(version),
            "reason": reason.strip()[:2000],
            "at": now,
            "by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "contract.amended",
            "contract",
            code,
            {f"{lot_code}.{part}" + (f".{kpi}" if kpi else ""): [None, effective_from.isoformat()]},
        )
    )
    return get_contract(uow, code)


def list_amendments(uow: UnitOfWork, code: str) -> list[dict[str, Any]]:
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


def contract_summary(stored: StoredContract, *, as_of: date | None = None) -> dict[str, Any]:
    """The contract as the API shows it: its parties, term, and per lot the terms in force."""
    contract = stored.contract
    day = as_of or utcnow().astimezone(CONTRACT_ZONE).date()
    day = min(max(day, contract.start), contract.end - timedelta(days=1))
    lots = []
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
                        **_kpi_terms(lot.kpis[code].value_as_of(day)),
                        "measure": stored.measure_of(lot.code.value, code),
                        "versions": [
                            {"effective_from": since.isoformat(), "target": definition.target}
                            for since, definition in lot.kpis[code].versions
                        ],
                    }
                    for code in lot.kpis
                ],
                "penalties": {
                    "cap_eur": _money(schedule.cap_eur),
                    "rules": [
                        {
                            "code": r.code,
                            "kind": r.kind.value,
                            "eur_per_unit": _money(r.eur_per_unit),
                            "stage": r.stage.value,
                            "priorities": sorted(r.priorities),
                            "kpi": r.kpi,
                            "cap_eur": _money(r.cap_eur),
                        }
                        for r in schedule.rules
                    ],
                    "bonuses": [
                        {
                            "code": b.code,
                            "kpi": b.kpi,
                            "eur_per_point": _money(b.eur_per_point),
                            "cap_eur": _money(b.cap_eur),
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


def _kpi_terms(definition: KpiDefinition) -> dict[str, Any]:
    return {
        "code": definition.code,
        "name": definition.name,
        "unit": definition.unit,
        "target": definition.target,
        "direction": definition.direction.value,
        "period": definition.period.value,
    }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount.quantize(Decimal('0.01'))}"


# --- facts: work orders -----------------------------------------------------------------------


def _lot_of(contract: Contract, organisation: str | None, asset_kind: str | None) -> str | None:
    held = [lot for lot in contract.lots.values() if lot.contractor == organisation]
    if len(held) == 1:
        return held[0].code.value
    for lot in held:
        if asset_kind in LOT_ASSET_KINDS.get(lot.code, frozenset()):
            return lot.code.value
    return None


def _work_order_facts(
    uow: UnitOfWork,
    contract: Contract,
    start: datetime,
    end: datetime,
    *,
    commune: str | None = None,
) -> list[WorkOrderFact]:
    """The dispatched orders with a deadline or a completion in ``[start, end)``."""
    w, c = work_orders.c, cases.c
    query = (
        select(
            w.id,
            w.case_id,
            w.organisation,
            w.dispatched_at,
            w.response_due_at,
            w.resolution_due_at,
            w.accepted_at,
            w.done_at,
            c.priority,
            c.commune_insee,
            c.asset_kind,
        )
        .select_from(work_orders.join(cases, w.case_id == c.id))
        .where(
            w.dispatched_at.is_not(None),
            w.response_due_at.is_not(None),
            w.resolution_due_at.is_not(None),
            w.state.not_in(UNCOUNTED_ORDER_STATES),
            or_(
                and_(w.response_due_at >= start, w.response_due_at < end),
                and_(w.resolution_due_at >= start, w.resolution_due_at < end),
                and_(w.done_at >= start, w.done_at < end),
            ),
        )
        .order_by(w.id)
    )
    if commune is not None:
        query = query.where(c.commune_insee == commune)
    facts = []
    for row in uow.connection.execute(query).mappings():
        lot = _lot_of(contract, row["organisation"], row["asset_kind"])
        if lot is None:
            continue
        facts.append(
            WorkOrderFact(
                order_id=str(row["id"]),
                case_id=str(row["case_id"]),
                lot=lot,
                priority=row["priority"],
                commune=row["commune_insee"] or "",
                dispatched_at=row["dispatched_at"],
                response_due_at=row["response_due_at"],
                resolution_due_at=row["resolution_due_at"],
                accepted_at=row["accepted_at"],
                done_at=row["done_at"],
            )
        )
    return facts


# --- facts: lamps, programs, failures, meters -------------------------------------------------


@dataclass(slots=True)
class _LampRow:
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


def _lamp_rows(uow: UnitOfWork, commune: str | None) -> list[_LampRow]:
    a = assets_repository.assets.c
    query = select(
        a.id, a.external_ref, a.lon, a.lat, a.commune_insee, a.parent_id, a.attributes
    ).where(a.kind == "streetlight", a.status != "decommissioned")
    if commune is not None:
        query = query.where(a.commune_insee == commune)
    lamps = []
    for row in uow.connection.execute(query.order_by(a.id)).mappings():
        attributes = row["attributes"] or {}
        power = float(attributes.get("nominal_power_w") or 0.0)
        baseline = attributes.get("baseline_power_w")
        lamps.append(
            _LampRow(
                id=row["id"],
                ref=row["external_ref"],
                lon=row["lon"],
                lat=row["lat"],
                commune=row["commune_insee"],
                cabinet_id=row["parent_id"],
                power_w=power,
                baseline_power_w=float(baseline) if baseline else power,
                technology=str(attributes.get("lamp_technology", "other")),
            )
        )
    return lamps


def _outages(
    uow: UnitOfWork, rule_codes: Sequence[str], start: datetime, end: datetime, until: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per asset, the spells of the rules' alarms overlapping ``[start, end)`` (open ones until
    ``until``)."""
    al, r = alarms.c, alarm_rules.c
    rows = uow.connection.execute(
        select(al.asset_id, al.raised_at, al.cleared_at)
        .select_from(alarms.join(alarm_rules, al.rule_id == r.id))
        .where(
            r.code.in_(list(rule_codes)),
            al.raised_at < end,
            or_(al.cleared_at.is_(None), al.cleared_at > start),
        )
    )
    spells: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for asset_id, raised_at, cleared_at in rows:
        stop = cleared_at if cleared_at is not None else until
        if stop > raised_at:
            spells[int(asset_id)].append((raised_at, stop))
    return spells


@dataclass(frozen=True, slots=True)
class _Assignments:
    """The program of each target on one day."""

    by_cabinet: Mapping[int, str]
    by_group_cabinet: Mapping[int, str]
    by_commune: Mapping[str, str]
    metropolis: str | None

    def program_code(self, lamp: _LampRow) -> str | None:
        return self.for_cabinet(lamp.cabinet_id, lamp.commune)

    def for_cabinet(self, cabinet_id: int | None, commune: str) -> str | None:
        """The cabinet's program, else its group's, else its commune's, else the metropolis'."""
        if cabinet_id is not None:
            if (found := self.by_cabinet.get(cabinet_id)) is not None:
                return found
            if (found := self.by_group_cabinet.get(cabinet_id)) is not None:
                return found
        return self.by_commune.get(commune, self.metropolis)


def programs_in_force(
    uow: UnitOfWork, cabinets: Sequence[tuple[int, str]], day: date
) -> dict[int, str | None]:
    """The program each (cabinet id, commune) should run on a day (None: full power, the
    default when nothing is assigned)."""
    conn = uow.connection
    groups = {row["code"]: list(row["cabinet_ids"]) for row in repository.list_groups(conn)}
    assigned = _assignments_on(repository.list_assignments(conn, until=day), groups, day)
    return {cabinet: assigned.for_cabinet(cabinet, commune) for cabinet, commune in cabinets}


def _assignments_on(
    rows: Sequence[Mapping[str, Any]], groups: Mapping[str, Sequence[int]], day: date
) -> _Assignments:
    by_cabinet: dict[int, str] = {}
    by_group: dict[int, str] = {}
    by_commune: dict[str, str] = {}
    metropolis: str | None = None
    for row in rows:  # oldest first: a later assignment of the same target wins
        if row["effective_from"] > day:
            continue
        target, program = row["target"], row["program_code"]
        if row["target_type"] == "cabinet":
            by_cabinet[int(target)] = program
        elif row["target_type"] == "group":
            for cabinet in groups.get(target, ()):
                by_group[int(cabinet)] = program
        elif row["target_type"] == "commune":
            by_commune[target] = program
        else:
            metropolis = program
    return _Assignments(by_cabinet, by_group, by_commune, metropolis)


def _meter_readings(uow: UnitOfWork, lamp_ids: Sequence[int], at: datetime) -> dict[int, float]:
    """Each lamp's energy counter at ``at``: its highest reading in the week before (hourly
    rollups of whole hours before ``at``, raw readings before ``at``)."""
    at_ms = int(at.timestamp() * 1000)
    since_ms = int((at - METER_LOOKBACK).timestamp() * 1000)
    conn = uow.connection
    found: dict[int, float] = {}
    h, r = telemetry_hourly.c, telemetry_raw.c
    queries = (
        select(h.asset_id, func.max(h.max))
        .where(
            h.metric == "energy_wh",
            h.hour_ms >= since_ms,
            h.hour_ms + HOUR_MS <= at_ms,
        )
        .group_by(h.asset_id),
        select(r.asset_id, func.max(r.value))
        .where(r.metric == "energy_wh", r.ts_ms >= since_ms, r.ts_ms < at_ms)
        .group_by(r.asset_id),
    )
    wanted = set(lamp_ids)
    for query in queries:
        for asset_id, value in conn.execute(query):
            if asset_id in wanted and value is not None:
                found[asset_id] = max(found.get(asset_id, 0.0), float(value))
    return found


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
class _LightingFacts:
    """What the lighting figures are computed from, read once for a span of time."""

    lamps: list[_LampRow]
    programs: dict[str, DimmingProgram]
    groups: dict[str, list[int]]
    assignments: list[dict[str, Any]]
    meters: dict[datetime, dict[int, float]] = field(default_factory=dict)

    def meter_readings(self, uow: UnitOfWork, at: datetime) -> dict[int, float]:
        found = self.meters.get(at)
        if found is None:
            found = self.meters[at] = _meter_readings(uow, [lamp.id for lamp in self.lamps], at)
        return found


def _load_lighting(
    uow: UnitOfWork, start: datetime, end: datetime, commune: str | None, until: datetime
) -> _LightingFacts:
    lamps = _lamp_rows(uow, commune)
    lamp_failures = _outages(uow, LAMP_FAILURE_RULES, start, end, until)
    cabinet_failures = _outages(uow, CABINET_FAILURE_RULES, start, end, until)
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
    return _LightingFacts(lamps, programs, groups, assignments)


def _lighting(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    *,
    commune: str | None = None,
    as_of: datetime | None = None,
    plan: Plan | None = None,
    tariff: Tariff = DEFAULT_TARIFF,
    facts: _LightingFacts | None = None,
) -> tuple[LightingFigures, WhatIf | None]:
    """The lighting figures over ``[start, end)``; with a ``plan``, also its what-if. ``facts``
    read once for a longer span (a year's months) save reading them again."""
    until = min(as_of or utcnow(), end)
    if facts is None:
        facts = _load_lighting(uow, start, end, commune, until)
    lamps, programs, groups = facts.lamps, facts.programs, facts.groups
    assignment_rows = facts.assignments
    segments = _segments(start, end, (row["effective_from"] for row in assignment_rows))
    total = EnergyFigures(0.0, 0.0, 0.0, 0.0)
    per_lamp_kwh: dict[int, float] = defaultdict(float)
    outcome: WhatIf | None = None
    with _energy_model_lock:
        for lo, hi, day in segments:
            assigned = _assignments_on(assignment_rows, groups, day)
            # Lamps in one grid cell on one program burn the same hours: one look-up per
            # group, not per lamp. Failed lamps are counted one by one.
            same_hours: dict[tuple[tuple[float, float], str], list[_LampRow]] = defaultdict(list)
            models = []
            for lamp in lamps:
                code = assigned.program_code(lamp) or ""
                failures = tuple(
                    (max(a, lo), min(b, hi)) for a, b in lamp.failures if a < hi and b > lo
                )
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
            if plan is not None:
                segment = what_if(models, plan, lo, hi, tariff, _energy_model)
                outcome = segment if outcome is None else _add_what_if(outcome, segment)
    # Metered lamps: the counter's advance replaces the model.
    current = total.current_kwh
    measured = 0
    if lamps and until > start:
        before = facts.meter_readings(uow, start)
        after = facts.meter_readings(uow, until) if before else {}
        for lamp_id, first in before.items():
            last = after.get(lamp_id)
            if last is not None and last >= first:
                current += (last - first) / 1000.0 - per_lamp_kwh[lamp_id]
                measured += 1
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


def _add_what_if(a: WhatIf, b: WhatIf) -> WhatIf:
    def plus(x: Outcome, y: Outcome) -> Outcome:
        return Outcome(x.kwh + y.kwh, x.eur + y.eur, x.co2_kg + y.co2_kg)

    return WhatIf(
        plus(a.current, b.current), plus(a.candidate, b.candidate), a.baseline_kwh + b.baseline_kwh
    )


# --- energy -----------------------------------------------------------------------------------


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


def _contract_or_none(uow: UnitOfWork, period: Period) -> StoredContract | None:
    try:
        return _contract_for(uow, period)
    except NotFound:
        return None


def energy_report(
    uow: UnitOfWork,
    periods: Sequence[Period],
    *,
    commune: str | None = None,
    months: bool = True,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Lighting energy over a period or a range of periods: kWh now and at the baseline, the
    saving against the contract's target for the year, euros and CO₂; ``months`` adds the
    month-by-month figures (for charts)."""
    if not periods:
        raise InvalidInput("energy needs a period", code="invalid_period")
    if commune is not None:
        _known_commune(uow, commune)
    stored = _contract_or_none(uow, periods[0])
    tariff = stored.tariff() if stored is not None else DEFAULT_TARIFF
    start, end, label = _span(periods)
    # Facts only: a period not over yet is counted up to now (its future nights are not
    # energy anyone used), and the answer says so with `complete` and `as_of`.
    cutoff = min(as_of or utcnow(), end)
    month_rows = []
    totals: list[LightingFigures] = []
    month_periods = [m for p in periods for m in p.months()] if months else []
    if cutoff <= start:
        figures = _no_lighting(len(_lamp_rows(uow, commune)))
    elif month_periods:
        facts = _load_lighting(uow, start, cutoff, commune, cutoff)
        for month in month_periods:
            if month.start >= cutoff:
                break
            figures, _ = _lighting(
                uow, month.start, min(month.end, cutoff), commune=commune, as_of=cutoff, facts=facts
            )
            totals.append(figures)
            month_rows.append(
                {
                    "period": month.label,
                    "baseline_kwh": round(figures.baseline_kwh, 3),
                    "current_kwh": round(figures.current_kwh, 3),
                    "saving_pct": _saving(figures),
                    "complete": month.end <= cutoff,
                }
            )
        figures = _sum_lighting(totals)
    else:
        figures, _ = _lighting(uow, start, cutoff, commune=commune, as_of=cutoff)
    report = _energy_dict(figures, tariff, stored, periods, label, start, end, commune, month_rows)
    return {**report, "as_of": cutoff.isoformat(), "complete": cutoff >= end}


def _no_lighting(lamps: int) -> LightingFigures:
    return LightingFigures(lamps, 0.0, 0.0, 0.0, 0, 0.0, 0.0)


def _lighting_to(
    uow: UnitOfWork, period: Period, cutoff: datetime, commune: str | None
) -> LightingFigures:
    """The period's lighting figures up to ``cutoff`` (nothing before it starts)."""
    if cutoff <= period.start:
        return _no_lighting(len(_lamp_rows(uow, commune)))
    figures, _ = _lighting(uow, period.start, cutoff, commune=commune, as_of=cutoff)
    return figures


def _sum_lighting(parts: Sequence[LightingFigures]) -> LightingFigures:
    return LightingFigures(
        lamps=max((p.lamps for p in parts), default=0),
        baseline_kwh=sum(p.baseline_kwh for p in parts),
        modelled_kwh=sum(p.modelled_kwh for p in parts),
        current_kwh=sum(p.current_kwh for p in parts),
        measured_lamps=min((p.measured_lamps for p in parts), default=0),
        scheduled_hours=sum(p.scheduled_hours for p in parts),
        lit_hours=sum(p.lit_hours for p in parts),
    )


def _saving(figures: LightingFigures) -> float | None:
    if not figures.baseline_kwh > 0:
        return None
    return round(saving_pct(figures.baseline_kwh, figures.current_kwh), 3)


def _energy_dict(
    figures: LightingFigures,
    tariff: Tariff,
    stored: StoredContract | None,
    periods: Sequence[Period],
    label: str,
    start: datetime,
    end: datetime,
    commune: str | None,
    month_rows: list[dict[str, Any]],
) -> dict[str, Any]:
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
        "saving_pct": _saving(figures),
        "target_pct": None if target is None else round(target, 3),
        "eur": round(now.eur, 2),
        "co2_kg": round(now.co2_kg, 3),
        "baseline_eur": round(before.eur, 2),
        "baseline_co2_kg": round(before.co2_kg, 3),
        "tariff": {"eur_per_kwh": tariff.eur_per_kwh, "kg_co2_per_kwh": tariff.kg_co2_per_kwh},
        "months": month_rows,
    }


def energy_what_if(
    uow: UnitOfWork,
    year: int,
    *,
    programs_by_commune: Mapping[str, str] | None = None,
    program_for_all: str | None = None,
    power_w_by_technology: Mapping[str, float] | None = None,
    commune: str | None = None,
) -> dict[str, Any]:
    """Annual kWh, € and CO₂ now and under another program (in some communes, or everywhere) or
    a conversion plan (new powers for the lamps of some technologies), before anyone decides."""
    period = Period.whole_year(year)
    conn = uow.connection
    programs = {
        row["code"]: DimmingProgram.from_dict({"name": row["name"], "steps": row["steps"]})
        for row in repository.list_programs(conn)
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
        for insee, code in (programs_by_commune or {}).items()
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
    if commune is not None:
        _known_commune(uow, commune)
    lamps = _lamp_rows(uow, commune)
    powers = {
        lamp.ref: float(power_w_by_technology[lamp.technology])
        for lamp in lamps
        if power_w_by_technology and lamp.technology in power_w_by_technology
    }
    if everywhere is not None:
        by_commune = {lamp.commune: by_commune.get(lamp.commune, everywhere) for lamp in lamps}
    plan = Plan(programs_by_commune=by_commune, power_w_by_lamp=powers)
    stored = _contract_or_none(uow, period)
    tariff = stored.tariff() if stored is not None else DEFAULT_TARIFF
    _, result = _lighting(
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

    def outcome(o: Any) -> dict[str, float]:
        return {"kwh": round(o.kwh, 3), "eur": round(o.eur, 2), "co2_kg": round(o.co2_kg, 3)}

    return {
        "year": year,
        "commune": commune,
        "lamps": len(lamps),
        "baseline_kwh": round(result.baseline_kwh, 3),
        "current": outcome(result.current),
        "candidate": outcome(result.candidate),
        "saved": {
            "kwh": round(result.kwh_saved, 3),
            "eur": round(result.eur_saved, 2),
            "co2_kg": round(result.co2_kg_saved, 3),
        },
        "tariff": {"eur_per_kwh": tariff.eur_per_kwh, "kg_co2_per_kwh": tariff.kg_co2_per_kwh},
        "note": "modelled from the astronomical clock over the whole year, failures as recorded",
    }


# --- IT availability --------------------------------------------------------------------------


BEAT_GRACE_S: Final = 90.0


def beat(uow: UnitOfWork, component: str, at: datetime | None = None) -> None:
    """The component is alive now (called every 30 s; a silence over 90 s is downtime)."""
    repository.beat(uow.connection, component, at or utcnow(), BEAT_GRACE_S)


def _it_uptime(
    uow: UnitOfWork, stored: StoredContract, start: datetime, end: datetime, until: datetime
) -> tuple[list[UptimeInterval], list[str]]:
    components = list(stored.components())
    uptime = [
        UptimeInterval(
            row["component"], max(row["started_at"], start), min(row["last_beat_at"], end)
        )
        for row in repository.uptime_between(uow.connection, components, start, end)
        if min(row["last_beat_at"], end) > max(row["started_at"], start)
    ]
    if stored.gateways_counted():
        a = assets_repository.assets.c
        gateways = [
            row
            for row in uow.connection.execute(
                select(a.id, a.external_ref, a.attributes).where(
                    a.kind == "lighting_cabinet", a.status != "decommissioned"
                )
            ).mappings()
            if (row["attributes"] or {}).get("remote_managed", True)
        ]
        silences = _outages(uow, GATEWAY_SILENCE_RULES, start, end, until)
        for row in gateways:
            name = f"gateway:{row['external_ref']}"
            components.append(name)
            cursor = start
            for down_from, down_to in sorted(silences.get(row["id"], ())):
                if down_from > cursor:
                    uptime.append(UptimeInterval(name, cursor, min(down_from, end)))
                cursor = max(cursor, down_to)
            if cursor < end:
                uptime.append(UptimeInterval(name, cursor, end))
    return uptime, components


# --- KPIs -------------------------------------------------------------------------------------


def _rate_dict(result: RateResult | None) -> dict[str, Any]:
    if result is None:
        return {"on_time": 0, "late": 0, "pending": 0, "rate": None}
    return {
        "on_time": result.on_time,
        "late": result.late,
        "pending": result.pending,
        "rate": result.rate,
    }


@dataclass(slots=True)
class _Measured:
    """What one period's facts give, computed once and shared by the lots."""

    orders: list[WorkOrderFact]
    lighting: LightingFigures | None = None
    it: tuple[float | None, dict[str, Any]] | None = None


def _measure(
    uow: UnitOfWork,
    stored: StoredContract,
    lot: Lot,
    period: Period,
    facts: _Measured,
    cutoff: datetime,
    commune: str | None,
) -> list[dict[str, Any]]:
    code = lot.code.value
    lot_orders = [o for o in facts.orders if o.lot == code]
    results = []
    for kpi_code, definition in lot.kpis_for(period).items():
        measure = stored.measure_of(code, kpi_code)
        value: float | None = None
        basis: dict[str, Any] = {}
        if measure in ("response_on_time", "resolution_on_time"):
            stage = SlaStage.RESPONSE if measure == "response_on_time" else SlaStage.RESOLUTION
            found = on_time_rates(lot_orders, period, stage, by=(), as_of=cutoff).get(())
            basis = _rate_dict(found)
            value = None if found is None or found.rate is None else found.rate * 100
        elif measure == "mttr_hours":
            spans = mean_time_to_repair(lot_orders, period, by=())
            mean = spans.get(())
            done = sum(
                1 for o in lot_orders if o.done_at is not None and period.contains(o.done_at)
            )
            basis = {"orders_done": done}
            value = None if mean is None else mean.total_seconds() / 3600
        elif measure == "lighting_availability":
            if facts.lighting is None:
                facts.lighting = _lighting_to(uow, period, cutoff, commune)
            light = facts.lighting
            basis = {
                "scheduled_lamp_hours": round(light.scheduled_hours, 3),
                "lit_lamp_hours": round(light.lit_hours, 3),
                "lamps": light.lamps,
            }
            value = light.lit_hours / light.scheduled_hours * 100 if light.scheduled_hours else None
        elif measure == "energy_saving":
            if facts.lighting is None:
                facts.lighting = _lighting_to(uow, period, cutoff, commune)
            light = facts.lighting
            basis = {
                "baseline_kwh": round(light.baseline_kwh, 3),
                "current_kwh": round(light.current_kwh, 3),
                "measured_lamps": light.measured_lamps,
                "lamps": light.lamps,
            }
            value = _saving(light)
        elif measure == "it_availability":
            if facts.it is None:
                uptime, components = _it_uptime(uow, stored, period.start, cutoff, cutoff)
                overall, each = it_availability(uptime, period, components, as_of=cutoff)
                facts.it = (
                    None if overall.ratio is None else overall.ratio * 100,
                    {
                        "components": len(components),
                        "scope": "metropolis",
                        "worst": [
                            {"component": name, "pct": pct}
                            for pct, name in sorted(
                                (round((r.ratio or 0.0) * 100, 3), name) for name, r in each.items()
                            )[:5]
                        ],
                    },
                )
            value, basis = facts.it
        results.append(
            {
                **_kpi_terms(definition),
                "measure": measure,
                "value": None if value is None else round(value, 3),
                "met": None if value is None else _met(definition, value),
                "basis": basis,
            }
        )
    return results


def _met(definition: KpiDefinition, value: float) -> bool:
    if definition.direction is Direction.HIGHER_IS_BETTER:
        return value >= definition.target
    return value <= definition.target


def _known_commune(uow: UnitOfWork, insee: str) -> str:
    row = uow.connection.execute(select(communes.c.name).where(communes.c.insee == insee)).first()
    if row is None:
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")
    return str(row[0])


def _commune_names(uow: UnitOfWork) -> dict[str, str]:
    rows = uow.connection.execute(
        select(communes.c.insee, communes.c.name).order_by(communes.c.name)
    )
    return {str(insee): str(name) for insee, name in rows}


def _lots(stored: StoredContract, lot: str | Sequence[str] | None) -> list[Lot]:
    if lot is None:
        return list(stored.contract.lots.values())
    codes = [lot] if isinstance(lot, str) else list(lot)
    return [stored.contract.lot(code) for code in codes]


def lots_held(uow: UnitOfWork, period: Period, organisation: str | None) -> list[str]:
    """The lots of the period's contract that the organisation holds."""
    stored = _contract_for(uow, period)
    return [
        lot.code.value for lot in stored.contract.lots.values() if lot.contractor == organisation
    ]


def _cutoff(period: Period, as_of: datetime | None) -> datetime:
    return min(as_of or utcnow(), period.end)


def kpi_report(
    uow: UnitOfWork,
    period: Period,
    *,
    lot: str | Sequence[str] | None = None,
    commune: str | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Every KPI of the period's lots (or one lot), measured from the facts recorded by
    ``as_of`` (default now, or the period's end once over); ``commune`` narrows the orders and
    the lamps to one commune (IT availability stays metropolis-wide)."""
    stored = _contract_for(uow, period)
    lots = _lots(stored, lot)
    if commune is not None:
        _known_commune(uow, commune)
    cutoff = _cutoff(period, as_of)
    facts = _Measured(
        _work_order_facts(uow, stored.contract, period.start, period.end, commune=commune)
    )
    names = _commune_names(uow)
    entries = []
    for item in lots:
        code = item.code.value
        lot_orders = [o for o in facts.orders if o.lot == code]
        by_priority = []
        response = on_time_rates(
            lot_orders, period, SlaStage.RESPONSE, by=("priority",), as_of=cutoff
        )
        resolution = on_time_rates(
            lot_orders, period, SlaStage.RESOLUTION, by=("priority",), as_of=cutoff
        )
        for key in sorted(set(response) | set(resolution)):
            by_priority.append(
                {
                    "priority": key[0],
                    "response": _rate_dict(response.get(key)),
                    "resolution": _rate_dict(resolution.get(key)),
                }
            )
        by_commune = []
        response_c = on_time_rates(
            lot_orders, period, SlaStage.RESPONSE, by=("commune",), as_of=cutoff
        )
        resolution_c = on_time_rates(
            lot_orders, period, SlaStage.RESOLUTION, by=("commune",), as_of=cutoff
        )
        for key in sorted(set(response_c) | set(resolution_c)):
            by_commune.append(
                {
                    "commune": key[0],
                    "name": names.get(key[0], key[0]),
                    "response": _rate_dict(response_c.get(key)),
                    "resolution": _rate_dict(resolution_c.get(key)),
                }
            )
        mttr = mean_time_to_repair(lot_orders, period, by=()).get(())
        entries.append(
            {
                "lot": code,
                "contractor": item.contractor,
                "orders": len(lot_orders),
                "kpis": _measure(uow, stored, item, period, facts, cutoff, commune),
                "rates": {"by_priority": by_priority, "by_commune": by_commune},
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


# --- penalties --------------------------------------------------------------------------------


def _statement_dict(statement: PenaltyStatement) -> dict[str, Any]:
    def opt(value: Decimal | None) -> str | None:
        # Hours late and points shown to the hundredth; the amounts use the exact figures.
        return None if value is None else str(value.quantize(Decimal("0.01")))

    return {
        "lot": statement.lot,
        "period": statement.period.label,
        "as_of": statement.as_of.isoformat(),
        "items": [
            {
                "rule": i.rule,
                "kind": i.kind.value,
                "amount": str(i.amount),
                "order_id": i.order_id,
                "case_id": i.case_id,
                "stage": None if i.stage is None else i.stage.value,
                "hours_late": opt(i.hours_late),
                "kpi": i.kpi,
                "measured": i.measured,
                "target": i.target,
                "points": opt(i.points),
            }
            for i in statement.items
        ],
        "rules": [
            {"rule": r.rule, "gross": str(r.gross), "capped": str(r.capped), "cap": _money(r.cap)}
            for r in statement.rules
        ],
        "gross": str(statement.gross),
        "cap": _money(statement.cap),
        "total": str(statement.total),
        "bonuses": [
            {
                "rule": b.rule,
                "kpi": b.kpi,
                "measured": b.measured,
                "target": b.target,
                "points": str(b.points),
                "amount": str(b.amount),
            }
            for b in statement.bonuses
        ],
        "bonus_total": str(statement.bonus_total),
        "net": str(statement.net),
        "missing_kpis": list(statement.missing_kpis),
    }


def _statement(
    uow: UnitOfWork,
    stored: StoredContract,
    lot: Lot,
    period: Period,
    cutoff: datetime,
    facts: _Measured,
) -> dict[str, Any]:
    frozen = repository.get_frozen(uow.connection, stored.code, lot.code.value, period.label)
    if frozen is not None:
        return {
            **frozen["statement"],
            "frozen": True,
            "frozen_at": frozen["frozen_at"].isoformat(),
            "frozen_by": frozen["frozen_by"],
        }
    measured = {
        kpi["code"]: kpi["value"]
        for kpi in _measure(uow, stored, lot, period, facts, cutoff, None)
        if kpi["value"] is not None
    }
    statement = compute_statement(
        period,
        lot.code.value,
        lot.penalties.for_period(period),
        lot.kpis_for(period),
        facts.orders,
        measured,
        as_of=cutoff,
    )
    return {**_statement_dict(statement), "frozen": False, "frozen_at": None, "frozen_by": None}


def penalty_statements(
    uow: UnitOfWork,
    period: Period,
    *,
    lot: str | Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The statement of each lot (or one) for the period: the stored one once frozen, else
    computed now from the facts, with every contributing order or KPI."""
    stored = _contract_for(uow, period)
    lots = _lots(stored, lot)
    cutoff = _cutoff(period, as_of)
    facts = _Measured(_work_order_facts(uow, stored.contract, period.start, period.end))
    return [
        {
            "contract": stored.code,
            "contractor": item.contractor,
            **_statement(uow, stored, item, period, cutoff, facts),
        }
        for item in lots
    ]


def freeze_period(
    uow: UnitOfWork, period: Period, lot: str, actor: Actor, *, now: datetime | None = None
) -> dict[str, Any]:
    """The supervisor has reviewed the lot's statement for an ended period: store it as it is
    now; it never changes afterwards, whatever facts arrive."""
    stored = _contract_for(uow, period)
    item = stored.contract.lot(lot)
    code = item.code.value
    now = now or utcnow()
    existing = repository.get_frozen(uow.connection, stored.code, code, period.label)
    if existing is not None:
        raise Conflict(
            f"{code} {period.label} was frozen on {existing['frozen_at'].isoformat()} "
            f"by {existing['frozen_by']}",
            code="period_frozen",
        )
    if now < period.end:
        raise Conflict(
            f"{code} {period.label} cannot be frozen before it ends ({period.end.isoformat()})",
            code="period_not_ended",
        )
    facts = _Measured(_work_order_facts(uow, stored.contract, period.start, period.end))
    statement = _statement(uow, stored, item, period, period.end, facts)
    kept = {k: v for k, v in statement.items() if k not in ("frozen", "frozen_at", "frozen_by")}
    repository.insert_frozen(
        uow.connection,
        {
            "contract_code": stored.code,
            "lot": code,
            "period": period.label,
            "period_end": period.end,
            "statement": kept,
            "frozen_at": now,
            "frozen_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "penalties.frozen",
            "penalty_statement",
            f"{stored.code}/{code}/{period.label}",
            {"total": [None, kept["total"]], "net": [None, kept["net"]]},
        )
    )
    return {
        "contract": stored.code,
        "contractor": item.contractor,
        **kept,
        "frozen": True,
        "frozen_at": now.isoformat(),
        "frozen_by": actor.label(),
    }


# --- the period report and the public transparency figures -----------------------------------


def period_report(uow: UnitOfWork, period: Period, lot: str) -> dict[str, Any]:
    """Everything about one lot over one period: KPIs, rates, penalties, and the lighting
    energy for the lighting lot."""
    stored = _contract_for(uow, period)
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


def transparency(uow: UnitOfWork, period: Period, *, commune: str | None = None) -> dict[str, Any]:
    """The public figures of the metropolis (or a commune) for a period: the KPIs of every lot,
    the lighting energy and, for the metropolis, the penalties due. Aggregates only: no case,
    no report, no person."""
    names = _commune_names(uow)
    commune_entry = None
    if commune is not None:
        commune_entry = {"insee": commune, "name": _known_commune(uow, commune)}
    stored = _contract_or_none(uow, period)
    lots: list[dict[str, Any]] = []
    penalties_eur: str | None = None
    if stored is not None:
        report = kpi_report(uow, period, commune=commune)
        lots = [
            {
                "lot": entry["lot"],
                "contractor": entry["contractor"],
                "kpis": [
                    {
                        key: kpi[key]
                        for key in ("code", "name", "unit", "target", "direction", "value", "met")
                    }
                    for kpi in entry["kpis"]
                ],
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


# --- dimming programs -------------------------------------------------------------------------


def _program_dict(
    row: Mapping[str, Any], assignments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "steps": row["steps"],
        "updated_at": row["updated_at"].isoformat(),
        "updated_by": row["updated_by"],
        "assignments": [
            _assignment_dict(a) for a in assignments if a["program_code"] == row["code"]
        ],
    }


def _assignment_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "program": row["program_code"],
        "target_type": row["target_type"],
        "target": row["target"],
        "effective_from": row["effective_from"].isoformat(),
        "at": row["at"].isoformat(),
        "by": row["by"],
    }


def list_programs(uow: UnitOfWork) -> list[dict[str, Any]]:
    assignments = repository.list_assignments(uow.connection)
    return [_program_dict(row, assignments) for row in repository.list_programs(uow.connection)]


def put_program(
    uow: UnitOfWork, code: str, definition: Mapping[str, Any], actor: Actor
) -> dict[str, Any]:
    """Create or change a dimming program (``{"name", "steps": [{"from", "to", "level"}]}``).
    A change applies to every period computed afterwards; past frozen statements keep theirs."""
    if not code or len(code) > 48 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput(
            "a program code is 1–48 letters, digits, dashes or underscores",
            code="invalid_program",
        )
    program = DimmingProgram.from_dict(definition)
    now = utcnow()
    existed = repository.put_program(
        uow.connection,
        {
            "code": code,
            "name": program.name,
            "steps": program.to_dict()["steps"],
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "dimming_program.updated" if existed else "dimming_program.created",
            "dimming_program",
            code,
            {"steps": [None, program.to_dict()["steps"]]},
        )
    )
    found = next(p for p in list_programs(uow) if p["code"] == code)
    return found


def list_groups(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "cabinet_ids": row["cabinet_ids"],
            "updated_at": row["updated_at"].isoformat(),
            "updated_by": row["updated_by"],
        }
        for row in repository.list_groups(uow.connection)
    ]


def _cabinet_ids(uow: UnitOfWork, ids: Iterable[int]) -> set[int]:
    a = assets_repository.assets.c
    wanted = list(ids)
    rows = uow.connection.execute(
        select(a.id).where(a.id.in_(wanted), a.kind == "lighting_cabinet")
    )
    return {int(row[0]) for row in rows}


def put_group(
    uow: UnitOfWork, code: str, name: str, cabinet_ids: Sequence[int], actor: Actor
) -> dict[str, Any]:
    """A named set of lighting cabinets, to give them one program across communes."""
    if not code or len(code) > 48 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput("a group code is 1–48 letters, digits, dashes or underscores")
    if not name.strip():
        raise InvalidInput("a group needs a name", code="invalid_group")
    wanted = sorted(set(cabinet_ids))
    found = _cabinet_ids(uow, wanted)
    unknown = [i for i in wanted if i not in found]
    if unknown or not wanted:
        raise InvalidInput(
            "a group lists lighting cabinets by id",
            details=[
                Problem("cabinet_ids", f"not lighting cabinets: {unknown}" if unknown else "empty")
            ],
            code="invalid_group",
        )
    existed = repository.put_group(
        uow.connection,
        {
            "code": code,
            "name": name.strip()[:200],
            "cabinet_ids": wanted,
            "updated_at": utcnow(),
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "lighting_group.updated" if existed else "lighting_group.created",
            "lighting_group",
            code,
            {"cabinets": [None, len(wanted)]},
        )
    )
    return next(g for g in list_groups(uow) if g["code"] == code)


def list_assignments(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_assignment_dict(row) for row in repository.list_assignments(uow.connection)]


def assign_program(
    uow: UnitOfWork,
    program_code: str,
    *,
    target_type: str,
    target: str,
    effective_from: date,
    actor: Actor,
) -> dict[str, Any]:
    """Apply a program to a cabinet, a group, a commune or the whole metropolis from a date. The
    assignments in force before stay recorded: past periods keep the programs they ran."""
    conn = uow.connection
    if repository.get_program(conn, program_code) is None:
        raise NotFound(f"no dimming program {program_code!r}", code="unknown_program")
    if target_type not in TARGET_TYPES:
        raise InvalidInput(
            f"target_type must be one of {', '.join(TARGET_TYPES)}, not {target_type!r}",
            code="invalid_assignment",
        )
    if target_type == "cabinet":
        if not target.isdigit() or not _cabinet_ids(uow, [int(target)]):
            raise NotFound(f"no lighting cabinet {target!r}", code="unknown_cabinet")
    elif target_type == "group":
        if repository.get_group(conn, target) is None:
            raise NotFound(f"no lighting group {target!r}", code="unknown_group")
    elif target_type == "commune":
        _known_commune(uow, target)
    else:
        target = "*"
    row_id = repository.add_assignment(
        conn,
        {
            "program_code": program_code,
            "target_type": target_type,
            "target": target,
            "effective_from": effective_from,
            "at": utcnow(),
            "by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "dimming_program.assigned",
            "dimming_program",
            program_code,
            {f"{target_type}:{target}": [None, effective_from.isoformat()]},
        )
    )
    return next(a for a in list_assignments(uow) if a["id"] == row_id)
