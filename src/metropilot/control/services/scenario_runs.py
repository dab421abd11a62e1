"""Running a planned scenario in one transaction, rolling it back, and its public messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from metropilot.assets.queries import AssetSelection, PlacedAsset
from metropilot.cases import services as cases_services
from metropilot.cases.model import CaseOrigin, parse_priority
from metropilot.control import repository
from metropilot.control.model import (
    AREA_CONFIRMATION,
    CommandType,
    ScenarioRolledBack,
    ScenarioRun,
    check_permission,
    check_reason,
    parse_command,
)
from metropilot.control.services.commands import JUNCTION_MODE_CODES, get_batch, store
from metropilot.control.services.results import PublicAlert, RolledBackRun, ScenarioRunOut
from metropilot.control.services.scenario_plans import PlannedCommand, plan_scenario
from metropilot.control.services.targets import Caller, one_asset, reachable
from metropilot.db.uow import UnitOfWork
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, NotFound
from metropilot.telemetry.queries import latest_values

# What each command changes, as the equipment reports it: remembered before a scenario runs, so
# that a rollback can ask for it again.
STATE_METRICS: Final[Mapping[CommandType, tuple[str, ...]]] = {
    CommandType.SET_LIGHT_LEVEL: ("light_level_pct",),
    CommandType.SWITCH_LIGHT: ("light_level_pct",),
    CommandType.SET_JUNCTION_MODE: ("junction_mode",),
    CommandType.SET_BOLLARD: ("bollard_up",),
    CommandType.SET_DOOR_LOCK: ("door_locked",),
    CommandType.CAMERA_PRESET: ("camera_preset",),
}


def run_scenario(
    uow: UnitOfWork,
    caller: Caller,
    code: str,
    given: Mapping[str, Any],
    *,
    reason: str | None,
    confirm: bool,
    now: datetime | None = None,
) -> ScenarioRunOut:
    """Carry the plan out in one transaction: the commands (sent after the commit), the cases
    and their work orders, the public message; remember each touched asset's reported state."""
    why = check_reason(reason)
    now = now or utcnow()
    plan = plan_scenario(uow, caller, code, given)
    if not confirm:
        total = sum(len(c.assets) for c in plan.commands)
        raise Conflict(
            f"{plan.scenario.name} would command {total:,} assets and open "
            f"{len(plan.work_orders)} work order(s): preview it, then run it with "
            f'"{AREA_CONFIRMATION}": true',
            code="confirmation_required",
        )
    previous: dict[str, dict[str, float]] = {}
    batches: list[int] = []
    for planned in plan.commands:
        _remember(uow, planned, previous)
        batch_id, _ = store(
            uow,
            caller,
            planned.command,
            planned.params,
            planned.assets,
            f"{plan.scenario.name}: {why}",
            {"scenario": plan.scenario.code, "step": planned.label},
            now,
        )
        assert batch_id is not None
        batches.append(batch_id)
    case_ids = [_open_work_order(uow, caller, order, why) for order in plan.work_orders]
    alert_id = None if plan.alert is None else _publish(uow, plan.alert, now)
    run_id = repository.insert_run(
        uow.connection,
        {
            "scenario": plan.scenario.code,
            "params": plan.as_dict()["params"],
            "plan": plan.as_dict(),
            "previous": previous,
            "batches": batches,
            "cases": case_ids,
            "alert_id": alert_id,
            "reason": why,
            "run_at": now,
            "actor": caller.actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            caller.actor,
            "scenario.run",
            "scenario_run",
            str(run_id),
            {"scenario": [None, plan.scenario.code], "reason": [None, why]},
            at=now,
        )
    )
    uow.record(
        ScenarioRun(
            run_id=run_id,
            scenario=plan.scenario.code,
            batch_ids=tuple(batches),
            case_ids=tuple(case_ids),
            alert_id=alert_id,
            communes=plan.communes(),
            actor=caller.actor.label(),
            occurred_at=now,
        )
    )
    return get_run(uow, run_id)


def _remember(
    uow: UnitOfWork, planned: PlannedCommand, previous: dict[str, dict[str, float]]
) -> None:
    """Each asset's reported state before the run's first command to it, for a rollback."""
    metrics = STATE_METRICS.get(planned.command, ())
    for row in planned.assets:
        state = latest_values(uow.connection, row.id, metrics)
        known = previous.setdefault(str(row.id), {})
        known.update({k: v for k, v in state.items() if k not in known})


def _publish(uow: UnitOfWork, alert: Mapping[str, Any], now: datetime) -> int:
    """The plan's public message, from now for its hours."""
    return repository.insert_alert(
        uow.connection,
        {
            "message": alert["message"],
            "commune_insee": alert["commune"],
            "starts_at": now,
            "ends_at": now + timedelta(hours=float(alert["hours"])),
        },
    )


def _open_work_order(uow: UnitOfWork, caller: Caller, order: Mapping[str, Any], why: str) -> int:
    asset_id = None
    if order["asset"] is not None:
        asset_id = one_asset(uow, caller, order["asset"]).id
    case = cases_services.open_case(
        uow,
        origin=CaseOrigin.OPERATOR,
        category=order["category"],
        priority=parse_priority(order["priority"]),
        actor=caller.actor,
        asset_id=asset_id,
        commune_insee=order["commune"],
        title=order["title"],
        description=f"{order['instructions']} ({why})",
    )
    # The operator running the plan decided it: triaged at once, and sent to the team the
    # routing rules give it (without one, it waits in the command post's queue).
    case = cases_services.triage(uow, case.id, caller.actor, caller.role)
    if case.assignee is not None:
        cases_services.dispatch(
            uow, case.id, caller.actor, caller.role, instructions=order["instructions"]
        )
    return case.id


