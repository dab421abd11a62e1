"""Changes to the contracts: a document imported whole, a lot's terms amended part by part."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from metropilot.accounts import queries as accounts_queries
from metropilot.contracts import repository
from metropilot.contracts.model import CONTRACT_ZONE, parse_contract
from metropilot.contracts.services.contracts import (
    DEFAULT_COMPONENTS,
    MEASURES,
    StoredContract,
    get_contract,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem

__all__ = ["AMENDABLE_PARTS", "amend_contract", "import_contract"]


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


def import_contract(uow: UnitOfWork, document: Mapping[str, Any], actor: Actor) -> StoredContract:
    """Store a contract from its document, all or nothing. A contract may be replaced whole only
    while none of its periods is frozen; afterwards it changes by amendments."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a contract is a JSON object", code="invalid_contract")
    contract = parse_contract(document)
    known = {o.code for o in accounts_queries.organisations(uow.connection)}
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
    new_version = {**dict(version), "effective_from": effective_from.isoformat()}
    document = _with_version(stored.document, lot_code, part, kpi, new_version)
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


def _with_version(
    document: Mapping[str, Any],
    lot_code: str,
    part: str,
    kpi: str | None,
    new_version: dict[str, Any],
) -> dict[str, Any]:
    """A copy of the document with the version appended to the lot's part (or KPI)."""
    amended = copy.deepcopy(dict(document))
    raw_lot = next(item for item in amended["lots"] if item.get("code") == lot_code)
    if part == "kpi":
        raw_kpi = next((k for k in raw_lot.get("kpis", []) if k.get("code") == kpi), None)
        if raw_kpi is None:
            raise NotFound(f"lot {lot_code} has no KPI {kpi!r}", code="unknown_kpi")
        if "versions" not in raw_kpi:
            raw_kpi["versions"] = [{"target": raw_kpi.pop("target", None)}]
        raw_kpi["versions"].append(new_version)
    else:
        current = raw_lot.get(part)
        if current is None:
            raw_lot[part] = [new_version]
        else:
            if isinstance(current, Mapping):
                current = [dict(current)]
            raw_lot[part] = [*current, new_version]
    return amended