def get_run(uow: UnitOfWork, run_id: int) -> ScenarioRunOut:
    row = repository.get_run(uow.connection, run_id)
    if not row:
        raise NotFound(f"no scenario run {run_id}", code="unknown_run")
    return {
        "id": row["id"],
        "scenario": row["scenario"],
        "plan": row["plan"],
        "batches": [get_batch(uow, b) for b in row["batches"]],
        "cases": row["cases"],
        "alert": row["alert_id"],
        "reason": row["reason"],
        "run_at": row["run_at"].isoformat(),
        "actor": row["actor"],
        "rolled_back_at": None
        if row["rolled_back_at"] is None
        else row["rolled_back_at"].isoformat(),
        "rollback_batches": [get_batch(uow, b) for b in row["rollback_batches"] or []],
    }


def _restoring(kind: CommandType, state: Mapping[str, float]) -> dict[str, Any] | None:
    """The parameters that ask for a remembered state again (None: nothing was reported)."""
    if kind in (CommandType.SET_LIGHT_LEVEL, CommandType.SWITCH_LIGHT):
        level = state.get("light_level_pct")
        return None if level is None else {"level_pct": round(level)}
    if kind is CommandType.SET_JUNCTION_MODE:
        code = state.get("junction_mode")
        mode = JUNCTION_MODE_CODES.get(int(code)) if code is not None else None
        # A forced green is never restored: it was a moment of an escort, not a state.
        return None if mode is None else {"mode": "normal" if mode == "forced_green" else mode}
    if kind is CommandType.SET_BOLLARD:
        up = state.get("bollard_up")
        return None if up is None else {"position": "up" if up == 1.0 else "down"}
    if kind is CommandType.SET_DOOR_LOCK:
        locked = state.get("door_locked")
        return None if locked is None else {"locked": locked == 1.0}
    if kind is CommandType.CAMERA_PRESET:
        preset = state.get("camera_preset")
        return None if preset is None or preset < 1 else {"preset": int(preset)}
    return None


def rollback_scenario(
    uow: UnitOfWork, caller: Caller, run_id: int, *, reason: str | None, now: datetime | None = None
) -> RolledBackRun:
    """Ask every asset the run touched for the state it reported before the run; end its public
    message. The work orders stay: they are real work, closed by the teams."""
    why = check_reason(reason)
    now = now or utcnow()
    row = repository.get_run(uow.connection, run_id)
    if not row:
        raise NotFound(f"no scenario run {run_id}", code="unknown_run")
    if row["rolled_back_at"] is not None:
        raise Conflict(f"scenario run {run_id} was already rolled back", code="already_rolled_back")
    batches: list[int] = []
    unknown: list[str] = []
    for planned in row["plan"]["commands"]:
        kind = CommandType(planned["command"])
        check_permission(kind, caller.role)
        by_params: dict[str, tuple[dict[str, Any], list[PlacedAsset]]] = {}
        selection = AssetSelection(refs=planned["assets"])
        for target in reachable(uow, caller, selection):
            wanted = _restoring(kind, row["previous"].get(str(target.id), {}))
            if wanted is None:
                unknown.append(target.external_ref)
                continue
            key = orjson.dumps(wanted, option=orjson.OPT_SORT_KEYS).decode()
            by_params.setdefault(key, (wanted, []))[1].append(target)
        for wanted, targets in by_params.values():
            kind_params = parse_command(kind.value, wanted)[1]
            batch_id, _ = store(
                uow,
                caller,
                kind,
                kind_params,
                targets,
                f"rollback of {row['scenario']} run {run_id}: {why}",
                {"rollback": run_id, "step": planned["label"]},
                now,
            )
            assert batch_id is not None
            batches.append(batch_id)
    if row["alert_id"] is not None:
        repository.end_alert(uow.connection, row["alert_id"], now)
    repository.update_run(
        uow.connection, run_id, {"rolled_back_at": now, "rollback_batches": batches}
    )
    uow.audit(
        AuditEntry(
            caller.actor,
            "scenario.rolled_back",
            "scenario_run",
            str(run_id),
            {"reason": [None, why], "unknown_state": [None, len(unknown)]},
            at=now,
        )
    )
    uow.record(
        ScenarioRolledBack(
            run_id=run_id,
            scenario=row["scenario"],
            batch_ids=tuple(batches),
            not_restored=len(set(unknown)),
            actor=caller.actor.label(),
            occurred_at=now,
        )
    )
    return {**get_run(uow, run_id), "not_restored": sorted(set(unknown))}


def public_alerts(uow: UnitOfWork, now: datetime | None = None) -> list[PublicAlert]:
    return [
        {
            "id": row["id"],
            "message": row["message"],
            "commune": row["commune_insee"],
            "from": row["starts_at"].isoformat(),
            "until": row["ends_at"].isoformat(),
        }
        for row in repository.active_alerts(uow.connection, now or utcnow())
    ]
